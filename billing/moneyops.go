package billing

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/coins"
	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/payment"
)

// The money-moving use cases of the API (R-50..R-53), end to end: each
// runs its reservation at most once per caller and idempotency key, in one
// transaction, and only the call that reserved a payment sends it to the
// gateway — a replay (same key, same input) reads what the first call did.
// A resolver checks who may ask, parses the input and calls one of these.

// reserveAndCharge is the shape of every payment a customer starts: the
// payment is reserved once per key (reserve writes it PENDING in tx), then
// charged by the call that reserved it.
func (e *Engine) reserveAndCharge(ctx context.Context, req kernel.Request, orgID, operation string,
	reserve func(tx *ent.Tx) (*ent.Payment, error)) (*ent.Payment, error) {
	payID, fresh, err := kernel.Once(ctx, e.Client, req, orgID, operation, func(tx *ent.Tx) (string, error) {
		pay, err := reserve(tx)
		if err != nil {
			return "", err
		}
		return pay.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Payments().ChargeIfFresh(ctx, fresh, payID)
}

// PayInstantly pays a billing group's unpaid invoices now:
// the payer's coins first, the rest by the payment method. A declined
// charge is a FAILED payment, not an error.
func (e *Engine) PayInstantly(ctx context.Context, req kernel.Request, bg *ent.BillingGroup, payer *ent.Account, methodID string) (*ent.Payment, error) {
	return e.reserveAndCharge(ctx, req, bg.OrgID, "payInstantly", func(tx *ent.Tx) (*ent.Payment, error) {
		return e.Payments().ReserveInstant(ctx, tx, bg, payer, methodID)
	})
}

// CoinChargeResult is a coin charge as its payer sees it: the payment, the
// charge it bought (nil unless the payment succeeded) and the wallet after.
type CoinChargeResult struct {
	Payment *ent.Payment
	Charge  *ent.CoinCharge
	Wallet  coins.Wallet
}

// ChargeCoins buys coins with a payment method.
func (e *Engine) ChargeCoins(ctx context.Context, req kernel.Request, acct *ent.Account, methodID string, amount int64) (CoinChargeResult, error) {
	pay, err := e.reserveAndCharge(ctx, req, acct.OrgID, "chargeCoins", func(tx *ent.Tx) (*ent.Payment, error) {
		return e.Coins().ReserveCoinCharge(ctx, tx, acct, methodID, amount)
	})
	if err != nil {
		return CoinChargeResult{}, err
	}
	out := CoinChargeResult{Payment: pay}
	if c, err := e.Client.CoinCharge.Query().Where(coincharge.PaymentID(pay.ID)).Only(ctx); err == nil {
		out.Charge = c
	} else if !ent.IsNotFound(err) {
		return CoinChargeResult{}, err
	}
	out.Wallet, err = e.Coins().CoinWallet(ctx, acct)
	return out, err
}

// SellPaidCredit sells a paid credit: the purchase is a
// payment in its own right, and the credit it bought opens once the
// payment succeeded. A declined or unanswered charge is an error naming
// the receipt (PAYMENT_DECLINED, PAYMENT_PENDING: ask again with the same
// key once it settles); no credit is sold.
func (e *Engine) SellPaidCredit(ctx context.Context, req kernel.Request, bg *ent.BillingGroup, name string, amount int64, methodID string) (*ent.Payment, *ent.Credit, error) {
	pay, err := e.reserveAndCharge(ctx, req, bg.OrgID, "sellPaidCredit", func(tx *ent.Tx) (*ent.Payment, error) {
		return e.Credits().ReserveCreditSale(ctx, tx, bg, name, amount, methodID)
	})
	if err != nil {
		return nil, nil, err
	}
	switch pay.Status {
	case payment.StatusFAILED:
		return nil, nil, &kernel.Error{Code: kernel.CodePaymentDeclined, Field: "paymentMethodId",
			Message: "the payment was declined: " + pay.FailureReason + " (receipt " + pay.ReceiptID + "); no credit was sold"}
	case payment.StatusPENDING:
		return nil, nil, kernel.Errorf(kernel.CodePaymentPending, "the gateway has not answered payment %s yet; the credit opens once it settles: ask again with the same idempotencyKey", pay.ReceiptID)
	}
	c, err := e.Credits().PurchasedCredit(ctx, pay)
	return pay, c, err
}

// RefundPaidCredit refunds what is left of a paid credit. A refund
// the gateway refused gave the remainder back to the credit: both are
// answered, the payment FAILED. The payment is nil when nothing went
// through the gateway.
func (e *Engine) RefundPaidCredit(ctx context.Context, req kernel.Request, creditID string) (*ent.Credit, *ent.Payment, error) {
	c, err := e.Client.Credit.Get(ctx, creditID)
	if ent.IsNotFound(err) {
		return nil, nil, kernel.NotFound("credit")
	}
	if err != nil {
		return nil, nil, err
	}
	type reserved struct {
		CreditID  string `json:"creditId"`
		PaymentID string `json:"paymentId"`
	}
	res, fresh, err := kernel.Once(ctx, e.Client, req, c.OrgID, "refundPaidCredit", func(tx *ent.Tx) (reserved, error) {
		c, pay, err := e.Credits().ReserveCreditRefund(ctx, tx, creditID)
		if err != nil {
			return reserved{}, err
		}
		out := reserved{CreditID: c.ID}
		if pay != nil {
			out.PaymentID = pay.ID
		}
		return out, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var pay *ent.Payment
	if res.PaymentID != "" {
		if pay, err = e.Payments().ChargeIfFresh(ctx, fresh, res.PaymentID); err != nil {
			return nil, nil, err
		}
	}
	c, err = e.Client.Credit.Get(ctx, res.CreditID)
	return c, pay, err
}

// RecoverCreditOnce takes back what is left of a free credit, once
// per key.
func (e *Engine) RecoverCreditOnce(ctx context.Context, req kernel.Request, creditID string) (*ent.Credit, error) {
	src, err := e.Client.Credit.Get(ctx, creditID)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("credit")
	}
	if err != nil {
		return nil, err
	}
	id, _, err := kernel.Once(ctx, e.Client, req, src.OrgID, "recoverCredit", func(tx *ent.Tx) (string, error) {
		c, err := e.Credits().RecoverCreditTx(ctx, tx, creditID)
		if err != nil {
			return "", err
		}
		return c.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Client.Credit.Get(ctx, id)
}

// TransferCreditOnce moves part of a free credit to another billing group
// of the organization, once per key, and answers both credits.
func (e *Engine) TransferCreditOnce(ctx context.Context, req kernel.Request, orgID, creditID, toBG string, amount int64) (from, to *ent.Credit, err error) {
	res, _, err := kernel.Once(ctx, e.Client, req, orgID, "transferCredit", func(tx *ent.Tx) (credits.TransferResult, error) {
		return e.Credits().TransferCredit(ctx, tx, creditID, toBG, amount, func(*ent.Credit) error { return nil })
	})
	if err != nil {
		return nil, nil, err
	}
	if from, err = e.Client.Credit.Get(ctx, res.FromID); err != nil {
		return nil, nil, err
	}
	to, err = e.Client.Credit.Get(ctx, res.ToID)
	return from, to, err
}

// RegisterCoupon redeems a coupon code for a billing group, once
// per key: a free credit or a discount, one of them nil. The key is bound
// to the group and the normalised code, so " demo-2026 " and "DEMO-2026"
// are one request.
func (e *Engine) RegisterCoupon(ctx context.Context, req kernel.Request, bg *ent.BillingGroup, code string) (*ent.Credit, *ent.Discount, error) {
	req.Input = []string{bg.ID, coupons.NormalizeCouponCode(code)}
	red, _, err := kernel.Once(ctx, e.Client, req, bg.OrgID, "registerCoupon", func(tx *ent.Tx) (coupons.Redemption, error) {
		return e.Coupons().RedeemCoupon(ctx, tx, bg, code)
	})
	if err != nil {
		return nil, nil, err
	}
	var c *ent.Credit
	var d *ent.Discount
	if red.CreditID != "" {
		if c, err = e.Client.Credit.Get(ctx, red.CreditID); err != nil {
			return nil, nil, err
		}
	}
	if red.DiscountID != "" {
		if d, err = e.Client.Discount.Get(ctx, red.DiscountID); err != nil {
			return nil, nil, err
		}
	}
	return c, d, nil
}
