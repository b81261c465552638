package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/payments"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
	"github.com/cloudbill/cloudbill/graph/model"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// checkOwnAccount: an account's wallet and methods are for itself, its
// organization's master, and operators.
func (r *Resolver) checkOwnAccount(ctx context.Context, a *ent.Account) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if p.Operator || (!p.Partner && (p.AccountID == a.ID || (p.Master && p.OrgID == a.OrgID))) {
		return nil
	}
	if p.OrgID != a.OrgID {
		return kernel.NotFound("account")
	}
	return kernel.Forbidden("only the account itself and its master see this")
}

// methodOwner is whose payment methods a caller manages: its own account
// (the master or a billing manager), or for a partner token with the
// payment_methods:write scope the organization's master account.
func (r *Resolver) methodOwner(ctx context.Context) (*ent.Account, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Partner && p.HasScope(auth.ScopePaymentMethodWrite):
		return r.Client.Account.Query().Where(account.OrgID(p.OrgID), account.IsMaster(true)).First(ctx)
	case p.Partner || p.AccountID == "":
		return nil, kernel.Forbidden("managing payment methods needs a master or billing manager account, or a partner token with payment_methods:write")
	}
	bm := p.Master
	for _, g := range p.Grants {
		bm = bm || g == auth.RoleBillingManager
	}
	if !bm {
		return nil, kernel.Forbidden("only the master and billing managers manage payment methods")
	}
	return r.Client.Account.Get(ctx, p.AccountID)
}

// errPartnerChangesWhatPays: a partner registers payment methods for the
// organization's master but never decides which one pays.
var errPartnerChangesWhatPays = kernel.Forbidden("partners may register payment methods but never change which one pays (R-34)")

// declined adds a PAYMENT_DECLINED error beside a failed payment, which the
// payload still returns so the recorded attempt is visible.
func declined(ctx context.Context, p *ent.Payment) {
	if p != nil && p.Status == payment.StatusFAILED {
		graphql.AddError(ctx, &gqlerror.Error{Message: "the payment was declined: " + p.FailureReason,
			Path: graphql.GetPath(ctx), Extensions: map[string]any{"code": kernel.CodePaymentDeclined, "reason": p.FailureReason}})
	}
}

func (r *Resolver) shareCoins(ctx context.Context, in model.ShareCoinsInput, share bool) (*model.ShareCoinsPayload, error) {
	p, err := requireMaster(ctx)
	if err != nil {
		return nil, err
	}
	master, err := r.Client.Account.Get(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	c, err := r.engine().Coins().ShareCoins(ctx, master, in.ChargeID, in.AccountIds, share)
	if err != nil {
		return nil, err
	}
	return &model.ShareCoinsPayload{Charge: c}, nil
}

// period reads "YYYY" or "YYYY-MM" (default: this year) as [from, to).
func (r *Resolver) period(p *string) (time.Time, time.Time, error) {
	loc := r.Policy.Location()
	if p == nil || *p == "" {
		y := r.Clock.Now().In(loc).Year()
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc), nil
	}
	from, to, err := parsePeriod(*p, loc)
	if err == nil && r.Clock.Now().Before(from) {
		// Like every view of a month, a period that has not begun is
		// refused rather than answered with an empty list.
		err = kernel.FieldError("period", "%s has not begun", *p)
	}
	return from, to, err
}

func parsePeriod(p string, loc *time.Location) (time.Time, time.Time, error) {
	if m, err := calendar.ParseMonth(p); err == nil {
		return m.Start(loc), m.End(loc), nil
	}
	if y, err := strconv.Atoi(p); err == nil && len(p) == 4 {
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc), nil
	}
	return time.Time{}, time.Time{}, kernel.FieldError("period", "a period is a year (2026) or a month (2026-11)")
}

func (r *Resolver) paymentInvoices(ctx context.Context, p *ent.Payment) ([]*ent.Invoice, error) {
	ids, err := r.Client.PaymentAllocation.Query().Where(paymentallocation.PaymentID(p.ID)).
		Select(paymentallocation.FieldInvoiceID).Strings(ctx)
	if err != nil || len(ids) == 0 {
		return []*ent.Invoice{}, err
	}
	return r.Client.Invoice.Query().Where(invoice.IDIn(ids...)).Order(ent.Asc(invoice.FieldMonth)).All(ctx)
}

type paymentTotals struct{ UsageAmount, CreditAmount, DeterminedAmount, TaxAmount int64 }

// paymentTotals adds up the invoices a payment paid (R-40's columns).
func (r *Resolver) paymentTotals(ctx context.Context, p *ent.Payment) (paymentTotals, error) {
	invs, err := r.paymentInvoices(ctx, p)
	var t paymentTotals
	for _, inv := range invs {
		t.UsageAmount += inv.UsageAmount
		t.CreditAmount += inv.CreditAmount
		t.DeterminedAmount += inv.DeterminedAmount
		t.TaxAmount += inv.TaxAmount
	}
	return t, err
}

// sendDeposit makes the sandbox gateway send a signed deposit notification
// to this server's webhook, as a real gateway would.
func (r *Resolver) sendDeposit(ctx context.Context, virtualAccount, depositID string, amount int64) (*ent.Payment, error) {
	body, _ := json.Marshal(map[string]any{"type": "deposit", "virtualAccount": virtualAccount,
		"amount": strconv.FormatInt(amount, 10), "depositId": depositID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.PublicURL+"/webhooks/gateway", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gateway-Signature", r.Sandbox.SignNotification(body))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("sending the deposit notification: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		PaymentID string `json:"paymentId"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil, fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return r.Client.Payment.Get(ctx, out.PaymentID)
}

// methodRequest is what registerPaymentMethod asks for. A card takes a
// card token and no bank account, a bank account no card token: an input
// the type would ignore is refused rather than dropped.
func methodRequest(ctx context.Context, input model.RegisterPaymentMethodInput) (payments.MethodRequest, error) {
	in := payments.MethodRequest{Type: string(input.Type), CardToken: deref(input.CardToken), Holder: deref(input.HolderName),
		ConsentPaymentInfo: input.ConsentPaymentInfo, ConsentRecurr: input.ConsentRecurring, ByPartner: auth.FromContext(ctx).Partner}
	if input.HolderName != nil && (strings.TrimSpace(*input.HolderName) == "" || len(*input.HolderName) > 100) {
		return in, kernel.FieldError("holderName", "a holder name is 1 to 100 characters")
	}
	if input.Corporate != nil {
		in.Corporate = *input.Corporate
	}
	switch {
	case input.Type == model.RegisterPaymentMethodTypeCard && input.BankAccount != nil:
		return in, kernel.FieldError("bankAccount", "a card takes no bankAccount")
	case input.Type == model.RegisterPaymentMethodTypeBankTransfer && input.CardToken != nil:
		return in, kernel.FieldError("cardToken", "a bank account takes no cardToken")
	}
	if input.BankAccount != nil {
		in.BankCode, in.AccountNumber, in.Holder = input.BankAccount.BankCode, input.BankAccount.AccountNumber, input.BankAccount.HolderName
	}
	return in, nil
}
