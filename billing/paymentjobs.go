package billing

import (
	"context"
	"errors"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/gateway"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/payments"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// The calendar's payment steps: reconciliation of payments left PENDING
// automatic payment, outstanding amounts and late
// fees. Each invoice is its own subject; billing/payments does the
// work.

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
	payers := r.e.Payments().PayerCache()
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
			due, dues, err := r.e.Payments().DueInvoices(ctx, tx, inv.BillingGroupID, inv.ID)
			if err != nil || len(due) == 0 {
				return err // paid or reserved by an instant payment meanwhile
			}
			// Coins bought since the issue pay before the method.
			if due, dues, _, err = r.e.Coins().PayFirst(ctx, tx, master, due, dues, r.at); err != nil || len(due) == 0 {
				return err
			}
			p, err = payments.Reserve(ctx, tx, bg, payment.KindAUTOMATIC, m, kernel.Label(m), due, dues, &key, r.at)
			if kernel.IsUniqueViolationOn(err, payment.Table, payment.FieldAttemptKey) {
				p = nil
				return payments.ErrAlreadyAttempted // only this key says so
			}
			return err
		})
		if errors.Is(err, payments.ErrAlreadyAttempted) || (err == nil && p == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if p, err = r.e.Payments().ChargeAt(ctx, p, r.at); err != nil {
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
			res, err := r.e.Payments().PaymentGateway().Lookup(ctx, p.ID, m.GatewayToken)
			if errors.Is(err, gateway.ErrGatewayTimeout) {
				return nil // asked again on the next run
			}
			if err != nil {
				return err
			}
			if _, err := r.e.Payments().SettleAt(ctx, p.ID, res, r.at); err != nil {
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
	payers := r.e.Payments().PayerCache()
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
		due, _, err := r.e.Payments().DueInvoices(ctx, tx, inv.BillingGroupID, inv.ID)
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
