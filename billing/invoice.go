package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// DueMonth is the month whose invoice is due by instant at: the previous
// month once the policy's issue day has begun, else the one before.
func (p Policy) DueMonth(at time.Time) Month {
	local := at.In(p.Location())
	m := Month{local.Year(), local.Month()}.Prev()
	if local.Day() < p.IssueDay {
		m = m.Prev()
	}
	return m
}

// IssuedAt is the instant month m's invoice is issued: 00:00 on the issue
// day of the next month in the policy's zone.
func (p Policy) IssuedAt(m Month) time.Time {
	n := m.Next()
	return time.Date(n.Year, n.Month, p.IssueDay, 0, 0, 0, 0, p.Location())
}

// issueBatch is how many billing groups are read at once: the month close
// streams through the groups in pages instead of loading them all.
const issueBatch = 500

// IssueInvoices issues the invoice of the month due at instant at for every
// billing group that has none yet. Safe on several replicas at once:
// a unique (billing group, month) constraint lets exactly one insert win
// the others roll back and move on.
func (e *Engine) IssueInvoices(ctx context.Context, at time.Time) (int, error) {
	m := e.Policy.DueMonth(at)
	loc := e.Policy.Location()
	issued, after := 0, ""
	for {
		q := e.Client.BillingGroup.Query().
			Where(billinggroup.CreatedAtLT(m.End(loc)), billinggroup.IDGT(after)).
			Order(ent.Asc(billinggroup.FieldID)).Limit(issueBatch)
		groups, err := q.All(ctx)
		if err != nil || len(groups) == 0 {
			return issued, err
		}
		after = groups[len(groups)-1].ID
		ids := make([]string, len(groups))
		for i, g := range groups {
			ids[i] = g.ID
		}
		done, err := e.Client.Invoice.Query().
			Where(invoice.BillingGroupIDIn(ids...), invoice.Month(m.String())).
			Select(invoice.FieldBillingGroupID).Strings(ctx)
		if err != nil {
			return issued, err
		}
		have := make(map[string]bool, len(done))
		for _, id := range done {
			have[id] = true
		}
		for _, g := range groups {
			if have[g.ID] {
				continue
			}
			inv, err := e.IssueInvoice(ctx, g, m)
			if err != nil {
				return issued, fmt.Errorf("issuing %s for %s: %w", m, g.ID, err)
			}
			if inv != nil {
				issued++
			}
		}
		if len(groups) < issueBatch {
			return issued, nil
		}
	}
}

// IssueInvoice rates month m for one billing group and writes its invoice,
// lines, credit uses and notifications in one transaction. It returns nil
// without error when another run issued the invoice first.
func (e *Engine) IssueInvoice(ctx context.Context, bg *ent.BillingGroup, m Month) (*ent.Invoice, error) {
	issuedAt := e.Policy.IssuedAt(m)
	var out *ent.Invoice
	err := WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		out = nil
		lines, err := e.rate(ctx, tx.Client(), bg, m, m.Days())
		if err != nil {
			return err
		}
		duses, err := e.discount(ctx, tx.Client(), bg, m, lines)
		if err != nil {
			return err
		}

		// Lock the group's available credits (PostgreSQL) in id order, so
		// transfers and other runs wait instead of spending them twice.
		cq := tx.Credit.Query().Where(credit.BillingGroupID(bg.ID), credit.StatusEQ(credit.StatusAVAILABLE)).
			Order(ent.Asc(credit.FieldID))
		if e.Postgres {
			cq = cq.ForUpdate()
		}
		credits, err := cq.All(ctx)
		if err != nil {
			return err
		}
		rows := make([]CreditRow, len(credits))
		for i, c := range credits {
			rows[i] = CreditRow{ID: c.ID, Type: string(c.Type), StartsAt: c.StartsAt, EndsAt: c.EndsAt,
				CreatedAt: c.CreatedAt, ServiceCodes: c.ServiceCodes, Remaining: c.Remaining}
		}
		uses := AllocateCredits(lines, rows, m, issuedAt, e.Policy.Location())

		var usage, disc, cred, det int64
		for _, l := range lines {
			usage += l.Used
			disc += l.Discount
			cred += l.Credit
			det += l.Determined()
		}
		tax := Tax(det, e.Policy.VATRate)
		status := invoice.StatusISSUED
		if det+tax == 0 {
			status = invoice.StatusPAID // nothing to pay
		}
		inv, err := tx.Invoice.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetMonth(m.String()).
			SetStatus(status).SetCurrency(bg.Currency).SetUsageAmount(usage).SetDiscountAmount(disc).
			SetCreditAmount(cred).SetDeterminedAmount(det).SetTaxAmount(tax).SetIssuedAt(issuedAt).SetCreatedAt(issuedAt).Save(ctx)
		if IsUniqueViolation(err) {
			return errAlreadyIssued
		}
		if err != nil {
			return err
		}
		if len(lines) > 0 {
			bulk := make([]*ent.InvoiceLineCreate, len(lines))
			for i, l := range lines {
				bulk[i] = tx.InvoiceLine.Create().SetOrgID(bg.OrgID).SetInvoiceID(inv.ID).SetPosition(i).
					SetRegionCode(l.Region).SetServiceCode(l.ServiceCode).SetServiceName(l.ServiceName).SetCurrency(bg.Currency).
					SetUsedAmount(l.Used).SetDiscountAmount(l.Discount).SetCreditAmount(l.Credit).
					SetDeterminedAmount(l.Determined())
			}
			if err := tx.InvoiceLine.CreateBulk(bulk...).Exec(ctx); err != nil {
				return err
			}
		}
		for _, u := range duses {
			if err := tx.DiscountUse.Create().SetOrgID(bg.OrgID).SetDiscountID(u.DiscountID).SetInvoiceID(inv.ID).
				SetServiceCode(lines[u.Line].ServiceCode).SetCurrency(bg.Currency).SetAmount(u.Amount).Exec(ctx); err != nil {
				return err
			}
		}
		if err := spendCredits(ctx, tx, bg.OrgID, bg.Currency, inv.ID, uses, issuedAt); err != nil {
			return err
		}
		if status == invoice.StatusISSUED {
			if err := e.payWithMasterCoins(ctx, tx, inv); err != nil {
				return err
			}
			if inv, err = tx.Invoice.Get(ctx, inv.ID); err != nil {
				return err
			}
		}
		if err := notifyInvoice(ctx, tx, bg, inv); err != nil {
			return err
		}
		out = inv
		return nil
	})
	if err == errAlreadyIssued {
		return nil, nil
	}
	return out, err
}

var errAlreadyIssued = fmt.Errorf("invoice already issued")

// spendCredits writes each credit use as a USE history entry naming the
// invoice and takes it off the credit with a guarded update: the remainder
// can never go below zero.
func spendCredits(ctx context.Context, tx *ent.Tx, orgID, currency, invoiceID string, uses []CreditUse, at time.Time) error {
	perCredit := map[string]int64{}
	var order []string
	for _, u := range uses {
		if perCredit[u.CreditID] == 0 {
			order = append(order, u.CreditID)
		}
		perCredit[u.CreditID] += u.Amount
	}
	for _, id := range order {
		amt := perCredit[id]
		if err := tx.CreditEntry.Create().SetOrgID(orgID).SetCreditID(id).SetKind(creditentry.KindUSE).SetCurrency(currency).
			SetAmount(-amt).SetInvoiceID(invoiceID).SetOccurredAt(at).Exec(ctx); err != nil {
			return err
		}
		if err := TakeFromCredit(ctx, tx, id, amt, false, at); err != nil {
			return err
		}
	}
	return nil
}

// TakeFromCredit lowers an AVAILABLE credit's remainder by amt (as use when
// used is set), atomically and only if enough remains; a credit left with
// nothing becomes USED_UP.
func TakeFromCredit(ctx context.Context, tx *ent.Tx, id string, amt int64, transfer bool, at time.Time) error {
	upd := tx.Credit.Update().
		Where(credit.ID(id), credit.StatusEQ(credit.StatusAVAILABLE), credit.RemainingGTE(amt)).
		AddRemaining(-amt)
	if !transfer {
		upd = upd.AddUsed(amt)
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return err
	}
	if n != 1 {
		return Errorf(CodeInsufficientBalance, "the credit does not have that much left")
	}
	_, err = tx.Credit.Update().Where(credit.ID(id), credit.Remaining(0), credit.StatusEQ(credit.StatusAVAILABLE)).
		SetStatus(credit.StatusUSED_UP).SetClosedAt(at).Save(ctx)
	return err
}

// Catalog is the priced service catalog.
type Catalog struct {
	Services map[string]ServiceInfo
	Prices   []PriceRow
}

// LoadCatalog reads the catalog (a handful of rows; read per invoice).
func LoadCatalog(ctx context.Context, client *ent.Client) (*Catalog, error) {
	svcs, err := client.Service.Query().WithPrices().All(ctx)
	if err != nil {
		return nil, err
	}
	cat := &Catalog{Services: map[string]ServiceInfo{}}
	for _, s := range svcs {
		cat.Services[s.Code] = ServiceInfo{Code: s.Code, Name: s.Name, Kind: string(s.Kind)}
		for _, p := range s.Edges.Prices {
			d, err := decimal.NewFromString(p.UnitPrice)
			if err != nil {
				return nil, err
			}
			cat.Prices = append(cat.Prices, PriceRow{ServiceCode: s.Code, Region: p.RegionCode, Metric: p.Metric,
				Model: string(p.Model), UnitPrice: d})
		}
	}
	return cat, nil
}

// notifyInvoice records the email and SMS of an issued invoice in the outbox
// in the invoice's own transaction, for at-least-once delivery.
func notifyInvoice(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, inv *ent.Invoice) error {
	recipient := ""
	master, err := tx.Account.Query().Where(account.OrgID(bg.OrgID), account.IsMaster(true)).First(ctx)
	switch {
	case err == nil:
		recipient = master.BillingEmail
	case !ent.IsNotFound(err):
		return err
	}
	payload, err := json.Marshal(map[string]any{
		"invoiceId": inv.ID, "billingGroupId": bg.ID, "month": inv.Month,
		"amountDue": FormatMinor(inv.DeterminedAmount+inv.TaxAmount, inv.Currency), "currency": inv.Currency,
	})
	if err != nil {
		return err
	}
	for _, ch := range []string{"EMAIL", "SMS", "WEBHOOK"} {
		if err := tx.OutboxEvent.Create().SetOrgID(bg.OrgID).SetTopic("invoice.issued").SetChannel(ch).
			SetRecipient(recipient).SetPayload(payload).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
