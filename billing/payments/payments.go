package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/gateway"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/creditentry"
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

func (svc *Service) broker() Broker {
	if svc.Events == nil {
		return noBroker{}
	}
	return svc.Events
}

func (svc *Service) PaymentGateway() gateway.Gateway {
	if svc.Gateway == nil {
		return gateway.SandboxGateway{}
	}
	return svc.Gateway
}

// DueInvoices locks a billing group's unpaid invoices (oldest first) and
// returns what each still needs beyond what PENDING payments reserved.
func (svc *Service) DueInvoices(ctx context.Context, tx *ent.Tx, bgID string, only string) ([]*ent.Invoice, []int64, error) {
	q := tx.Invoice.Query().Where(invoice.BillingGroupID(bgID), invoice.StatusIn(invoice.StatusISSUED, invoice.StatusOUTSTANDING)).
		Order(ent.Asc(invoice.FieldMonth))
	if only != "" {
		q = q.Where(invoice.ID(only))
	}
	if svc.Postgres {
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

// Reserve writes a PENDING payment allocated over invoices.
func Reserve(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, kind payment.Kind, m *ent.PaymentMethod, label string,
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
func (svc *Service) Charge(ctx context.Context, p *ent.Payment) (*ent.Payment, error) {
	return svc.ChargeAt(ctx, p, svc.Clock.Now())
}

// ChargeAt is Charge by a job at its instant at.
func (svc *Service) ChargeAt(ctx context.Context, p *ent.Payment, at time.Time) (*ent.Payment, error) {
	m, err := svc.Client.PaymentMethod.Get(ctx, p.PaymentMethodID)
	if err != nil {
		return nil, err
	}
	var res gateway.ChargeResult
	if p.Kind == payment.KindCREDIT_REFUND {
		purchase, qerr := svc.Client.Payment.Query().Where(payment.CreditID(p.CreditID), payment.KindEQ(payment.KindCREDIT_PURCHASE),
			payment.StatusEQ(payment.StatusSUCCESSFUL)).Only(ctx)
		if qerr != nil {
			return nil, qerr
		}
		res, err = svc.PaymentGateway().Refund(ctx, p.ID, purchase.ID, m.GatewayToken, p.Amount, p.Currency)
	} else if p.Kind == payment.KindINVOICE_REFUND {
		res, err = svc.PaymentGateway().Refund(ctx, p.ID, p.RefundedPaymentID, m.GatewayToken, p.Amount, p.Currency)
	} else {
		res, err = svc.PaymentGateway().Charge(ctx, p.ID, m.GatewayToken, p.Amount, p.Currency)
	}
	if errors.Is(err, gateway.ErrGatewayTimeout) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	return svc.SettleAt(ctx, p.ID, res, at)
}

// Settle records a gateway outcome on a PENDING payment exactly once, now:
// the invoices it paid (or the coins it bought) follow in the same
// transaction.
func (svc *Service) Settle(ctx context.Context, paymentID string, res gateway.ChargeResult) (*ent.Payment, error) {
	return svc.SettleAt(ctx, paymentID, res, svc.Clock.Now())
}

// SettleAt is Settle dated at (a job's instant).
func (svc *Service) SettleAt(ctx context.Context, paymentID string, res gateway.ChargeResult, now time.Time) (*ent.Payment, error) {
	var out *ent.Payment
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
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
			if err := svc.applyPayment(ctx, tx, out, now); err != nil {
				return err
			}
		} else if out.Kind == payment.KindCREDIT_REFUND {
			if err := svc.Credits.GiveBackRefund(ctx, tx, out, now); err != nil {
				return err
			}
		} else if out.Kind == payment.KindINVOICE_REFUND {
			if err := svc.grantRefundAsCredit(ctx, tx, out, now); err != nil {
				return err
			}
		}
		if res.Succeeded {
			if err := svc.IssueCashReceipt(ctx, tx, out, now); err != nil {
				return err
			}
		}
		return svc.notifySettled(ctx, tx, out, res.Succeeded, now)
	})
	if err == nil {
		svc.broker().Publish(out)
	}
	return out, err
}

// applyPayment credits a successful payment to its invoices, to a new coin
// charge when it bought coins, or to a new paid credit when it bought one
// (a refund was taken off its credit when reserved).
func (svc *Service) applyPayment(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	switch p.Kind {
	case payment.KindCOIN_CHARGE:
		return svc.Coins.Credit(ctx, tx, p, at)
	case payment.KindCREDIT_PURCHASE:
		return svc.Credits.OpenPaidCredit(ctx, tx, p, at)
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
func (svc *Service) ReserveInstant(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, payer *ent.Account, methodID string) (*ent.Payment, error) {
	now := svc.Clock.Now()
	if !svc.Policy.InstantPayOpen(now) {
		return nil, kernel.Errorf(kernel.CodeOutsidePaymentWindow, "instant payment is open from %02d:00 on the %d%s to %02d:00 on the last day of the month, outside the regular payment days %d–%d",
			svc.Policy.InstantPayOpenHour, svc.Policy.IssueDay, ordinal(svc.Policy.IssueDay), svc.Policy.InstantPayCloseHour,
			svc.Policy.RegularPaymentFirstDay, svc.Policy.RegularPaymentLastDay)
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
	invs, dues, err := svc.DueInvoices(ctx, tx, bg.ID, "")
	if err != nil {
		return nil, err
	}
	if len(invs) == 0 {
		return nil, kernel.Errorf(kernel.CodeConflict, "nothing is due for this billing group")
	}
	// Coins pay before the method: the payer's own, then (a member) those
	// its master shared with it.
	invs, dues, coins, err := svc.Coins.PayFirst(ctx, tx, payer, invs, dues, now)
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
		if m.Type == paymentmethod.TypeCARD && total < svc.Policy.MinCardAmount {
			return nil, kernel.Errorf(kernel.CodeAmountBelowMinimum, "cards cannot pay outstanding amounts under %s %s", kernel.FormatMinor(svc.Policy.MinCardAmount, bg.Currency), bg.Currency)
		}
		if m.Type == paymentmethod.TypeBANK_TRANSFER && total < svc.Policy.MinTransferAmount {
			return nil, kernel.Errorf(kernel.CodeAmountBelowMinimum, "account transfers cannot pay outstanding amounts under %s %s", kernel.FormatMinor(svc.Policy.MinTransferAmount, bg.Currency), bg.Currency)
		}
	}
	return Reserve(ctx, tx, bg, payment.KindINSTANT, m, kernel.Label(m), invs, dues, nil, now)
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
func (svc *Service) payer(ctx context.Context, client *ent.Client, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
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
func (svc *Service) Payer(ctx context.Context, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
	return svc.payer(ctx, svc.Client, orgID)
}

// PayerCache memoises payer lookups by organization for one job run, so a
// run over many invoices reads each organization's payer once.
func (svc *Service) PayerCache() func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error) {
	type entry struct {
		a *ent.Account
		m *ent.PaymentMethod
	}
	seen := map[string]entry{}
	return func(ctx context.Context, orgID string) (*ent.Account, *ent.PaymentMethod, error) {
		if v, ok := seen[orgID]; ok {
			return v.a, v.m, nil
		}
		a, m, err := svc.payer(ctx, svc.Client, orgID)
		if err != nil {
			return nil, nil, err
		}
		seen[orgID] = entry{a, m}
		return a, m, nil
	}
}

// ErrAlreadyAttempted: a payment with this attempt key (an invoice's day, a
// deposit's id) exists already.
var ErrAlreadyAttempted = errors.New("already attempted today")

// Deposit records money that arrived in a virtual account: it pays
// the organization's unpaid invoices, oldest first. The gateway's deposit id
// makes a repeated notification change nothing.
func (svc *Service) Deposit(ctx context.Context, virtualAccount, depositID string, amount int64) (*ent.Payment, error) {
	if amount <= 0 || depositID == "" || len(depositID) > 100 {
		return nil, errors.New("a deposit needs a positive amount and an id")
	}
	m, err := svc.Client.PaymentMethod.Query().Where(paymentmethod.GatewayToken("va:"+virtualAccount),
		paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("unknown virtual account: %w", err)
	}
	key := "deposit:" + depositID
	if p, err := svc.Client.Payment.Query().Where(payment.AttemptKey(key)).Only(ctx); err == nil {
		return p, nil
	}
	now := svc.Clock.Now()
	groups, err := svc.Client.BillingGroup.Query().Where(billinggroup.OrgID(m.OrgID)).Order(ent.Asc(billinggroup.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.Payment
	err = kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		left := amount
		var first *ent.BillingGroup
		var invs []*ent.Invoice
		var dues []int64
		for _, bg := range groups {
			is, ds, err := svc.DueInvoices(ctx, tx, bg.ID, "")
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
			return ErrAlreadyAttempted
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
		if err := svc.IssueCashReceipt(ctx, tx, p, now); err != nil {
			return err
		}
		return topics.Notify(ctx, tx, m.OrgID, topics.PaymentSucceeded, map[string]any{"paymentId": p.ID, "receiptId": p.ReceiptID,
			"amount": kernel.FormatMinor(amount, p.Currency), "currency": p.Currency, "kind": "DEPOSIT"})
	})
	if errors.Is(err, ErrAlreadyAttempted) {
		return svc.Client.Payment.Query().Where(payment.AttemptKey(key)).Only(ctx)
	}
	if err == nil {
		svc.broker().Publish(out)
	}
	return out, err
}

// notifySettled tells the outcome of a payment: a failed one with
// its reason and the next automatic attempt, if the regular payment days
// have one; bought coins as coins charged (the webhook stays
// payment.succeeded, what integrations already read).
func (svc *Service) notifySettled(ctx context.Context, tx *ent.Tx, p *ent.Payment, succeeded bool, now time.Time) error {
	payload := map[string]any{"paymentId": p.ID, "receiptId": p.ReceiptID, "kind": p.Kind,
		"billingGroupId": p.BillingGroupID, "amount": kernel.FormatMinor(p.Amount, p.Currency), "currency": p.Currency,
		"status": p.Status, "reason": p.FailureReason}
	if !succeeded {
		if p.Kind == payment.KindAUTOMATIC {
			if next, ok := svc.Policy.NextAutoPayDay(now); ok {
				payload["nextAttempt"] = svc.Policy.Date(next)
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

// grantRefundAsCredit keeps a refund the gateway refused the customer's:
// its amount becomes a PAID credit of the billing group, valid 5 years
// (R-27's term), that pays the next invoices.
func (svc *Service) grantRefundAsCredit(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	bg, err := tx.BillingGroup.Get(ctx, p.BillingGroupID)
	if err != nil {
		return err
	}
	_, err = svc.Credits.OpenCredit(ctx, tx, bg, credits.CreditSpec{Name: "Refund refused by the card company: " + p.Description, Type: "PAID",
		Amount: p.Amount, StartsAt: at, EndsAt: at.AddDate(credits.PaidCreditYears, 0, 0), Source: "CREDIT_NOTE"},
		creditentry.KindACCUMULATION, "", at)
	return err
}

// ChargeIfFresh charges a reserved payment when this call reserved it; a
// replayed call only reads it.
func (svc *Service) ChargeIfFresh(ctx context.Context, fresh bool, paymentID string) (*ent.Payment, error) {
	pay, err := svc.Client.Payment.Get(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	if fresh && pay.Status == payment.StatusPENDING && pay.PaymentMethodID != "" {
		// The charge must finish even if the client goes away.
		return svc.Charge(context.WithoutCancel(ctx), pay)
	}
	return pay, nil
}
