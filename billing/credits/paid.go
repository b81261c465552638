package credits

import (
	"context"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
)

// A paid credit is bought: its sale is a payment in its own
// right, as a coin charge is. It moves in the three steps of every payment
// (billing/payments): ReserveCreditSale writes the PENDING purchase, Charge sends
// it to the gateway after commit, and Settle opens the credit when the
// money is in (OpenPaidCredit) — never before. A refund is the same three
// steps the other way: ReserveCreditRefund takes the remainder off the
// credit at once and writes a PENDING refund of it; the gateway pays it
// back to the method that bought the credit; a refund the gateway refuses
// gives the remainder back to the credit (GiveBackRefund).

// ReserveCreditSale writes the PENDING purchase of a paid credit of amount
// for bg, charged to methodID, a card or bank account of the master of
// bg's organization. The credit's id is chosen now, so that the payment
// names it; the credit exists once the payment succeeds.
func (svc *Service) ReserveCreditSale(ctx context.Context, tx *ent.Tx, bg *ent.BillingGroup, name string, amount int64, methodID string) (*ent.Payment, error) {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if amount <= 0 {
		return nil, kernel.FieldError("amount", "amount must be greater than zero")
	}
	if err := svc.MoneyIn(ctx, tx, bg.OrgID, "amount", "a paid credit", amount); err != nil {
		return nil, err
	}
	master, err := tx.Account.Query().Where(account.OrgID(bg.OrgID), account.IsMaster(true)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	var m *ent.PaymentMethod
	if master != nil {
		m, err = tx.PaymentMethod.Query().Where(paymentmethod.ID(methodID), paymentmethod.AccountID(master.ID),
			paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
	}
	if master == nil || ent.IsNotFound(err) {
		return nil, &kernel.Error{Code: kernel.CodeNotFound, Field: "paymentMethodId", Message: "payment method not found among the master's"}
	}
	if err != nil {
		return nil, err
	}
	if m.Type == paymentmethod.TypeDIRECT_DEPOSIT {
		return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "paymentMethodId", Message: "a virtual account cannot be charged; use a card or bank account"}
	}
	now := svc.Clock.Now()
	return tx.Payment.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetAccountID(master.ID).SetPaymentMethodID(m.ID).
		SetCreatedAt(now).SetReceiptID(kernel.NewReceiptID(now)).SetKind(payment.KindCREDIT_PURCHASE).SetMethodLabel(kernel.Label(m)).
		SetCurrency(bg.Currency).SetAmount(amount).SetStatus(payment.StatusPENDING).SetBilledAt(now).
		SetCreditID(xid.New("cred")).SetDescription(name).Save(ctx)
}

// OpenPaidCredit opens the credit a successful purchase bought, valid 5
// years from the payment.
func (svc *Service) OpenPaidCredit(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	bg, err := tx.BillingGroup.Get(ctx, p.BillingGroupID)
	if err != nil {
		return err
	}
	_, err = svc.OpenCredit(ctx, tx, bg, CreditSpec{ID: p.CreditID, Name: p.Description, Type: "PAID", Amount: p.Amount,
		StartsAt: at, EndsAt: at.AddDate(PaidCreditYears, 0, 0), Source: "SALE"}, creditentry.KindACCUMULATION, "", at)
	return err
}

// PurchasedCredit is the credit a purchase bought: nil while the payment is
// PENDING or when it failed.
func (svc *Service) PurchasedCredit(ctx context.Context, p *ent.Payment) (*ent.Credit, error) {
	if p.Kind != payment.KindCREDIT_PURCHASE || p.Status != payment.StatusSUCCESSFUL {
		return nil, nil
	}
	return svc.Client.Credit.Get(ctx, p.CreditID)
}

// ReserveCreditRefund refunds what is left of a paid credit: in tx
// the credit becomes REFUNDED with a REFUND entry of its remainder, and a
// PENDING CREDIT_REFUND payment of that amount is written against the
// method that bought it; the caller sends it to the gateway after commit
// (Charge). What the credit already paid stays paid. A paid credit with no
// purchase payment (sold before sales were recorded) is closed without
// one: its money goes back by hand. The payment is nil when nothing is to
// be refunded through the gateway.
func (svc *Service) ReserveCreditRefund(ctx context.Context, tx *ent.Tx, creditID string) (*ent.Credit, *ent.Payment, error) {
	c, err := svc.lockCredit(ctx, tx, creditID)
	if err != nil {
		return nil, nil, err
	}
	if c.Type != credit.TypePAID {
		return nil, nil, kernel.Errorf(kernel.CodeConflict, "only paid credits are refunded; recover a free credit instead")
	}
	now := svc.Clock.Now()
	left := c.Remaining
	if c, err = svc.closeCredit(ctx, tx, c, credit.StatusREFUNDED, creditentry.KindREFUND, now); err != nil {
		return nil, nil, err
	}
	purchase, err := tx.Payment.Query().Where(payment.CreditID(c.ID), payment.KindEQ(payment.KindCREDIT_PURCHASE),
		payment.StatusEQ(payment.StatusSUCCESSFUL)).Only(ctx)
	if ent.IsNotFound(err) || left == 0 {
		return c, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := tx.Payment.Create().SetOrgID(c.OrgID).SetBillingGroupID(c.BillingGroupID).SetAccountID(purchase.AccountID).
		SetPaymentMethodID(purchase.PaymentMethodID).SetCreatedAt(now).SetReceiptID(kernel.NewReceiptID(now)).
		SetKind(payment.KindCREDIT_REFUND).SetMethodLabel(purchase.MethodLabel).SetCurrency(c.Currency).SetAmount(left).
		SetStatus(payment.StatusPENDING).SetBilledAt(now).SetCreditID(c.ID).SetDescription(purchase.Description).Save(ctx)
	return c, p, err
}

// GiveBackRefund returns to the credit what a refund the gateway refused
// took off it: a REFUND entry of the opposite sign, and the credit
// AVAILABLE again with its remainder (R-21: its amounts still equal the sum
// of its entries).
func (svc *Service) GiveBackRefund(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	c, err := svc.lockCredit(ctx, tx, p.CreditID)
	if err != nil {
		return err
	}
	if err := tx.CreditEntry.Create().SetOrgID(c.OrgID).SetCreditID(c.ID).SetKind(creditentry.KindREFUND).SetCurrency(c.Currency).
		SetAmount(p.Amount).SetOccurredAt(at).Exec(ctx); err != nil {
		return err
	}
	return tx.Credit.UpdateOne(c).SetStatus(credit.StatusAVAILABLE).AddRemaining(p.Amount).ClearClosedAt().Exec(ctx)
}
