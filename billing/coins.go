package billing

import (
	"context"
	stdsql "database/sql"
	"errors"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/coinshare"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
	"github.com/cloudbill/cloudbill/ent/taxinvoice"
)

// MinCoinCharge is the smallest coin purchase.
const MinCoinCharge = 1000

// ReserveCoinCharge writes the PENDING payment of a coin purchase; the
// caller charges it after commit. Coins are credited when it settles.
func (e *Engine) ReserveCoinCharge(ctx context.Context, tx *ent.Tx, a *ent.Account, methodID string, amount int64) (*ent.Payment, error) {
	if amount < MinCoinCharge {
		return nil, &kernel.Error{Code: kernel.CodeAmountBelowMinimum, Field: "amount", Message: "coins are charged from 1000"}
	}
	if err := e.CheckMoneyIn(ctx, tx, a.OrgID, "amount", "a coin charge", amount); err != nil {
		return nil, err
	}
	m, err := tx.PaymentMethod.Query().Where(paymentmethod.ID(methodID), paymentmethod.AccountID(a.ID),
		paymentmethod.StatusEQ(paymentmethod.StatusACTIVE), paymentmethod.TypeNEQ(paymentmethod.TypeDIRECT_DEPOSIT)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &kernel.Error{Code: kernel.CodeNotFound, Field: "paymentMethodId", Message: "payment method not found"}
	}
	if err != nil {
		return nil, err
	}
	now := e.Clock.Now()
	return tx.Payment.Create().SetOrgID(a.OrgID).SetAccountID(a.ID).SetPaymentMethodID(m.ID).SetCreatedAt(now).
		SetReceiptID(kernel.NewReceiptID(now)).SetKind(payment.KindCOIN_CHARGE).SetMethodLabel(kernel.Label(m)).
		SetCurrency(e.Policy.Currency).SetAmount(amount).SetStatus(payment.StatusPENDING).SetBilledAt(now).Save(ctx)
}

// creditCoins opens the coin charge a settled purchase bought.
func (e *Engine) creditCoins(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	bonus := e.Policy.CoinBonus(p.Amount)
	return tx.CoinCharge.Create().SetOrgID(p.OrgID).SetAccountID(p.AccountID).SetPaymentID(p.ID).SetCreatedAt(at).
		SetCurrency(p.Currency).SetCharged(p.Amount).SetBonus(bonus).SetChargedRemaining(p.Amount).
		SetBonusRemaining(bonus).Exec(ctx)
}

// spendCoins pays up to max of an invoice with coins: the account's own
// charges, or (shared) the charges shared with it; bonus coins first, then
// charged coins, oldest charge first. Each take is a guarded update,
// so no balance goes below zero. The uses are dated at (the request's
// or the job's instant).
func (e *Engine) spendCoins(ctx context.Context, tx *ent.Tx, a *ent.Account, inv *ent.Invoice, max int64, shared bool, at time.Time) (int64, error) {
	if max <= 0 {
		return 0, nil
	}
	q := tx.CoinCharge.Query().Where(coincharge.Or(coincharge.ChargedRemainingGT(0), coincharge.BonusRemainingGT(0)))
	if shared {
		ids, err := tx.CoinShare.Query().Where(coinshare.AccountID(a.ID)).Select(coinshare.FieldChargeID).Strings(ctx)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		q = q.Where(coincharge.IDIn(ids...))
	} else {
		q = q.Where(coincharge.AccountID(a.ID))
	}
	q = q.Order(ent.Asc(coincharge.FieldID))
	if e.Postgres {
		q = q.ForUpdate()
	}
	charges, err := q.All(ctx)
	if err != nil || len(charges) == 0 {
		return 0, err
	}
	bonus := make([]int64, len(charges))
	paid := make([]int64, len(charges))
	left := max
	for i, c := range charges { // bonus first
		bonus[i] = min(c.BonusRemaining, left)
		left -= bonus[i]
	}
	for i, c := range charges {
		paid[i] = min(c.ChargedRemaining, left)
		left -= paid[i]
	}
	used := max - left
	for i, c := range charges {
		if bonus[i]+paid[i] == 0 {
			continue
		}
		n, err := tx.CoinCharge.Update().Where(coincharge.ID(c.ID), coincharge.BonusRemainingGTE(bonus[i]),
			coincharge.ChargedRemainingGTE(paid[i])).AddBonusRemaining(-bonus[i]).AddChargedRemaining(-paid[i]).Save(ctx)
		if err != nil {
			return 0, err
		}
		if n != 1 {
			return 0, kernel.Errorf(kernel.CodeInsufficientBalance, "the coin balance changed; try again")
		}
		if err := tx.CoinUsage.Create().SetOrgID(inv.OrgID).SetCreatedAt(at).SetChargeID(c.ID).SetAccountID(a.ID).SetInvoiceID(inv.ID).
			SetCurrency(inv.Currency).SetBonusAmount(bonus[i]).SetChargedAmount(paid[i]).Exec(ctx); err != nil {
			return 0, err
		}
	}
	if used > 0 {
		if err := tx.Invoice.UpdateOneID(inv.ID).AddCoinAmount(used).Exec(ctx); err != nil {
			return 0, err
		}
		fresh, err := tx.Invoice.Get(ctx, inv.ID)
		if err != nil {
			return 0, err
		}
		if kernel.AmountDue(fresh) == 0 && fresh.Status != invoice.StatusPAID {
			if err := fresh.Update().SetStatus(invoice.StatusPAID).SetPaidAt(at).Exec(ctx); err != nil {
				return 0, err
			}
		}
	}
	return used, nil
}

// coinsFirst spends coins on invoices before a payment method is charged
// for them: the payer's own coins, then — for a member — the coins
// its master shared with it, oldest invoice first. It returns the
// invoices and amounts still due, and what the coins paid. Every path that
// charges a method for an invoice goes through it.
func (e *Engine) coinsFirst(ctx context.Context, tx *ent.Tx, payer *ent.Account, invs []*ent.Invoice, dues []int64, at time.Time) ([]*ent.Invoice, []int64, int64, error) {
	var paid int64
	for _, shared := range []bool{false, true} {
		if shared && payer.IsMaster {
			break // a master's coins are all its own
		}
		for i, inv := range invs {
			used, err := e.spendCoins(ctx, tx, payer, inv, dues[i], shared, at)
			if err != nil {
				return nil, nil, 0, err
			}
			dues[i] -= used
			paid += used
		}
	}
	invs, dues = nonZero(invs, dues)
	return invs, dues, paid, nil
}

// coinHolderBatch bounds the organizations whose invoices one query reads.
const coinHolderBatch = 500

// payWithCoins lets the coins of each organization's master pay its unpaid
// invoices. Coins bought after an invoice was issued so pay it
// before the automatic run charges a method, before it becomes
// outstanding or is charged a late fee, and lower what a direct-deposit
// customer is asked to deposit. Each billing group is paid in its own
// transaction, its invoices locked, and one that fails does not stop the
// others.
func (r *jobRun) payWithCoins(ctx context.Context) error {
	e := r.e
	holders, err := e.Client.CoinCharge.Query().Where(coincharge.Or(coincharge.ChargedRemainingGT(0), coincharge.BonusRemainingGT(0))).
		Select(coincharge.FieldAccountID).Strings(ctx)
	if err != nil || len(holders) == 0 {
		return err
	}
	masters, err := e.Client.Account.Query().Where(account.IDIn(kernel.Uniq(holders)...), account.IsMaster(true)).All(ctx)
	if err != nil {
		return err
	}
	for len(masters) > 0 {
		batch := masters[:min(coinHolderBatch, len(masters))]
		masters = masters[len(batch):]
		byOrg := map[string]*ent.Account{}
		orgs := make([]string, 0, len(batch))
		for _, m := range batch {
			byOrg[m.OrgID] = m
			orgs = append(orgs, m.OrgID)
		}
		var groups []struct {
			OrgID          string `json:"org_id"`
			BillingGroupID string `json:"billing_group_id"`
		}
		err := e.Client.Invoice.Query().Where(invoice.OrgIDIn(orgs...), invoice.StatusIn(invoice.StatusISSUED, invoice.StatusOUTSTANDING)).
			Unique(true).Order(ent.Asc(invoice.FieldBillingGroupID)).Select(invoice.FieldOrgID, invoice.FieldBillingGroupID).Scan(ctx, &groups)
		if err != nil {
			return err
		}
		for _, g := range groups {
			fail := JobFailure{Step: StepCoins, OrgID: g.OrgID, BillingGroupID: g.BillingGroupID, SubjectID: g.BillingGroupID}
			if err := r.isolate(ctx, fail, func() error { return r.payGroupWithCoins(ctx, g.BillingGroupID, byOrg[g.OrgID]) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// payGroupWithCoins spends master's coins on a group's unpaid invoices.
func (r *jobRun) payGroupWithCoins(ctx context.Context, bgID string, master *ent.Account) error {
	var paid int64
	err := kernel.WithTx(ctx, r.e.Client, func(tx *ent.Tx) error {
		invs, dues, err := r.e.dueInvoices(ctx, tx, bgID, "")
		if err != nil || len(invs) == 0 {
			return err
		}
		_, _, paid, err = r.e.coinsFirst(ctx, tx, master, invs, dues, r.at)
		return err
	})
	if err == nil && paid > 0 {
		r.res.CoinsPaid++
	}
	return err
}

// ShareCoins lets member accounts of the master's organization spend one of
// its coin charges; UnshareCoins takes that back.
func (e *Engine) ShareCoins(ctx context.Context, master *ent.Account, chargeID string, accountIDs []string, share bool) (*ent.CoinCharge, error) {
	var out *ent.CoinCharge
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		c, err := tx.CoinCharge.Query().Where(coincharge.ID(chargeID), coincharge.AccountID(master.ID)).Only(ctx)
		if ent.IsNotFound(err) {
			return &kernel.Error{Code: kernel.CodeNotFound, Field: "chargeId", Message: "coin charge not found"}
		}
		if err != nil {
			return err
		}
		if len(accountIDs) == 0 || len(accountIDs) > 100 {
			return kernel.FieldError("accountIds", "give 1 to 100 accounts")
		}
		ids := kernel.Uniq(accountIDs)
		n, err := tx.Account.Query().Where(account.IDIn(ids...), account.OrgID(master.OrgID), account.IDNEQ(master.ID)).Count(ctx)
		if err != nil {
			return err
		}
		if n != len(ids) {
			return &kernel.Error{Code: kernel.CodeNotFound, Field: "accountIds", Message: "every account must be a member of your organization"}
		}
		if share {
			for _, id := range ids {
				err := tx.CoinShare.Create().SetOrgID(master.OrgID).SetChargeID(c.ID).SetAccountID(id).
					OnConflictColumns(coinshare.FieldChargeID, coinshare.FieldAccountID).DoNothing().Exec(ctx)
				if err != nil && !errors.Is(err, stdsql.ErrNoRows) { // DoNothing on a conflict returns no row
					return err
				}
			}
		} else if _, err := tx.CoinShare.Delete().Where(coinshare.ChargeID(c.ID), coinshare.AccountIDIn(ids...)).Exec(ctx); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// Wallet is an account's coins.
type Wallet struct{ Charged, Bonus int64 }

// CoinWallet adds up what is left of an account's own charges.
func (e *Engine) CoinWallet(ctx context.Context, acct *ent.Account) (Wallet, error) {
	cs, err := readmodel.CachedView(ctx, acct.OrgID, "coins:"+acct.ID, func() ([]*ent.CoinCharge, error) {
		return e.Client.CoinCharge.Query().Where(coincharge.AccountID(acct.ID)).All(ctx)
	})
	var w Wallet
	for _, c := range cs {
		w.Charged += c.ChargedRemaining
		w.Bonus += c.BonusRemaining
	}
	return w, err
}

// IssueTaxInvoices runs the tax-invoice step alone at instant at (the demo
// seed dates each month's at its tax invoice day).
func (e *Engine) IssueTaxInvoices(ctx context.Context, at time.Time) (int, error) {
	res, err := e.runStep(ctx, at, StepTaxInvoice, (*jobRun).issueTaxInvoices)
	return res.TaxInvoices, err
}

// issueTaxInvoices records the tax invoice of each business customer's
// month on the third business day after it, and retries those that
// failed.
func (r *jobRun) issueTaxInvoices(ctx context.Context) error {
	e := r.e
	payers := e.payerCache()
	for _, f := range r.retries(StepTaxInvoice) {
		inv, err := e.Client.Invoice.Get(ctx, f.SubjectID)
		if ent.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := r.taxInvoice(ctx, inv, payers); err != nil {
			return err
		}
	}
	m := calendar.MonthOf(r.at, e.Policy.Location()).Prev()
	if r.at.Before(e.Policy.TaxInvoiceDate(m)) {
		return nil
	}
	// The month's invoices that have no tax invoice yet, in one statement:
	// this job runs every minute all month. (An invoice issued later, on a
	// retry, gets its tax invoice as it is issued: retryIssues.)
	invs, err := e.Client.Invoice.Query().Where(invoice.Month(m.String()), invoice.DeterminedAmountGT(0), kernel.Live(),
		func(s *sql.Selector) {
			t := sql.Table(taxinvoice.Table)
			s.Where(sql.NotExists(sql.Select(t.C(taxinvoice.FieldID)).From(t).
				Where(sql.ColumnsEQ(t.C(taxinvoice.FieldInvoiceID), s.C(invoice.FieldID)))))
		}).All(ctx)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if err := r.taxInvoice(ctx, inv, payers); err != nil {
			return err
		}
	}
	return nil
}

// taxInvoice issues an invoice's tax invoice if its organization is a
// business, dated its month's tax invoice day — or, issued later than that,
// its invoice's issue: it never predates the invoice.
func (r *jobRun) taxInvoice(ctx context.Context, inv *ent.Invoice, payers func(context.Context, string) (*ent.Account, *ent.PaymentMethod, error)) error {
	fail := JobFailure{Step: StepTaxInvoice, OrgID: inv.OrgID, BillingGroupID: inv.BillingGroupID, SubjectID: inv.ID, Month: inv.Month}
	return r.isolate(ctx, fail, func() error {
		if inv.DeterminedAmount <= 0 {
			return nil
		}
		master, _, err := payers(ctx, inv.OrgID)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil || master.MemberType != account.MemberTypeBUSINESS {
			return err
		}
		m, err := calendar.ParseMonth(inv.Month)
		if err != nil {
			return err
		}
		issued := r.e.Policy.TaxInvoiceDate(m)
		if inv.CreatedAt.After(issued) {
			issued = inv.CreatedAt
		}
		err = r.e.Client.TaxInvoice.Create().SetOrgID(inv.OrgID).SetInvoiceID(inv.ID).SetBillingGroupID(inv.BillingGroupID).
			SetMonth(inv.Month).SetSupplyAmount(inv.DeterminedAmount).SetTaxAmount(inv.TaxAmount).SetCurrency(inv.Currency).
			SetIssuedAt(issued).Exec(ctx)
		if kernel.IsUniqueViolationOn(err, taxinvoice.Table, taxinvoice.FieldInvoiceID) {
			return nil // another replica issued it
		}
		if err == nil {
			r.res.TaxInvoices++
		}
		return err
	})
}

// SetCashReceipt applies for (or, with typ "", cancels) automatic cash
// receipts of an individual; the identifier is kept masked.
func (e *Engine) SetCashReceipt(ctx context.Context, a *ent.Account, typ, identifier string, consent bool) (*ent.Account, error) {
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
