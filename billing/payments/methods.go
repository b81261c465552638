package payments

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/gateway"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// AllowedMethodTypes is the eligibility matrix of R-33: what an account may
// register (DIRECT_DEPOSIT only by changing from an automatic method).
func AllowedMethodTypes(a *ent.Account) []string {
	business := a.MemberType == account.MemberTypeBUSINESS
	switch {
	case accounts.Domestic(a) && business:
		return []string{"CARD", "BANK_TRANSFER", "DIRECT_DEPOSIT"}
	case accounts.Domestic(a):
		return []string{"CARD"}
	case business && a.BusinessCertified:
		return []string{"CARD", "DIRECT_DEPOSIT"}
	}
	return []string{"CARD"}
}

func allowed(a *ent.Account, typ string) bool {
	for _, t := range AllowedMethodTypes(a) {
		if t == typ {
			return true
		}
	}
	return false
}

// MethodRequest is a registration (R-33..R-37).
type MethodRequest struct {
	Type                              string // CARD | BANK_TRANSFER
	CardToken                         string
	BankCode, AccountNumber, Holder   string
	Corporate                         bool
	ConsentPaymentInfo, ConsentRecurr bool
	// ByPartner: registered by a partner token, which never changes what
	// pays: the method is never made the automatic one by itself.
	ByPartner bool
}

var digitsRe = regexp.MustCompile(`^[0-9]{6,20}$`)

// RegisterMethod registers a card or bank account for an account. Only the
// gateway's token, brand and last four digits are kept.
func (svc *Service) RegisterMethod(ctx context.Context, gw gateway.Gateway, a *ent.Account, in MethodRequest) (*ent.PaymentMethod, error) {
	if !in.ConsentPaymentInfo {
		return nil, kernel.FieldError("consentPaymentInfo", "registration requires consent to the collection of payment information")
	}
	if !in.ConsentRecurr {
		return nil, kernel.FieldError("consentRecurring", "registration requires consent to recurring payment")
	}
	if in.Type != "CARD" && in.Type != "BANK_TRANSFER" {
		return nil, kernel.FieldError("type", "register a CARD or a BANK_TRANSFER account; direct deposit is a change from one of them")
	}
	if !allowed(a, in.Type) {
		return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "type",
			Message: "this account may not register " + in.Type + " (R-33)"}
	}
	if in.Corporate {
		if a.MemberType != account.MemberTypeBUSINESS {
			return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "corporate", Message: "corporate methods are for business accounts"}
		}
		org, err := svc.Client.Organization.Query().Where(organization.ID(a.OrgID)).Only(ctx)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(strings.TrimSpace(in.Holder), strings.TrimSpace(org.Name)) {
			return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "holderName",
				Message: "a corporate card must be in the corporation's name (" + org.Name + ")"}
		}
	}
	now := svc.Clock.Now()
	// What the gateway said, written inside the transaction below.
	var f struct{ typ, brand, last4, bank, token string }
	switch in.Type {
	case "CARD":
		if in.CardToken == "" || len(in.CardToken) > 200 {
			return nil, kernel.FieldError("cardToken", "give the card token from the payment SDK")
		}
		card, err := gw.Card(ctx, in.CardToken)
		if err != nil {
			return nil, &kernel.Error{Code: kernel.CodePaymentDeclined, Field: "cardToken", Message: "the gateway refused the card"}
		}
		if !accounts.Domestic(a) && !card.ThreeDSecure {
			return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "cardToken",
				Message: "international accounts may register only 3-D Secure cards (VISA, Mastercard, JCB, American Express)"}
		}
		f.typ, f.brand, f.last4, f.token = "CARD", card.Brand, card.Last4, card.Token
	case "BANK_TRANSFER":
		if !svc.Policy.InBankHours(now) {
			return nil, &kernel.Error{Code: kernel.CodeRegistrationHours, Field: "type",
				Message: "bank accounts cannot be registered between 23:00 and 09:00 (KST)"}
		}
		if !accounts.ValidBankCode(in.BankCode) {
			return nil, kernel.FieldError("bankAccount.bankCode", "%q is not the KFTC code of a bank that takes automatic transfers (such as 004)", kernel.Clip(in.BankCode))
		}
		if !digitsRe.MatchString(in.AccountNumber) {
			return nil, kernel.FieldError("bankAccount.accountNumber", "an account number is 6 to 20 digits")
		}
		if strings.TrimSpace(in.Holder) == "" || len(in.Holder) > 100 {
			return nil, kernel.FieldError("bankAccount.holderName", "give the account holder's name")
		}
		tok, err := gw.BankAccount(ctx, in.BankCode, in.AccountNumber, in.Holder)
		if err != nil {
			return nil, &kernel.Error{Code: kernel.CodePaymentDeclined, Field: "bankAccount", Message: "the bank account could not be verified"}
		}
		f.typ, f.bank, f.last4, f.token = "BANK_TRANSFER", in.BankCode, in.AccountNumber[len(in.AccountNumber)-4:], tok
	}
	var pm *ent.PaymentMethod
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		// The first automatic method becomes the default, unless a
		// partner registered it.
		has, err := tx.PaymentMethod.Query().Where(paymentmethod.AccountID(a.ID), paymentmethod.IsDefault(true),
			paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Exist(ctx)
		if err != nil {
			return err
		}
		pm, err = tx.PaymentMethod.Create().SetOrgID(a.OrgID).SetAccountID(a.ID).SetCorporate(in.Corporate).
			SetHolderName(in.Holder).SetConsentedAt(now).SetType(paymentmethod.Type(f.typ)).SetBrand(f.brand).
			SetLast4(f.last4).SetBankCode(f.bank).SetGatewayToken(f.token).SetIsDefault(!has && !in.ByPartner).Save(ctx)
		return err
	})
	return pm, err
}

// ChangeToMethod makes a registered method the automatic one.
func (svc *Service) ChangeToMethod(ctx context.Context, a *ent.Account, methodID string) (*ent.PaymentMethod, error) {
	var pm *ent.PaymentMethod
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		m, err := tx.PaymentMethod.Query().Where(paymentmethod.ID(methodID), paymentmethod.AccountID(a.ID),
			paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
		if ent.IsNotFound(err) {
			return &kernel.Error{Code: kernel.CodeNotFound, Field: "paymentMethodId", Message: "payment method not found"}
		}
		if err != nil {
			return err
		}
		if _, err := tx.PaymentMethod.Update().Where(paymentmethod.AccountID(a.ID)).SetIsDefault(false).Save(ctx); err != nil {
			return err
		}
		pm, err = m.Update().SetIsDefault(true).Save(ctx)
		return err
	})
	return pm, err
}

// ChangeToDirectDeposit opens a virtual account and makes direct deposit
// the way this account pays. It is reachable only from an already
// registered automatic method, and only for domestic businesses and
// certified international businesses.
func (svc *Service) ChangeToDirectDeposit(ctx context.Context, gw gateway.Gateway, a *ent.Account) (*ent.PaymentMethod, error) {
	if !allowed(a, "DIRECT_DEPOSIT") {
		return nil, &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "type", Message: "this account may not pay by direct deposit (R-33)"}
	}
	var pm *ent.PaymentMethod
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		cur, err := tx.PaymentMethod.Query().Where(paymentmethod.AccountID(a.ID), paymentmethod.IsDefault(true),
			paymentmethod.StatusEQ(paymentmethod.StatusACTIVE)).Only(ctx)
		if ent.IsNotFound(err) {
			return &kernel.Error{Code: kernel.CodePaymentMethodNotAllowed, Field: "type",
				Message: "register an automatic method (card or bank account) first; direct deposit is a change from it"}
		}
		if err != nil {
			return err
		}
		if cur.Type == paymentmethod.TypeDIRECT_DEPOSIT {
			pm = cur
			return nil
		}
		bank, number, holder, err := gw.VirtualAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		if err := cur.Update().SetIsDefault(false).Exec(ctx); err != nil {
			return err
		}
		pm, err = tx.PaymentMethod.Create().SetOrgID(a.OrgID).SetAccountID(a.ID).SetType(paymentmethod.TypeDIRECT_DEPOSIT).
			SetBankCode(bank).SetLast4(number[len(number)-4:]).SetAccountNumber(number).SetHolderName(holder).
			SetGatewayToken("va:" + number).SetIsDefault(true).SetConsentedAt(svc.Clock.Now()).Save(ctx)
		return err
	})
	return pm, err
}

// VirtualAccountDue is what a direct-deposit method's organization owes and
// by when: the sum of its billing groups' unpaid invoices, and
// the instant the oldest of them turns outstanding if no deposit covers it
// (nil when nothing is due). A deposit pays the oldest invoices first.
func (svc *Service) VirtualAccountDue(ctx context.Context, m *ent.PaymentMethod) (amount int64, currency string, due *time.Time, err error) {
	currency = svc.Policy.Currency
	invs, err := svc.Client.Invoice.Query().Where(invoice.OrgID(m.OrgID),
		invoice.StatusIn(invoice.StatusISSUED, invoice.StatusOUTSTANDING)).Order(ent.Asc(invoice.FieldMonth)).All(ctx)
	if err != nil {
		return 0, "", nil, err
	}
	for _, inv := range invs {
		d := kernel.AmountDue(inv)
		if d <= 0 {
			continue
		}
		amount, currency = amount+d, inv.Currency
		if due == nil {
			mo, err := calendar.ParseMonth(inv.Month)
			if err != nil {
				return 0, "", nil, err
			}
			t := svc.Policy.OutstandingFrom(mo, true)
			due = &t
		}
	}
	return amount, currency, due, nil
}
