package billing

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/ent/service"
)

// CreateContract starts holding a service in a region for a billing group.
// Its charges begin with the month it starts, so it cannot start in a month
// whose invoice is issued (R-51: that invoice never changes; see
// changeContracts), nor before the group's first invoiced month
// (FirstMonth: those months are never invoiced for it).
func (e *Engine) CreateContract(ctx context.Context, bg *ent.BillingGroup, serviceCode, regionCode string, starts time.Time, ends *time.Time) (*ent.Contract, error) {
	ok, err := e.Client.Service.Query().Where(service.Code(serviceCode)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, kernel.FieldError("serviceCode", "unknown service %q", kernel.Clip(serviceCode))
	}
	ok, err = e.Client.Region.Query().Where(region.Code(regionCode)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, kernel.FieldError("region", "unknown region %q", kernel.Clip(regionCode))
	}
	if ends != nil && ends.Before(starts) {
		return nil, kernel.FieldError("endsOn", "a contract cannot end before it starts")
	}
	from := calendar.MonthOf(starts, time.UTC)
	if err := e.Policy.BeforeFirstMonth(bg.CreatedAt, from, "startsOn"); err != nil {
		return nil, err
	}
	var c *ent.Contract
	err = e.changeContracts(ctx, bg, from, "startsOn", func(tx *ent.Tx) (err error) {
		c, err = tx.Contract.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).
			SetServiceCode(serviceCode).SetRegionCode(regionCode).SetStartsOn(starts).
			SetNillableEndsOn(ends).Save(ctx)
		return err
	})
	return c, err
}

// EndContract sets a contract's last day. The months from the earlier of
// its old and new last day on change, so neither may be invoiced.
func (e *Engine) EndContract(ctx context.Context, c *ent.Contract, ends time.Time) (*ent.Contract, error) {
	if ends.Before(c.StartsOn) {
		return nil, kernel.FieldError("endsOn", "a contract cannot end before it starts")
	}
	bg, err := e.Client.BillingGroup.Get(ctx, c.BillingGroupID)
	if err != nil {
		return nil, err
	}
	from := calendar.MonthOf(ends, time.UTC)
	if c.EndsOn != nil && c.EndsOn.Before(ends) {
		from = calendar.MonthOf(*c.EndsOn, time.UTC)
	}
	var out *ent.Contract
	err = e.changeContracts(ctx, bg, from, "endsOn", func(tx *ent.Tx) (err error) {
		out, err = tx.Contract.UpdateOne(c).SetEndsOn(ends).Save(ctx)
		return err
	})
	return out, err
}

// contractLockMonths bounds how many months back changeContracts waits for
// an issuing in progress: a month close catching up further than a year is
// not expected.
const contractLockMonths = 12

// changeContracts runs write, which changes the billing group's contracts
// from month from on, in a transaction, unless one of those months is
// invoiced: an issued invoice never changes, so a contract that
// would charge or stop charging in it is refused rather than silently left
// out. Issuings of those months in progress are waited for first (the
// shared side of their locks, like late usage), and the usage revision
// moves with the change, so a month close that read the group's contracts
// before this commit rates the group again (issueOne).
func (e *Engine) changeContracts(ctx context.Context, bg *ent.BillingGroup, from calendar.Month, field string, write func(tx *ent.Tx) error) error {
	cur := calendar.MonthOf(e.Clock.Now(), e.Policy.Location())
	lockFrom := from
	if oldest := cur.AddMonths(-contractLockMonths); lockFrom.Before(oldest) {
		lockFrom = oldest
	}
	var keys []string
	for m := lockFrom; !cur.Before(m); m = m.Next() {
		keys = append(keys, kernel.IssueLockKey(bg.ID, m.String()))
	}
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		if err := kernel.WaitForIssuing(ctx, tx, e.Postgres, keys); err != nil {
			return err
		}
		last, err := tx.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.MonthGTE(from.String()), kernel.Live()).
			Order(ent.Desc(invoice.FieldMonth)).First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		if last != nil {
			after, _ := calendar.ParseMonth(last.Month)
			return kernel.FieldError(field, "the invoice of %s is issued for this billing group and cannot change; "+
				"a contract can change its charges from %s on", last.Month, after.Next())
		}
		if err := write(tx); err != nil {
			return err
		}
		return kernel.TouchRating(ctx, tx.Client(), bg.OrgID)
	})
	if err == nil {
		e.Terms.Invalidate(bg.ID)
	}
	return err
}
