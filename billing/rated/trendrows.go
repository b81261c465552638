package rated

import (
	"encoding/json"
	"fmt"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// A dashboard's billing group is read with the amounts of its live
// invoices of the trend's longest window (24 months up to the current one:
// billingTrend's bound), in the group's own statement: one statement
// fewer for every dashboard no cache helps (issue 17). BillingTrend takes
// its months from them when its window lies inside; a group read
// otherwise has its invoices read apart, as before. The invoices built
// from them carry only what the trend reads (month and amounts).
const (
	trendRows = "cloudbill_trend_invoices"
	trendFrom = "cloudbill_trend_from"
	// TrendMonthsMax is billingTrend's longest window.
	TrendMonthsMax = 24
)

// trendColumns are the invoice columns the trend reads, in the order of
// each row's JSON array.
var trendColumns = []string{invoice.FieldMonth, invoice.FieldUsageAmount, invoice.FieldDeterminedAmount, invoice.FieldTaxAmount,
	invoice.FieldLateFeeAmount, invoice.FieldCoinAmount, invoice.FieldCreditNoteAmount, invoice.FieldPaidAmount}

// WithTrendInvoices makes q read, with each billing group, its live
// invoices from month from on (cur's window of TrendMonthsMax months).
func WithTrendInvoices(q *ent.BillingGroupQuery, cur calendar.Month) *ent.BillingGroupQuery {
	from := cur
	for i := 1; i < TrendMonthsMax; i++ {
		from = from.Prev()
	}
	q.Modify(func(s *sql.Selector) { // adds to q
		agg, arr := kernel.JSONFuncs(s.Dialect())
		cols := strings.Join(trendColumns, ", ")
		// from is a calendar month ("2026-11"), safe to write as a literal.
		s.AppendSelect(sql.As(fmt.Sprintf("(SELECT %s(%s(%s)) FROM %s WHERE %s.%s = %s AND %s >= '%s' AND %s <> '%s')",
			agg, arr, cols, invoice.Table, invoice.Table, invoice.FieldBillingGroupID, s.C(billinggroup.FieldID),
			invoice.FieldMonth, from, invoice.FieldStatus, invoice.StatusVOID), trendRows),
			sql.As("CAST('"+from.String()+"' AS TEXT)", trendFrom))
	})
	return q
}

// trendInvoicesOf returns bg's live invoices of months first..cur when bg
// was read with them and its window covers first (ok false otherwise).
func trendInvoicesOf(bg *ent.BillingGroup, first, cur calendar.Month) ([]*ent.Invoice, bool) {
	fs, ok := kernel.SelectedText(bg, trendFrom)
	if !ok {
		return nil, false
	}
	from, err := calendar.ParseMonth(string(fs))
	if err != nil || first.Before(from) {
		return nil, false
	}
	text, ok := kernel.SelectedText(bg, trendRows)
	if !ok || text == nil {
		return nil, ok // not a text, or no live invoice in the window
	}
	var raw [][]json.RawMessage
	if json.Unmarshal(text, &raw) != nil {
		return nil, false
	}
	out := []*ent.Invoice{}
	for _, r := range raw {
		if len(r) != len(trendColumns) {
			return nil, false
		}
		var month string
		var a [7]int64
		if json.Unmarshal(r[0], &month) != nil {
			return nil, false
		}
		for i := range a {
			if json.Unmarshal(r[i+1], &a[i]) != nil {
				return nil, false
			}
		}
		m, err := calendar.ParseMonth(month)
		if err != nil {
			return nil, false
		}
		if m.Before(first) || cur.Before(m) {
			continue
		}
		out = append(out, &ent.Invoice{Month: month, UsageAmount: a[0], DeterminedAmount: a[1], TaxAmount: a[2],
			LateFeeAmount: a[3], CoinAmount: a[4], CreditNoteAmount: a[5], PaidAmount: a[6]})
	}
	return out, true
}
