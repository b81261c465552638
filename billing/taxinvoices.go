package billing

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/taxinvoice"
)

// The calendar's tax invoice step: each business customer's month
// gets its tax invoice on the third business day after it.

// IssueTaxInvoices runs the tax-invoice step alone at instant at (the demo
// seed dates each month's at its tax invoice day).
func (e *Engine) IssueTaxInvoices(ctx context.Context, at time.Time) (int, error) {
	res, err := e.runStep(ctx, at, StepTaxInvoice, (*jobRun).issueTaxInvoices)
	return res.TaxInvoices, err
}

// issueTaxInvoices records the tax invoice of each business customer's
// month on the third business day after it, and retries those that
// failed.
func (r *jobRun) issueTaxInvoices(ctx context.Context) error {
	e := r.e
	payers := e.Payments().PayerCache()
	for _, f := range r.retries(StepTaxInvoice) {
		inv, err := e.Client.Invoice.Get(ctx, f.SubjectID)
		if ent.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := r.taxInvoice(ctx, inv, payers); err != nil {
			return err
		}
	}
	m := calendar.MonthOf(r.at, e.Policy.Location()).Prev()
	if r.at.Before(e.Policy.TaxInvoiceDate(m)) {
		return nil
	}
	// The month's invoices that have no tax invoice yet, in one statement:
	// this job runs every minute all month. (An invoice issued later, on a
	// retry, gets its tax invoice as it is issued: retryIssues.)
	invs, err := e.Client.Invoice.Query().Where(invoice.Month(m.String()), invoice.DeterminedAmountGT(0), kernel.Live(),
		func(s *sql.Selector) {
			t := sql.Table(taxinvoice.Table)
			s.Where(sql.NotExists(sql.Select(t.C(taxinvoice.FieldID)).From(t).
				Where(sql.ColumnsEQ(t.C(taxinvoice.FieldInvoiceID), s.C(invoice.FieldID)))))
		}).All(ctx)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if err := r.taxInvoice(ctx, inv, payers); err != nil {
			return err
		}
	}
	return nil
}

// taxInvoice issues an invoice's tax invoice if its organization is a
// business, dated its month's tax invoice day — or, issued later than that,
// its invoice's issue: it never predates the invoice.
func (r *jobRun) taxInvoice(ctx context.Context, inv *ent.Invoice, payers func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error)) error {
	fail := JobFailure{Step: StepTaxInvoice, OrgID: inv.OrgID, BillingGroupID: inv.BillingGroupID, SubjectID: inv.ID, Month: inv.Month}
	return r.isolate(ctx, fail, func() error {
		if inv.DeterminedAmount <= 0 {
			return nil
		}
		master, _, err := payers(ctx, inv.OrgID)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil || master.MemberType != account.MemberTypeBUSINESS {
			return err
		}
		m, err := calendar.ParseMonth(inv.Month)
		if err != nil {
			return err
		}
		issued := r.e.Policy.TaxInvoiceDate(m)
		if inv.CreatedAt.After(issued) {
			issued = inv.CreatedAt
		}
		err = r.e.Client.TaxInvoice.Create().SetOrgID(inv.OrgID).SetInvoiceID(inv.ID).SetBillingGroupID(inv.BillingGroupID).
			SetMonth(inv.Month).SetSupplyAmount(inv.DeterminedAmount).SetTaxAmount(inv.TaxAmount).SetCurrency(inv.Currency).
			SetIssuedAt(issued).Exec(ctx)
		if kernel.IsUniqueViolationOn(err, taxinvoice.Table, taxinvoice.FieldInvoiceID) {
			return nil // another replica issued it
		}
		if err == nil {
			r.res.TaxInvoices++
		}
		return err
	})
}
