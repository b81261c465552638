package billing

import (
	"cmp"
	"context"
	"errors"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/creditnote"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
	"github.com/cloudbill/cloudbill/ent/taxinvoice"
)

// Void and reissue (R-72, docs/rules.md): an operator withdraws an issued
// invoice that nothing has paid yet. It stays in the history as VOID under
// its id; the free credits it used are given back (RESTORE entries naming
// it); its month is open again, so usage, contracts and discounts of the
// month are accepted as before its close; and ReissueInvoice issues the
// month anew, under a new id. Exactly one invoice per billing group and
// month is not void: a partial unique index says so to the database
// (invoice_billing_group_id_month … WHERE status <> 'VOID').

// VoidInvoiceOnce voids invoice id for reason, once per req.
func (e *Engine) VoidInvoiceOnce(ctx context.Context, req kernel.Request, id, reason string) (*ent.Invoice, error) {
	if err := cmp.Or(kernel.CheckIdempotencyKey(req.Key), creditnotes.CheckReason(reason)); err != nil {
		return nil, err
	}
	inv, err := e.Client.Invoice.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("invoice")
	}
	if err != nil {
		return nil, err
	}
	got, _, err := kernel.Once(ctx, e.Client, req, inv.OrgID, "voidInvoice", func(tx *ent.Tx) (string, error) {
		return id, e.voidInvoice(ctx, tx, id, reason)
	})
	if err != nil {
		return nil, err
	}
	return e.Client.Invoice.Get(ctx, got)
}

// voidInvoice voids invoice id in tx, refusing (CONFLICT) an invoice that
// anything paid or is paying — a payment allocated to it, coins, a late
// fee, a tax invoice sent to the customer — or that is void already, and
// gives back the free credits it used.
func (e *Engine) voidInvoice(ctx context.Context, tx *ent.Tx, id, reason string) error {
	q := tx.Invoice.Query().Where(invoice.ID(id))
	if e.Postgres {
		q = q.ForUpdate() // auto-pay, deposits and coins lock it too
	}
	inv, err := q.Only(ctx)
	if err != nil {
		return err
	}
	// Nothing paid: an invoice PAID only because it came to nothing may be
	// voided (usage was forgotten); one any money paid may not.
	unpaid := inv.Status == invoice.StatusISSUED || inv.Status == invoice.StatusOUTSTANDING ||
		(inv.Status == invoice.StatusPAID && inv.DeterminedAmount+inv.TaxAmount == 0)
	switch {
	case inv.Status == invoice.StatusVOID:
		return kernel.Errorf(kernel.CodeConflict, "the invoice is void already")
	case !unpaid || inv.PaidAmount > 0 || inv.CoinAmount > 0:
		return kernel.Errorf(kernel.CodeConflict, "the invoice is paid, in part or whole: it cannot be voided")
	case inv.LateFeeAmount > 0:
		return kernel.Errorf(kernel.CodeConflict, "a late fee was charged on the invoice: it cannot be voided")
	}
	paying, err := tx.PaymentAllocation.Query().Where(paymentallocation.InvoiceID(id),
		func(s *sql.Selector) {
			t := sql.Table(payment.Table)
			s.Where(sql.In(s.C(paymentallocation.FieldPaymentID), sql.Select(t.C(payment.FieldID)).From(t).
				Where(sql.In(t.C(payment.FieldStatus), string(payment.StatusPENDING), string(payment.StatusSUCCESSFUL)))))
		}).Exist(ctx)
	if err != nil {
		return err
	}
	if paying {
		return kernel.Errorf(kernel.CodeConflict, "a payment of the invoice is in progress or made: it cannot be voided")
	}
	noted, err := tx.CreditNote.Query().Where(creditnote.InvoiceID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if noted {
		return kernel.Errorf(kernel.CodeConflict, "credit notes were issued for the invoice: it cannot be voided (issue a credit note for the rest)")
	}
	taxed, err := tx.TaxInvoice.Query().Where(taxinvoice.InvoiceID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if taxed {
		return kernel.Errorf(kernel.CodeConflict, "a tax invoice was issued for the invoice: it cannot be voided (the tax authority has it)")
	}
	now := e.Clock.Now()
	if err := restoreCredits(ctx, tx, e.Postgres, inv, now); err != nil {
		return err
	}
	if err := tx.Invoice.UpdateOne(inv).SetStatus(invoice.StatusVOID).SetVoidedAt(now).SetVoidReason(reason).Exec(ctx); err != nil {
		return err
	}
	bg, err := tx.BillingGroup.Get(ctx, inv.BillingGroupID)
	if err != nil {
		return err
	}
	// Told by email and SMS only when it asked the customer for money, as
	// the invoice's own notice was (notifyInvoice).
	channels := []string{topics.ChannelEmail, topics.ChannelSMS, topics.ChannelWebhook}
	if kernel.AmountDue(inv) == 0 {
		channels = []string{topics.ChannelWebhook}
	}
	return topics.NotifyOn(ctx, tx, inv.OrgID, topics.InvoiceVoided, map[string]any{
		"invoiceId": inv.ID, "billingGroupId": bg.ID, "billingGroupName": bg.Name, "month": inv.Month,
		"currency": inv.Currency, "amountDue": kernel.FormatMinor(kernel.AmountDue(inv), inv.Currency), "reason": reason,
	}, channels...)
}

// restoreCredits gives back to each free credit what invoice inv took from
// it (its USE entries), with a RESTORE entry naming the invoice: a credit
// it used up is AVAILABLE again. A credit closed since (expired, recovered,
// refunded) cannot take it back, and the void is refused.
func restoreCredits(ctx context.Context, tx *ent.Tx, lock bool, inv *ent.Invoice, at time.Time) error {
	uses, err := tx.CreditEntry.Query().Where(creditentry.InvoiceID(inv.ID), creditentry.KindEQ(creditentry.KindUSE)).
		Order(ent.Asc(creditentry.FieldCreditID)).All(ctx)
	if err != nil || len(uses) == 0 {
		return err
	}
	back := map[string]int64{}
	var ids []string
	for _, u := range uses {
		if back[u.CreditID] == 0 {
			ids = append(ids, u.CreditID)
		}
		back[u.CreditID] -= u.Amount // a use is negative
	}
	cq := tx.Credit.Query().Where(credit.IDIn(ids...)).Order(ent.Asc(credit.FieldID))
	if lock {
		cq = cq.ForUpdate()
	}
	credits, err := cq.All(ctx)
	if err != nil {
		return err
	}
	entries := make([]*ent.CreditEntryCreate, 0, len(credits))
	for _, c := range credits {
		if c.Status != credit.StatusAVAILABLE && c.Status != credit.StatusUSED_UP {
			return kernel.Errorf(kernel.CodeConflict, "credit %s that paid part of the invoice is %s since: it cannot be given back, so the invoice cannot be voided",
				c.ID, c.Status)
		}
		amt := back[c.ID]
		if err := tx.Credit.UpdateOne(c).AddRemaining(amt).AddUsed(-amt).SetStatus(credit.StatusAVAILABLE).
			ClearClosedAt().Exec(ctx); err != nil {
			return err
		}
		entries = append(entries, tx.CreditEntry.Create().SetOrgID(c.OrgID).SetCreditID(c.ID).SetKind(creditentry.KindRESTORE).
			SetCurrency(c.Currency).SetAmount(amt).SetInvoiceID(inv.ID).SetOccurredAt(at))
	}
	return tx.CreditEntry.CreateBulk(entries...).Exec(ctx)
}

// ReissueInvoiceOnce issues month m of billing group bgID again after its
// invoice was voided, once per req, and answers the month's invoice: the
// new one, or the one a concurrent reissue made (however many race, one
// wins: R-51). A month that was never voided is issued by the calendar
// only (NOT_FOUND for a group the caller cannot see is the caller's job).
func (e *Engine) ReissueInvoiceOnce(ctx context.Context, req kernel.Request, bgID string, m calendar.Month) (*ent.Invoice, error) {
	if err := kernel.CheckIdempotencyKey(req.Key); err != nil {
		return nil, err
	}
	bg, err := e.Client.BillingGroup.Get(ctx, bgID)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("billing group")
	}
	if err != nil {
		return nil, err
	}
	voided, err := e.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(m.String()),
		invoice.StatusEQ(invoice.StatusVOID)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !voided {
		return nil, kernel.FieldError("month", "the month %s has no voided invoice to issue again", m)
	}
	id, _, err := kernel.Once(ctx, e.Client, req, bg.OrgID, "reissueInvoice", func(tx *ent.Tx) (string, error) {
		return e.reissue(ctx, tx, bg, m)
	})
	if err != nil {
		return nil, err
	}
	inv, err := e.Client.Invoice.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	// A business customer's month reissued past its tax invoice date gets
	// its tax invoice now, as an issue retried late does: the
	// calendar's step only looks at the month just ended. A failure is
	// recorded and retried by the jobs (jobfailures.go).
	now := e.Clock.Now()
	if !now.Before(e.Policy.TaxInvoiceDate(m)) {
		if _, err := e.runStep(ctx, now, StepTaxInvoice, func(r *jobRun, ctx context.Context) error {
			return r.taxInvoice(ctx, inv, e.Payments().PayerCache())
		}); err != nil {
			e.log().WarnContext(ctx, "tax invoice of a reissued invoice", "invoice", inv.ID, "err", err)
		}
	}
	return inv, nil
}

// reissue issues month m of bg in tx, stamped now, and answers the
// month's live invoice: the new one, or, when another call issued it or is
// issuing it, that one once its transaction ends (the shared side of the
// month's issue lock waits for the exclusive side the issuer holds).
func (e *Engine) reissue(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, m calendar.Month) (string, error) {
	now := e.Clock.Now()
	inv, err := e.issueTx(ctx, tx, bg, m, nil, now, now)
	if err == nil {
		return inv.ID, nil
	}
	if !errors.Is(err, errAlreadyIssued) {
		return "", err
	}
	if err := kernel.WaitForIssuing(ctx, tx, e.Postgres, []string{kernel.IssueLockKey(bg.ID, m.String())}); err != nil {
		return "", err
	}
	live, err := tx.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(m.String()), kernel.Live()).Only(ctx)
	if ent.IsNotFound(err) {
		return "", kernel.Errorf(kernel.CodeConflict, "the month %s is being issued by another call; try again", m)
	}
	if err != nil {
		return "", err
	}
	return live.ID, nil
}
