package payments

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/payment"
)

// moneyInKinds are the payments that put a customer's money in.
var moneyInKinds = []payment.Kind{payment.KindCOIN_CHARGE, payment.KindCREDIT_PURCHASE, payment.KindDEPOSIT}

// CheckMoneyIn refuses, in tx, a payment of amount that orgID would put
// in above the per-payment limit or above what remains of today's limit
// (field names the input; what says what is paid). On PostgreSQL the
// organization's row is locked first, so concurrent payments of one
// organization are counted one after the other; SQLite's transactions are
// serialised already. The payment must be written in the same tx.
func (svc *Service) CheckMoneyIn(ctx context.Context, tx *ent.Tx, orgID, field, what string, amount int64) error {
	cur := svc.Policy.Currency
	if err := kernel.CheckAmount(field, what, amount, svc.Policy.Limits.MoneyIn, cur); err != nil {
		return err
	}
	if svc.Postgres {
		if _, err := tx.Organization.Query().Where(organization.ID(orgID)).ForUpdate().Only(ctx); err != nil {
			return err
		}
	}
	today, err := svc.moneyInOn(ctx, tx, orgID, svc.Clock.Now())
	if err != nil {
		return err
	}
	limit := svc.Policy.Limits.DailyMoneyIn
	if today+amount > limit {
		left := max(0, limit-today)
		return kernel.FieldError(field, "an organization puts in at most %s %s a day (%s: coin charges, paid credits and deposits together); %s %s remain today",
			kernel.FormatMinor(limit, cur), cur, svc.Policy.TimeZone, kernel.FormatMinor(left, cur), cur)
	}
	return nil
}

// CheckSandboxDeposit refuses a simulated deposit (simulateDeposit) of
// amount into orgID's virtual account past the money-in limits, as a
// charge would be. The deposit itself is recorded later, by the gateway's
// notification, so two simulated deposits at once may both pass: the
// sandbox is for operators' tests. A real deposit is never refused — the
// money is at the bank already — but counts toward the day.
func (svc *Service) CheckSandboxDeposit(ctx context.Context, orgID string, amount int64) error {
	return kernel.WithTx(ctx, svc.Client, func(tx *ent.Tx) error {
		return svc.CheckMoneyIn(ctx, tx, orgID, "amount", "a deposit", amount)
	})
}

// moneyInOn sums the money-in payments of orgID made on at's day, failed
// ones aside.
func (svc *Service) moneyInOn(ctx context.Context, tx *ent.Tx, orgID string, at time.Time) (int64, error) {
	from, to := svc.Policy.DayOf(at)
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
