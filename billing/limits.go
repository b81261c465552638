package billing

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"

	"entgo.io/ent/dialect/sql"
	"github.com/shopspring/decimal"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/payment"
)

// Limits are the policy limits on the amounts mutations take (issue 14):
// every amount a caller gives is refused past its limit as BAD_USER_INPUT
// naming the input, before anything is written. They are minor units of
// the policy's currency, configured at start (server/app/config.go) with
// DefaultLimits' values unless set.
//
// Amounts without a limit of their own here are bounded by what they
// move: a credit transfer by the credit's remaining amount, a percentage
// (discounts, discount coupons) by 100. Usage quantities are bounded
// where usage is recorded (usage.go).
type Limits struct {
	// MoneyIn bounds one payment a customer makes to put money in: a coin
	// charge, the purchase of a paid credit, a (sandbox) deposit.
	MoneyIn int64
	// DailyMoneyIn bounds what one organization puts in per calendar day
	// of the policy's time zone: its coin charges, paid credit purchases
	// and deposits of the day together, failed payments aside. It is
	// counted in the database under a lock on the organization, so it
	// holds across replicas and concurrent requests.
	DailyMoneyIn int64
	// Credit bounds a free credit granted (grantCredit) and the credit a
	// coupon grants (createCoupon).
	Credit int64
	// UnitPrice bounds a catalog price: the price of one unit (PER_UNIT)
	// or of a month (FLAT_MONTHLY).
	UnitPrice int64
}

// DefaultLimits are a Korean cloud's (KRW): 10,000,000 a payment and
// 30,000,000 a day of money in per organization, credits of at most
// 100,000,000, unit prices of at most 100,000,000.
func DefaultLimits() Limits {
	return Limits{MoneyIn: 10_000_000, DailyMoneyIn: 30_000_000, Credit: 100_000_000, UnitPrice: 100_000_000}
}

// CheckAmount refuses amount (minor units of currency) above limit,
// naming field; what says what the amount is ("a coin charge").
func CheckAmount(field, what string, amount, limit int64, currency string) error {
	if amount > limit {
		return kernel.FieldError(field, "%s is at most %s %s (policy limit)", what, kernel.FormatMinor(limit, currency), currency)
	}
	return nil
}

// checkUnitPrice refuses a unit price above the policy's limit.
func (p Policy) checkUnitPrice(field string, d decimal.Decimal) error {
	digits := kernel.CurrencyDigits[p.Currency]
	if d.Shift(digits).GreaterThan(decimal.NewFromInt(p.Limits.UnitPrice)) {
		return kernel.FieldError(field, "a unit price is at most %s %s (policy limit)", kernel.FormatMinor(p.Limits.UnitPrice, p.Currency), p.Currency)
	}
	return nil
}

// moneyInKinds are the payments that put a customer's money in.
var moneyInKinds = []payment.Kind{payment.KindCOIN_CHARGE, payment.KindCREDIT_PURCHASE, payment.KindDEPOSIT}

// CheckMoneyIn refuses, in tx, a payment of amount that orgID would put
// in above the per-payment limit or above what remains of today's limit
// (field names the input; what says what is paid). On PostgreSQL the
// organization's row is locked first, so concurrent payments of one
// organization are counted one after the other; SQLite's transactions are
// serialised already. The payment must be written in the same tx.
func (e *Engine) CheckMoneyIn(ctx context.Context, tx *ent.Tx, orgID, field, what string, amount int64) error {
	cur := e.Policy.Currency
	if err := CheckAmount(field, what, amount, e.Policy.Limits.MoneyIn, cur); err != nil {
		return err
	}
	if e.Postgres {
		if _, err := tx.Organization.Query().Where(organization.ID(orgID)).ForUpdate().Only(ctx); err != nil {
			return err
		}
	}
	today, err := e.moneyInOn(ctx, tx, orgID, e.Clock.Now())
	if err != nil {
		return err
	}
	limit := e.Policy.Limits.DailyMoneyIn
	if today+amount > limit {
		left := max(0, limit-today)
		return kernel.FieldError(field, "an organization puts in at most %s %s a day (%s: coin charges, paid credits and deposits together); %s %s remain today",
			kernel.FormatMinor(limit, cur), cur, e.Policy.TimeZone, kernel.FormatMinor(left, cur), cur)
	}
	return nil
}

// CheckSandboxDeposit refuses a simulated deposit (simulateDeposit) of
// amount into orgID's virtual account past the money-in limits, as a
// charge would be. The deposit itself is recorded later, by the gateway's
// notification, so two simulated deposits at once may both pass: the
// sandbox is for operators' tests. A real deposit is never refused — the
// money is at the bank already — but counts toward the day.
func (e *Engine) CheckSandboxDeposit(ctx context.Context, orgID string, amount int64) error {
	return kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		return e.CheckMoneyIn(ctx, tx, orgID, "amount", "a deposit", amount)
	})
}

// moneyInOn sums the money-in payments of orgID made on at's day, failed
// ones aside.
func (e *Engine) moneyInOn(ctx context.Context, tx *ent.Tx, orgID string, at time.Time) (int64, error) {
	from, to := e.Policy.dayOf(at)
	var rows []struct {
		Total int64 `json:"total"`
	}
	err := tx.Payment.Query().Where(payment.OrgID(orgID), payment.KindIn(moneyInKinds...), payment.StatusNEQ(payment.StatusFAILED),
		payment.CreatedAtGTE(from), payment.CreatedAtLT(to)).
		Aggregate(func(s *sql.Selector) string {
			return "COALESCE(" + sql.Sum(s.C(payment.FieldAmount)) + ", 0) AS total"
		}).Scan(ctx, &rows)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Total, nil
}

// dayOf is the policy's calendar day holding at: [from, to).
func (p Policy) dayOf(at time.Time) (from, to time.Time) {
	t := at.In(p.Location())
	from = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return from, from.AddDate(0, 0, 1)
}
