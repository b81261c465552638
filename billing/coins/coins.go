package coins

import (
	"context"
	stdsql "database/sql"
	"errors"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/coinshare"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// MinCoinCharge is the smallest coin purchase.
const MinCoinCharge = 1000

// ReserveCoinCharge writes the PENDING payment of a coin purchase; the
// caller charges it after commit. Coins are credited when it settles.
func (svc *Service) ReserveCoinCharge(ctx context.Context, tx *ent.Tx, a *ent.Account, methodID string, amount int64) (*ent.Payment, error) {
	if amount < MinCoinCharge {
		return nil, &kernel.Error{Code: kernel.CodeAmountBelowMinimum, Field: "amount", Message: "coins are charged from 1000"}
	}
	if err := svc.MoneyIn(ctx, tx, a.OrgID, "amount", "a coin charge", amount); err != nil {
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
	now := svc.Clock.Now()
	return tx.Payment.Create().SetOrgID(a.OrgID).SetAccountID(a.ID).SetPaymentMethodID(m.ID).SetCreatedAt(now).
		SetReceiptID(kernel.NewReceiptID(now)).SetKind(payment.KindCOIN_CHARGE).SetMethodLabel(kernel.Label(m)).
		SetCurrency(svc.Policy.Currency).SetAmount(amount).SetStatus(payment.StatusPENDING).SetBilledAt(now).Save(ctx)
}

// Credit opens the coin charge a settled purchase bought.
func (svc *Service) Credit(ctx context.Context, tx *ent.Tx, p *ent.Payment, at time.Time) error {
	bonus := svc.Policy.CoinBonus(p.Amount)
	return tx.CoinCharge.Create().SetOrgID(p.OrgID).SetAccountID(p.AccountID).SetPaymentID(p.ID).SetCreatedAt(at).
		SetCurrency(p.Currency).SetCharged(p.Amount).SetBonus(bonus).SetChargedRemaining(p.Amount).
		SetBonusRemaining(bonus).Exec(ctx)
}

// Spend pays up to max of an invoice with coins: the account's own
// charges, or (shared) the charges shared with it; bonus coins first, then
// charged coins, oldest charge first. Each take is a guarded update,
// so no balance goes below zero. The uses are dated at (the request's
// or the job's instant).
func (svc *Service) Spend(ctx context.Context, tx *ent.Tx, a *ent.Account, inv *ent.Invoice, max int64, shared bool, at time.Time) (int64, error) {
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
	if svc.Postgres {
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

// PayFirst spends coins on invoices before a payment method is charged
// for them: the payer's own coins, then — for a member — the coins
// its master shared with it, oldest invoice first. It returns the
// invoices and amounts still due, and what the coins paid. Every path that
// charges a method for an invoice goes through it.
func (svc *Service) PayFirst(ctx context.Context, tx *ent.Tx, payer *ent.Account, invs []*ent.Invoice, dues []int64, at time.Time) ([]*ent.Invoice, []int64, int64, error) {
	var paid int64
	for _, shared := range []bool{false, true} {
		if shared && payer.IsMaster {
			break // a master's coins are all its own
		}
		for i, inv := range invs {
			used, err := svc.Spend(ctx, tx, payer, inv, dues[i], shared, at)
			if err != nil {
				return nil, nil, 0, err
			}
			dues[i] -= used
			paid += used
		}
	}
	invs, dues = StillDue(invs, dues)
	return invs, dues, paid, nil
}

// ShareCoins lets member accounts of the master's organization spend one of
// its coin charges; UnshareCoins takes that back.
func (svc *Service) ShareCoins(ctx context.Context, master *ent.Account, chargeID string, accountIDs []string, share bool) (*ent.CoinCharge, error) {
	var out *ent.CoinCharge
	err := kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
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
func (svc *Service) CoinWallet(ctx context.Context, acct *ent.Account) (Wallet, error) {
	cs, err := readmodel.CachedView(ctx, acct.OrgID, "coins:"+acct.ID, func() ([]*ent.CoinCharge, error) {
		return svc.Client.CoinCharge.Query().Where(coincharge.AccountID(acct.ID)).All(ctx)
	})
	var w Wallet
	for _, c := range cs {
		w.Charged += c.ChargedRemaining
		w.Bonus += c.BonusRemaining
	}
	return w, err
}

func StillDue(invs []*ent.Invoice, dues []int64) ([]*ent.Invoice, []int64) {
	var oi []*ent.Invoice
	var od []int64
	for i := range invs {
		if dues[i] > 0 {
			oi = append(oi, invs[i])
			od = append(od, dues[i])
		}
	}
	return oi, od
}
