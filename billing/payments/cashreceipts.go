package payments

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/issuedcashreceipt"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/shopspring/decimal"
)

// Cash receipts. An individual who applied gets a cash receipt for
// every successful payment — invoices and coins alike (coins spent later
// are not paid again, so nothing is receipted twice). Individuals here pay
// by card only, and the rule is for "what they pay": a platform
// whose individuals could pay by bank would, as Korean law has it, receipt
// only those cash payments (a card payment has the card slip). The receipt
// is issued in the payment's transaction, to the identifier as the account
// had it then, once per payment (payment_id is unique).

// IssueCashReceipt issues p's cash receipt if it is due one: an approval
// for a payment, a cancellation for a refund whose purchase had one.
func (svc *Service) IssueCashReceipt(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) error {
	if p.Status != payment.StatusSUCCESSFUL || p.AccountID == "" || p.Amount <= 0 {
		return nil
	}
	if p.Kind == payment.KindCREDIT_REFUND || p.Kind == payment.KindINVOICE_REFUND {
		return svc.CancelCashReceipt(ctx, tx, p, now)
	}
	a, err := tx.Account.Get(ctx, p.AccountID)
	if err != nil {
		return err
	}
	if a.MemberType != account.MemberTypeINDIVIDUAL || a.CashReceiptType == nil || a.CashReceiptIdentifier == nil {
		return nil
	}
	supply, tax := SplitVAT(p.Amount, svc.Policy.VATRate)
	c := tx.IssuedCashReceipt.Create().SetOrgID(p.OrgID).SetPaymentID(p.ID).SetAccountID(a.ID).
		SetType(*a.CashReceiptType).SetIdentifier(*a.CashReceiptIdentifier).SetCurrency(p.Currency).
		SetSupplyAmount(supply).SetTaxAmount(tax).SetIssuedAt(now)
	if p.BillingGroupID != "" {
		c.SetBillingGroupID(p.BillingGroupID)
	}
	return c.Exec(ctx)
}

// CancelCashReceipt issues, for refund p of a paid credit, the
// cancellation (취소 거래) of the cash receipt its purchase had, for the
// amount refunded, to the identifier the approval was issued to: the money
// that went back is not income the customer may deduct. Nothing
// when the purchase had no receipt.
func (svc *Service) CancelCashReceipt(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) error {
	purchases := []string{p.RefundedPaymentID} // an invoice's payment a credit note refunds
	if p.Kind == payment.KindCREDIT_REFUND {
		var err error
		purchases, err = tx.Payment.Query().Where(payment.CreditID(p.CreditID), payment.KindEQ(payment.KindCREDIT_PURCHASE)).IDs(ctx)
		if err != nil || len(purchases) == 0 {
			return err
		}
	}
	approval, err := tx.IssuedCashReceipt.Query().Where(issuedcashreceipt.KindEQ("APPROVAL"),
		issuedcashreceipt.PaymentIDIn(purchases...)).First(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	supply, tax := SplitVAT(p.Amount, svc.Policy.VATRate)
	c := tx.IssuedCashReceipt.Create().SetOrgID(p.OrgID).SetPaymentID(p.ID).SetAccountID(approval.AccountID).
		SetType(approval.Type).SetIdentifier(approval.Identifier).SetCurrency(p.Currency).
		SetSupplyAmount(supply).SetTaxAmount(tax).SetIssuedAt(now).SetKind("CANCELLATION").SetOriginalID(approval.ID)
	if approval.BillingGroupID != "" {
		c.SetBillingGroupID(approval.BillingGroupID)
	}
	return c.Exec(ctx)
}

// SplitVAT splits an amount in minor units that includes VAT into its
// supply value and tax: supply = amount ÷ (1 + rate), half up to a minor
// unit; tax the rest, so the two always add up to the amount.
func SplitVAT(amount int64, rate decimal.Decimal) (supply, tax int64) {
	supply = rating.RoundHalfUp(decimal.NewFromInt(amount).Div(decimal.NewFromInt(1).Add(rate)), 0)
	return supply, amount - supply
}

// SetCashReceipt applies for (or, with typ "", cancels) automatic cash
// receipts of an individual; the identifier is kept masked.
func (svc *Service) SetCashReceipt(ctx context.Context, a *ent.Account, typ, identifier string, consent bool) (*ent.Account, error) {
	if a.MemberType != account.MemberTypeINDIVIDUAL {
		return nil, kernel.Forbidden("cash receipts are for individuals; businesses receive tax invoices")
	}
	if typ == "" {
		return a.Update().ClearCashReceiptType().ClearCashReceiptIdentifier().Save(ctx)
	}
	if !consent {
		return nil, kernel.FieldError("consentNts", "cash receipts need consent to report the transaction to the National Tax Service")
	}
	if !digitsRe.MatchString(identifier) {
		return nil, kernel.FieldError("identifier", "the identifier is a phone, card or registration number of 6 to 20 digits")
	}
	masked := "•••• " + identifier[len(identifier)-4:]
	return a.Update().SetCashReceiptType(typ).SetCashReceiptIdentifier(masked).Save(ctx)
}
