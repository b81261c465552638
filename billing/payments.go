package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudbill/cloudbill/billing/gateway"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// Payments move in three steps so that nothing is charged twice (R-50..R-53):
//  1. reserve: in one transaction, lock the invoices, work out what is due
//     (minus what other PENDING payments already reserved), and write a
//     PENDING payment with its allocations;
//  2. charge the gateway outside any transaction, keyed by the payment's id;
//  3. settle: a guarded update from PENDING records the outcome exactly once.
// A timeout leaves the payment PENDING; the reconcile job asks the gateway.

// Broker receives payment status changes (the paymentUpdated subscription).
type Broker interface{ Publish(p *ent.Payment) }

type noBroker struct{}

func (noBroker) Publish(*ent.Payment) {}

func (e *Engine) broker() Broker {
	if e.Events == nil {
		return noBroker{}
	}
	return e.Events
}

func (e *Engine) gateway() gateway.Gateway {
	if e.Gateway == nil {
		return gateway.SandboxGateway{}
	}
	return e.Gateway
}

// dueInvoices locks a billing group's unpaid invoices (oldest first) and
// returns what each still needs beyond what PENDING payments reserved.
func (e *Engine) dueInvoices(ctx context.Context, tx *ent.Tx, bgID string, only string) ([]*ent.Invoice, []int64, error) {
	q := tx.Invoice.Query().Where(invoice.BillingGroupID(bgID), invoice.StatusIn(invoice.StatusISSUED, invoice.StatusOUTSTANDING)).
		Order(ent.Asc(invoice.FieldMonth))
	if only != "" {
		q = q.Where(invoice.ID(only))
	}
	if e.Postgres {
		q = q.ForUpdate()
	}
	invs, err := q.All(ctx)
	if err != nil || len(invs) == 0 {
		return nil, nil, err
	}
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	pending, err := tx.Payment.Query().Where(payment.StatusEQ(payment.StatusPENDING), payment.BillingGroupID(bgID)).IDs(ctx)
	if err != nil {
		return nil, nil, err
	}
	reserved := map[string]int64{}
	if len(pending) > 0 {
		allocs, err := tx.PaymentAllocation.Query().Where(paymentallocation.PaymentIDIn(pending...),
			paymentallocation.InvoiceIDIn(ids...)).All(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range allocs {
			reserved[a.InvoiceID] += a.Amount
		}
	}
	var out []*ent.Invoice
	var dues []int64
	for _, inv := range invs {
		if due := kernel.AmountDue(inv) - reserved[inv.ID]; due > 0 {
			out = append(out, inv)
			dues = append(dues, due)
		}
	}
	return out, dues, nil
}

// reservePayment writes a PENDING payment allocated over invoices.
func reservePayment(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, kind payment.Kind, m *ent.PaymentMethod, label string,
	invs []*ent.Invoice, dues []int64, attemptKey *string, at time.Time) (*ent.Payment, error) {
	var total int64
	for _, d := range dues {
		total += d
	}
	c := tx.Payment.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetCreatedAt(at).SetReceiptID(kernel.NewReceiptID(at)).SetKind(kind).
		SetMethodLabel(label).SetCurrency(bg.Currency).SetAmount(total).SetStatus(payment.StatusPENDING).
		SetBilledAt(invs[0].IssuedAt).SetNillableAttemptKey(attemptKey)
	if m != nil {
		c.SetPaymentMethodID(m.ID).SetAccountID(m.AccountID)
	}
	p, err := c.Save(ctx)
	if err != nil {
		return nil, err
	}
	for i, inv := range invs {
		if err := tx.PaymentAllocation.Create().SetOrgID(bg.OrgID).SetPaymentID(p.ID).SetInvoiceID(inv.ID).
			SetAmount(dues[i]).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Charge sends a PENDING payment to the gateway and settles it now: a
// charge, or for a CREDIT_REFUND the refund of the purchase it reverses. A
// timeout leaves it PENDING for Reconcile.
func (e *Engine) Charge(ctx context.Context, p *ent.Payment) (*ent.Payment, error) {
	return e.chargeAt(ctx, p, e.Clock.Now())
}

// chargeAt is Charge by a job at its instant at.
func (e *Engine) chargeAt(ctx context.Context, p *ent.Payment, at time.Time) (*ent.Payment, error) {
	m, err := e.Client.PaymentMethod.Get(ctx, p.PaymentMethodID)
	if err != nil {
		return nil, err
	}
	var res gateway.ChargeResult
	if p.Kind == payment.KindCREDIT_REFUND {
		purchase, qerr := e.Client.Payment.Query().Where(payment.CreditID(p.CreditID), payment.KindEQ(payment.KindCREDIT_PURCHASE),
			payment.StatusEQ(payment.StatusSUCCESSFUL)).Only(ctx)
		if qerr != nil {
			return nil, qerr
		}
		res, err = e.gateway().Refund(ctx, p.ID, purchase.ID, m.GatewayToken, p.Amount, p.Currency)
	} else if p.Kind == payment.KindINVOICE_REFUND {
		res, err = e.gateway().Refund(ctx, p.ID, p.RefundedPaymentID, m.GatewayToken, p.Amount, p.Currency)
	} else {
		res, err = e.gateway().Charge(ctx, p.ID, m.GatewayToken, p.Amount, p.Currency)
	}
	if errors.Is(err, gateway.ErrGatewayTimeout) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	return e.settleAt(ctx, p.ID, res, at)
}

// Settle records a gateway outcome on a PENDING payment exactly once, now:
// the invoices it paid (or the coins it bought) follow in the same
// transaction.
func (e *Engine) Settle(ctx context.Context, paymentID string, res gateway.ChargeResult) (*ent.Payment, error) {
	return e.settleAt(ctx, paymentID, res, e.Clock.Now())
}

// settleAt is Settle dated at (a job's instant).
func (e *Engine) settleAt(ctx context.Context, paymentID string, res gateway.ChargeResult, now time.Time) (*ent.Payment, error) {
	var out *ent.Payment
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		upd := tx.Payment.Update().Where(payment.ID(paymentID), payment.StatusEQ(payment.StatusPENDING))
		if res.Succeeded {
			upd.SetStatus(payment.StatusSUCCESSFUL).SetPaidAt(now)
		} else {
			upd.SetStatus(payment.StatusFAILED).SetFailureReason(res.Reason)
		}
		n, err := upd.Save(ctx)
		if err != nil {
			return err
		}
		out, err = tx.Payment.Get(ctx, paymentID)
		if err != nil || n == 0 {
			return err // settled before: nothing more to do
		}
		if res.Succeeded {
			if err := e.applyPayment(ctx, tx, out, now); err != nil {
				return err
			}
		} else if out.Kind == payment.KindCREDIT_REFUND {
			if err := e.Credits().GiveBackRefund(ctx, tx, out, now); err != nil {
				return err
			}
		} else if out.Kind == payment.KindINVOICE_REFUND {
			if err := e.grantRefundAsCredit(ctx, tx, out, now); err != nil {
				return err
			}
		}
		if res.Succeeded {
			if err := e.issueCashReceipt(ctx, tx, out, now); err != nil {
				return err
			}
		}
		return e.notifySettled(ctx, tx, out, res.Succeeded, now)
	})
	if err == nil {
		e.broker().Publish(out)
	}
	return out, err
}

// applyPayment credits a successful payment to its invoices, to a new coin
// charge when it bought coins, or to a new paid credit when it bought one
// (a refund was taken off its credit when reserved).
func (e *Engine) applyPayment(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	switch p.Kind {
	case payment.KindCOIN_CHARGE:
		return e.Coins().Credit(ctx, tx, p, at)
	case payment.KindCREDIT_PURCHASE:
		return e.Credits().OpenPaidCredit(ctx, tx, p, at)
	case payment.KindCREDIT_REFUND, payment.KindINVOICE_REFUND:
		return nil // taken off the credit, or counted by its credit note, when reserved
	}
	allocs, err := tx.PaymentAllocation.Query().Where(paymentallocation.PaymentID(p.ID)).All(ctx)
	if err != nil {
		return err
	}
	for _, a := range allocs {
		if err := PayInvoice(ctx, tx, a.InvoiceID, a.Amount, at); err != nil {
			return err
		}
	}
	return nil
}

// PayInvoice adds amt to an invoice's paid amount; fully paid, it is PAID.
func PayInvoice(ctx context.Context, tx *ent.Tx, invoiceID string, amt int64, at time.Time) error {
	if err := tx.Invoice.UpdateOneID(invoiceID).AddPaidAmount(amt).Exec(ctx); err != nil {
		return err
	}
	inv, err := tx.Invoice.Get(ctx, invoiceID)
	if err != nil {
		return err
	}
	if kernel.AmountDue(inv) == 0 && inv.Status != invoice.StatusPAID {
		return inv.Update().SetStatus(invoice.StatusPAID).SetPaidAt(at).Exec(ctx)
	}
	return nil
}

// ReserveInstant pays what a billing group owes now: its issued
// invoice and any earlier outstanding amount. The payer's coins, then the
// coins shared with it, are spent first. Call it inside Idempotent: it only reserves; the
// caller charges the returned payment after the transaction commits.
func (e *Engine) ReserveInstant(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, payer *ent.Account, methodID string) (*ent.Payment, error) {
	now := e.Clock.Now()
	if !e.Policy.InstantPayOpen(now) {
		return nil, kernel.Errorf(kernel.CodeOutsidePaymentWindow, "instant payment is open from %02d:00 on the %d%s to %02d:00 on the last day of the month, outside the regular payment days %d–%d",
			e.Policy.InstantPayOpenHour, e.Policy.IssueDay, ordinal(e.Policy.IssueDay), e.Policy.InstantPayCloseHour,
			e.Policy.RegularPaymentFirstDay, e.Policy.RegularPaymentLastDay)
	}
	m, err := tx.PaymentMethod.Query().Where(paymentmethod.ID(methodID), paymentmethod.AccountID(payer.ID),
		paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &kernel.Error{Code: kernel.CodeNotFound, Field: "paymentMethodId", Message: "payment method not found"}
	}
	if err != nil {
		return nil, err
	}
	if m.Type == paymentmethod.TypeDIRECT_DEPOSIT {
		return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "paymentMethodId", Message: "a virtual account is paid by depositing into it"}
	}
	if !accounts.Domestic(payer) && m.Type != paymentmethod.TypeCARD {
		return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "paymentMethodId", Message: "expatriate members pay instantly by credit card only (R-42)"}
	}
	invs, dues, err := e.dueInvoices(ctx, tx, bg.ID, "")
	if err != nil {
		return nil, err
	}
	if len(invs) == 0 {
		return nil, kernel.Errorf(kernel.CodeConflict, "nothing is due for this billing group")
	}
	// Coins pay before the method: the payer's own, then (a member) those
	// its master shared with it.
	invs, dues, coins, err := e.Coins().PayFirst(ctx, tx, payer, invs, dues, now)
	if err != nil {
		return nil, err
	}
	if len(invs) == 0 {
		// Coins paid everything: record that, nothing to charge.
		return tx.Payment.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetAccountID(payer.ID).SetCreatedAt(now).
			SetReceiptID(kernel.NewReceiptID(now)).SetKind(payment.KindINSTANT).SetMethodLabel("Coins").
			SetCurrency(bg.Currency).SetAmount(coins).SetStatus(payment.StatusSUCCESSFUL).SetPaidAt(now).
			SetBilledAt(now).Save(ctx)
	}
	var total int64
	outstanding := false
	for i, inv := range invs {
		total += dues[i]
		outstanding = outstanding || inv.Status == invoice.StatusOUTSTANDING
	}
	// minimum amounts when paying outstanding amounts.
	if outstanding {
		if m.Type == paymentmethod.TypeCARD && total < e.Policy.MinCardAmount {
			return nil, kernel.Errorf(kernel.CodeAmountBelowMinimum, "cards cannot pay outstanding amounts under %s %s", kernel.FormatMinor(e.Policy.MinCardAmount, bg.Currency), bg.Currency)
		}
		if m.Type == paymentmethod.TypeBANK_TRANSFER && total < e.Policy.MinTransferAmount {
			return nil, kernel.Errorf(kernel.CodeAmountBelowMinimum, "account transfers cannot pay outstanding amounts under %s %s", kernel.FormatMinor(e.Policy.MinTransferAmount, bg.Currency), bg.Currency)
		}
	}
	return reservePayment(ctx, tx, bg, payment.KindINSTANT, m, kernel.Label(m), invs, dues, nil, now)
}

func ordinal(n int) string {
	switch n {
	case 1, 21, 31:
		return "st"
	case 2, 22:
		return "nd"
	case 3, 23:
		return "rd"
	}
	return "th"
}

// payer is the organization's master account: the integrated payment
// account whose automatic method pays every billing group.
func (e *Engine) payer(ctx context.Context, client *ent.Client, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
	a, err := client.Account.Query().Where(account.OrgID(orgID), account.IsMaster(true)).First(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := client.PaymentMethod.Query().Where(paymentmethod.AccountID(a.ID), paymentmethod.IsDefault(true),
		paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).First(ctx)
	if ent.IsNotFound(err) {
		return a, nil, nil
	}
	return a, m, err
}

// Payer is the organization's master account, which pays for it, and its
// automatic method (nil when it has none).
func (e *Engine) Payer(ctx context.Context, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
	return e.payer(ctx, e.Client, orgID)
}

// payerCache memoises payer lookups by organization for one job run, so a
// run over many invoices reads each organization's payer once.
func (e *Engine) payerCache() func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error) {
	type entry struct {
		a *ent.Account
		m *ent.PaymentMethod
	}
	seen := map[string]entry{}
	return func(ctx context.Context, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
		if v, ok := seen[orgID]; ok {
			return v.a, v.m, nil
		}
		a, m, err := e.payer(ctx, e.Client, orgID)
		if err != nil {
			return nil, nil, err
		}
		seen[orgID] = entry{a, m}
		return a, m, nil
	}
}

// AutoPay charges the automatic method for every issued, unpaid invoice on
// the regular payment days: a step of RunJobs, run here on its own.
func (e *Engine) AutoPay(ctx context.Context, at time.Time) (charged, failed int, err error) {
	res, err := e.runStep(ctx, at, StepAutoPay, (*jobRun).autoPay)
	return res.Charged, res.Failed, err
}

// autoPay attempts, once a day per invoice however many replicas run it
// (the attempt key (invoice, day) is unique), every issued, unpaid invoice
// on a regular payment day; a declined attempt is retried on the next
// regular day. An attempt that could not be made (an error, not a decline)
// is retried by later runs, under its day's key, even after the regular
// days: the customer is owed that attempt.
func (r *jobRun) autoPay(ctx context.Context) error {
	payers := r.e.payerCache()
	groups := map[string]*ent.BillingGroup{}
	for _, f := range r.retries(StepAutoPay) {
		inv, err := r.e.Client.Invoice.Get(ctx, f.SubjectID)
		if ent.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := r.attemptAutoPay(ctx, inv, f.Key, payers, groups); err != nil {
			return err
		}
	}
	if !r.e.Policy.InRegularPeriod(r.at) {
		return nil
	}
	day := r.e.Policy.Local(r.at).Format("2006-01-02")
	invs, err := r.e.Client.Invoice.Query().Where(invoice.StatusEQ(invoice.StatusISSUED), invoice.IssuedAtLTE(r.at)).
		Order(ent.Asc(invoice.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if err := r.attemptAutoPay(ctx, inv, day, payers, groups); err != nil {
			return err
		}
	}
	return nil
}

// attemptAutoPay makes the automatic payment attempt of an invoice for a
// day, isolated: its failure is recorded and retried.
func (r *jobRun) attemptAutoPay(ctx context.Context, inv *ent.Invoice, day string,
	payers func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error), groups map[string]*ent.BillingGroup) error {
	fail := JobFailure{Step: StepAutoPay, OrgID: inv.OrgID, BillingGroupID: inv.BillingGroupID, SubjectID: inv.ID, Month: inv.Month, Key: day}
	return r.isolate(ctx, fail, func() error {
		if inv.Status != invoice.StatusISSUED && inv.Status != invoice.StatusOUTSTANDING || kernel.AmountDue(inv) == 0 {
			return nil
		}
		master, m, err := payers(ctx, inv.OrgID)
		if err != nil {
			return err
		}
		if m == nil || m.Type == paymentmethod.TypeDIRECT_DEPOSIT {
			return nil // nothing to charge: pays by deposit, or no method yet (coins: PayWithCoins)
		}
		bg := groups[inv.BillingGroupID]
		if bg == nil {
			if bg, err = r.e.Client.BillingGroup.Get(ctx, inv.BillingGroupID); err != nil {
				return err
			}
			groups[bg.ID] = bg
		}
		key := inv.ID + "@" + day
		var p *ent.Payment
		err = kernel.WithTx(ctx, r.e.Client, func(tx *ent.Tx) error {
			p = nil
			due, dues, err := r.e.dueInvoices(ctx, tx, inv.BillingGroupID, inv.ID)
			if err != nil || len(due) == 0 {
				return err // paid or reserved by an instant payment meanwhile
			}
			// Coins bought since the issue pay before the method.
			if due, dues, _, err = r.e.Coins().PayFirst(ctx, tx, master, due, dues, r.at); err != nil || len(due) == 0 {
				return err
			}
			p, err = reservePayment(ctx, tx, bg, payment.KindAUTOMATIC, m, kernel.Label(m), due, dues, &key, r.at)
			if kernel.IsUniqueViolationOn(err, payment.Table, payment.FieldAttemptKey) {
				p = nil
				return errAlreadyAttempted // only this key says so
			}
			return err
		})
		if errors.Is(err, errAlreadyAttempted) || (err == nil && p == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if p, err = r.e.chargeAt(ctx, p, r.at); err != nil {
			return err
		}
		switch p.Status {
		case payment.StatusSUCCESSFUL:
			r.res.Charged++
		case payment.StatusFAILED:
			r.res.Failed++
		}
		return nil
	})
}

var errAlreadyAttempted = errors.New("already attempted today")

// reconcile asks the gateway about payments left PENDING for over a minute
// (a timeout or a crash between the steps) and settles them.
func (r *jobRun) reconcile(ctx context.Context) error {
	ps, err := r.e.Client.Payment.Query().Where(payment.StatusEQ(payment.StatusPENDING), payment.CreatedAtLT(r.at.Add(-time.Minute)),
		payment.PaymentMethodIDNotNil()).Order(ent.Asc(payment.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		fail := JobFailure{Step: StepReconcile, OrgID: p.OrgID, BillingGroupID: p.BillingGroupID, SubjectID: p.ID}
		err := r.isolate(ctx, fail, func() error {
			m, err := r.e.Client.PaymentMethod.Get(ctx, p.PaymentMethodID)
			if err != nil {
				return err
			}
			res, err := r.e.gateway().Lookup(ctx, p.ID, m.GatewayToken)
			if errors.Is(err, gateway.ErrGatewayTimeout) {
				return nil // asked again on the next run
			}
			if err != nil {
				return err
			}
			if _, err := r.e.settleAt(ctx, p.ID, res, r.at); err != nil {
				return err
			}
			r.res.Reconciled++
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// markOutstanding turns outstanding every issued invoice still unpaid after
// its payment period — counted from the month it was issued for, or from
// a later one if it was issued late (Policy.PaymentMonth) — notifies by
// email and SMS, and emits a suspension-notice event the platform acts on.
// An invoice whose automatic payment could not be attempted (a failure of
// ours, still retried) is not made outstanding meanwhile.
func (r *jobRun) markOutstanding(ctx context.Context) error {
	// Only months whose regular payment period is over can be outstanding.
	latest := calendar.MonthOf(r.at, r.e.Policy.Location()).Prev()
	if r.at.Before(r.e.Policy.OutstandingFrom(latest, false)) {
		latest = latest.Prev()
	}
	invs, err := r.e.Client.Invoice.Query().Where(invoice.StatusEQ(invoice.StatusISSUED), invoice.MonthLTE(latest.String())).
		Order(ent.Asc(invoice.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	payers := r.e.payerCache()
	for _, inv := range invs {
		if kernel.AmountDue(inv) == 0 || r.failing(StepAutoPay, inv.ID) {
			continue
		}
		fail := JobFailure{Step: StepOutstanding, OrgID: inv.OrgID, BillingGroupID: inv.BillingGroupID, SubjectID: inv.ID, Month: inv.Month}
		if err := r.isolate(ctx, fail, func() error { return r.markInvoiceOutstanding(ctx, inv, payers) }); err != nil {
			return err
		}
	}
	return nil
}

func (r *jobRun) markInvoiceOutstanding(ctx context.Context, inv *ent.Invoice,
	payers func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error)) error {
	m, err := calendar.ParseMonth(inv.Month)
	if err != nil {
		return err
	}
	_, pm, err := payers(ctx, inv.OrgID)
	if err != nil {
		return err
	}
	deposit := pm != nil && pm.Type == paymentmethod.TypeDIRECT_DEPOSIT
	if r.at.Before(r.e.Policy.OutstandingAfter(r.e.Policy.PaymentMonth(m, inv.CreatedAt), deposit)) {
		return nil
	}
	return kernel.WithTx(ctx, r.e.Client, func(tx *ent.Tx) error {
		// What a PENDING payment has reserved is being paid: only the
		// rest is outstanding.
		due, _, err := r.e.dueInvoices(ctx, tx, inv.BillingGroupID, inv.ID)
		if err != nil || len(due) == 0 || due[0].Status != invoice.StatusISSUED {
			return err
		}
		k, err := tx.Invoice.Update().Where(invoice.ID(inv.ID), invoice.StatusEQ(invoice.StatusISSUED)).
			SetStatus(invoice.StatusOUTSTANDING).SetOutstandingAt(r.at).Save(ctx)
		if err != nil || k == 0 {
			return err
		}
		r.res.Outstanding++
		// The notice says when the next late fee comes: at the start
		// of the month after the payment month, on the amount still unpaid.
		payload := map[string]any{"invoiceId": inv.ID, "billingGroupId": inv.BillingGroupID, "month": inv.Month,
			"amountDue": kernel.FormatMinor(kernel.AmountDue(due[0]), inv.Currency), "currency": inv.Currency,
			"lateFeeFrom": r.e.Policy.Date(r.e.Policy.PaymentMonth(m, inv.CreatedAt).Next().Start(r.e.Policy.Location())),
			"lateFeeRate": r.e.Policy.LateFeeRate.String()}
		if err := topics.Notify(ctx, tx, inv.OrgID, topics.InvoiceOutstanding, payload); err != nil {
			return err
		}
		return topics.NotifyOn(ctx, tx, inv.OrgID, topics.SuspensionNotice, payload, topics.ChannelWebhook)
	})
}

// chargeLateFees adds 1.5% of the unpaid amount including VAT — never of
// earlier late fees — for each month an outstanding invoice is carried past
// its payment month, rounded down; late_fee_months makes each month
// count once.
func (r *jobRun) chargeLateFees(ctx context.Context) error {
	invs, err := r.e.Client.Invoice.Query().Where(invoice.StatusEQ(invoice.StatusOUTSTANDING)).Order(ent.Asc(invoice.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		fail := JobFailure{Step: StepLateFee, OrgID: inv.OrgID, BillingGroupID: inv.BillingGroupID, SubjectID: inv.ID, Month: inv.Month}
		if err := r.isolate(ctx, fail, func() error { return r.chargeLateFee(ctx, inv) }); err != nil {
			return err
		}
	}
	return nil
}

func (r *jobRun) chargeLateFee(ctx context.Context, inv *ent.Invoice) error {
	m, err := calendar.ParseMonth(inv.Month)
	if err != nil {
		return err
	}
	carried := r.e.Policy.MonthsCarriedFrom(r.e.Policy.PaymentMonth(m, inv.CreatedAt), r.at)
	for inv.LateFeeMonths < carried {
		base := inv.DeterminedAmount + inv.TaxAmount - inv.CoinAmount - inv.PaidAmount - inv.CreditedAmount
		if base <= 0 {
			return nil
		}
		fee := LateFee(base, r.e.Policy)
		// The fee and its notice in one transaction: told once, as charged.
		charged := false
		err := kernel.WithTx(ctx, r.e.Client, func(tx *ent.Tx) error {
			k, err := tx.Invoice.Update().Where(invoice.ID(inv.ID), invoice.LateFeeMonths(inv.LateFeeMonths)).
				AddLateFeeAmount(fee).AddLateFeeMonths(1).Save(ctx)
			if err != nil || k == 0 {
				return err
			}
			charged = true // counted once committed: a retried transaction runs this again
			return topics.Notify(ctx, tx, inv.OrgID, topics.LateFee, map[string]any{"invoiceId": inv.ID,
				"billingGroupId": inv.BillingGroupID, "month": inv.Month, "currency": inv.Currency,
				"lateFee": kernel.FormatMinor(fee, inv.Currency), "unpaid": kernel.FormatMinor(base, inv.Currency),
				"amountDue": kernel.FormatMinor(base+fee+inv.LateFeeAmount, inv.Currency)})
		})
		if err != nil {
			return err
		}
		if charged {
			r.mu.Lock()
			r.res.LateFees++
			r.mu.Unlock()
		}
		if inv, err = r.e.Client.Invoice.Get(ctx, inv.ID); err != nil {
			return err
		}
	}
	return nil
}

// LateFee is one month's late fee on an unpaid amount, rounded down.
func LateFee(unpaid int64, p calendar.Policy) int64 { return rating.Tax(unpaid, p.LateFeeRate) }

// Deposit records money that arrived in a virtual account: it pays
// the organization's unpaid invoices, oldest first. The gateway's deposit id
// makes a repeated notification change nothing.
func (e *Engine) Deposit(ctx context.Context, virtualAccount, depositID string, amount int64) (*ent.Payment, error) {
	if amount <= 0 || depositID == "" || len(depositID) > 100 {
		return nil, errors.New("a deposit needs a positive amount and an id")
	}
	m, err := e.Client.PaymentMethod.Query().Where(paymentmethod.GatewayToken("va:"+virtualAccount),
		paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("unknown virtual account: %w", err)
	}
	key := "deposit:" + depositID
	if p, err := e.Client.Payment.Query().Where(payment.AttemptKey(key)).Only(ctx); err == nil {
		return p, nil
	}
	now := e.Clock.Now()
	groups, err := e.Client.BillingGroup.Query().Where(billinggroup.OrgID(m.OrgID)).Order(ent.Asc(billinggroup.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.Payment
	err = kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		left := amount
		var first *ent.BillingGroup
		var invs []*ent.Invoice
		var dues []int64
		for _, bg := range groups {
			is, ds, err := e.dueInvoices(ctx, tx, bg.ID, "")
			if err != nil {
				return err
			}
			for i := range is {
				if left == 0 {
					break
				}
				d := min(ds[i], left)
				left -= d
				invs, dues = append(invs, is[i]), append(dues, d)
				if first == nil {
					first = bg
				}
			}
		}
		if first == nil {
			first = groups[0]
		}
		c := tx.Payment.Create().SetOrgID(m.OrgID).SetBillingGroupID(first.ID).SetAccountID(m.AccountID).SetCreatedAt(now).
			SetPaymentMethodID(m.ID).SetReceiptID(kernel.NewReceiptID(now)).SetKind(payment.KindDEPOSIT).SetMethodLabel(kernel.Label(m)).
			SetCurrency(first.Currency).SetAmount(amount).SetStatus(payment.StatusSUCCESSFUL).SetPaidAt(now).
			SetBilledAt(now).SetAttemptKey(key)
		p, err := c.Save(ctx)
		if kernel.IsUniqueViolationOn(err, payment.Table, payment.FieldAttemptKey) {
			return errAlreadyAttempted
		}
		if err != nil {
			return err
		}
		for i, inv := range invs {
			if err := tx.PaymentAllocation.Create().SetOrgID(m.OrgID).SetPaymentID(p.ID).SetInvoiceID(inv.ID).SetAmount(dues[i]).Exec(ctx); err != nil {
				return err
			}
			if err := PayInvoice(ctx, tx, inv.ID, dues[i], now); err != nil {
				return err
			}
		}
		out = p
		if err := e.issueCashReceipt(ctx, tx, p, now); err != nil {
			return err
		}
		return topics.Notify(ctx, tx, m.OrgID, topics.PaymentSucceeded, map[string]any{"paymentId": p.ID, "receiptId": p.ReceiptID,
			"amount": kernel.FormatMinor(amount, p.Currency), "currency": p.Currency, "kind": "DEPOSIT"})
	})
	if errors.Is(err, errAlreadyAttempted) {
		return e.Client.Payment.Query().Where(payment.AttemptKey(key)).Only(ctx)
	}
	if err == nil {
		e.broker().Publish(out)
	}
	return out, err
}

// notifySettled tells the outcome of a payment: a failed one with
// its reason and the next automatic attempt, if the regular payment days
// have one; bought coins as coins charged (the webhook stays
// payment.succeeded, what integrations already read).
func (e *Engine) notifySettled(ctx context.Context, tx *ent.Tx, p *ent.Payment, succeeded bool, now time.Time) error {
	payload := map[string]any{"paymentId": p.ID, "receiptId": p.ReceiptID, "kind": p.Kind,
		"billingGroupId": p.BillingGroupID, "amount": kernel.FormatMinor(p.Amount, p.Currency), "currency": p.Currency,
		"status": p.Status, "reason": p.FailureReason}
	if !succeeded {
		if p.Kind == payment.KindAUTOMATIC {
			if next, ok := e.Policy.NextAutoPayDay(now); ok {
				payload["nextAttempt"] = e.Policy.Date(next)
			}
		}
		return topics.Notify(ctx, tx, p.OrgID, topics.PaymentFailed, payload)
	}
	if p.Kind == payment.KindCOIN_CHARGE {
		if err := topics.NotifyOn(ctx, tx, p.OrgID, topics.CoinsCharged, payload, topics.ChannelEmail, topics.ChannelSMS); err != nil {
			return err
		}
		return topics.NotifyOn(ctx, tx, p.OrgID, topics.PaymentSucceeded, payload, topics.ChannelWebhook)
	}
	return topics.Notify(ctx, tx, p.OrgID, topics.PaymentSucceeded, payload)
}
