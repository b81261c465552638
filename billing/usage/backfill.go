package usage

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/jobcursor"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
)

// Backfilling usage_months (issue 13). The month's amount ceiling of a
// billing group (bounds.go) is added up as usage is recorded; usage recorded
// before the version that added usage_months was not counted, so a month
// already holding usage could pass MaxMonthUsageAmount. BackfillUsageMonths
// computes each group-month's ceiling from the daily rollups — the
// quantity of each rollup at its metric's price, rounded up, plus a
// channel product's base fees once per rollup of the channel — and raises
// the stored amount to it where it is lower. That is at least what rating
// makes of the month (rating rounds each line once; base fees are charged
// once a month per channel), so the bound holds for the old usage too.
// Raising to the larger of the two, never adding, makes it idempotent;
// it runs once per database (a job_cursors marker), from `server migrate`
// and on every start until it has run (app.New).

// usageMonthsBackfill names the marker of a done backfill in job_cursors.
const usageMonthsBackfill = "usage-months-backfill"

// backfillPage is how many rollups the backfill reads at once.
const backfillPage = 5000

// BackfillUsageMonths fills usage_months from the rollups once and returns
// how many group-months it raised (0 once done).
func (s *Service) BackfillUsageMonths(ctx context.Context) (int, error) {
	done, err := s.Client.JobCursor.Get(ctx, usageMonthsBackfill)
	if err == nil && done != nil {
		return 0, nil
	}
	if err != nil && !ent.IsNotFound(err) {
		return 0, err
	}
	raised := 0
	err = kernel.WithTx(ctx, s.Client, func(tx *ent.Tx) error {
		if s.Postgres {
			// Replicas starting together backfill one after the other.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", usageMonthsBackfill); err != nil {
				return err
			}
			if again, err := tx.JobCursor.Query().Where(jobcursor.ID(usageMonthsBackfill)).Exist(ctx); err != nil || again {
				return err // another replica has done it meanwhile
			}
		}
		months, err := s.rollupCeilings(ctx, tx)
		if err != nil {
			return err
		}
		for k, amount := range months {
			n, err := s.raiseUsageMonth(ctx, tx, k, amount)
			if err != nil {
				return err
			}
			raised += n
		}
		return tx.JobCursor.Create().SetID(usageMonthsBackfill).SetRanThrough(s.Clock.Now()).OnConflictColumns("id").DoNothing().Exec(ctx)
	})
	return raised, err
}

// rollupCeilings adds up the amount ceilings of every rollup by billing
// group and month, each sum stopping one past MaxMonthUsageAmount.
func (s *Service) rollupCeilings(ctx context.Context, tx *ent.Tx) (map[monthKey]int64, error) {
	cat, err := catalog.Load(ctx, tx.Client())
	if err != nil {
		return nil, err
	}
	c := usageChecker{cat: cat, prices: rating.NewPrices(cat.Prices), ceilings: map[[4]string]kernel.CeilingPrice{}}
	currency := map[string]string{}
	bgs, err := tx.BillingGroup.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	for _, bg := range bgs {
		currency[bg.ID] = bg.Currency
	}
	out := map[monthKey]int64{}
	after := ""
	for {
		page, err := tx.UsageDaily.Query().Where(usagedaily.IDGT(after)).Order(ent.Asc(usagedaily.FieldID)).Limit(backfillPage).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range page {
			p, ok := c.prices.Find(u.ServiceCode, u.RegionCode, u.Metric)
			if !ok || p.Model != "PER_UNIT" {
				continue // a price no longer in the catalog: rating finds none either
			}
			channel := u.Channel != "" && cat.Services[u.ServiceCode].Kind == "CHANNEL"
			amount, ok := c.ceiling(currency[u.BillingGroupID], u.RegionCode, p).Amount(u.QuantityMicros, channel)
			if !ok {
				amount = kernel.MaxMonthUsageAmount + 1
			}
			k := monthKey{u.OrgID, u.BillingGroupID, u.Day[:7]}
			out[k] = addUpTo(out[k], amount, kernel.MaxMonthUsageAmount)
		}
		if len(page) < backfillPage {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// raiseUsageMonth raises a group-month's stored ceiling to at least amount
// (capped at MaxMonthUsageAmount: more usage of that month is refused).
func (s *Service) raiseUsageMonth(ctx context.Context, tx *ent.Tx, k monthKey, amount int64) (int, error) {
	amount = min(amount, kernel.MaxMonthUsageAmount)
	q := `INSERT INTO usage_months (id, org_id, billing_group_id, month, amount) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (billing_group_id, month) DO UPDATE SET amount = excluded.amount WHERE usage_months.amount < excluded.amount`
	if s.Postgres {
		q = `INSERT INTO usage_months (id, org_id, billing_group_id, month, amount) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (billing_group_id, month) DO UPDATE SET amount = excluded.amount WHERE usage_months.amount < excluded.amount`
	}
	res, err := tx.ExecContext(ctx, q, xid.New("um"), k.org, k.bg, k.month, amount)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
