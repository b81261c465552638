package billing

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/price"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/ent/service"
)

var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$|^[a-z0-9]$`)

// CheckCode validates a catalog code (lower-case letters, digits, dashes).
func CheckCode(field, code string) error {
	if !codeRe.MatchString(code) {
		return kernel.FieldError(field, "%q is not a valid code (lower-case letters, digits and dashes)", kernel.Clip(code))
	}
	return nil
}

// CreateRegion adds a region to the catalog.
func CreateRegion(ctx context.Context, client *ent.Client, code, name string) (*ent.Region, error) {
	if err := CheckCode("code", code); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	r, err := client.Region.Create().SetCode(code).SetName(name).Save(ctx)
	if kernel.IsUniqueViolation(err) {
		return nil, &kernel.Error{Code: kernel.CodeConflict, Field: "code", Message: "a region with this code exists"}
	}
	if err == nil {
		InvalidateCatalog()
	}
	return r, err
}

// PriceSpec is one price of a new service.
type PriceSpec struct {
	Metric, Model, UnitPrice, Region string
}

// ServiceSpec describes a new catalog service.
type ServiceSpec struct {
	Code, Name, Category, Kind string
	Prices                     []PriceSpec
}

// CreateService adds a service and its prices to the catalog.
// Prices are in the policy's currency, within its limits.
func CreateService(ctx context.Context, client *ent.Client, pol calendar.Policy, in ServiceSpec) (*ent.Service, error) {
	if err := CheckCode("code", in.Code); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if len(in.Category) > 100 {
		return nil, kernel.FieldError("category", "category is at most 100 characters")
	}
	if len(in.Prices) == 0 || len(in.Prices) > 50 {
		return nil, kernel.FieldError("prices", "a service needs 1 to 50 prices")
	}
	var svc *ent.Service
	err := kernel.WithTx(ctx, client, func(tx *ent.Tx) error {
		c := tx.Service.Create().SetCode(in.Code).SetName(in.Name).SetKind(service.Kind(in.Kind))
		if in.Category != "" {
			c.SetCategory(in.Category)
		}
		var err error
		svc, err = c.Save(ctx)
		if kernel.IsUniqueViolation(err) {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "code", Message: "a service with this code exists"}
		}
		if err != nil {
			return err
		}
		for _, p := range in.Prices {
			if err := CheckCode("prices.metric", p.Metric); err != nil {
				return err
			}
			d, err := kernel.ParseDecimal(p.UnitPrice)
			if err != nil || d.IsNegative() || d.Exponent() < -6 {
				return kernel.FieldError("prices.unitPrice", "unit price must be a non-negative decimal with at most 6 decimal places")
			}
			if err := pol.CheckUnitPrice("prices.unitPrice", d); err != nil {
				return err
			}
			if p.Region != "" {
				ok, err := tx.Region.Query().Where(region.Code(p.Region)).Exist(ctx)
				if err != nil {
					return err
				}
				if !ok {
					return kernel.FieldError("prices.region", "unknown region %q", kernel.Clip(p.Region))
				}
			}
			err = tx.Price.Create().SetServiceID(svc.ID).SetRegionCode(p.Region).SetMetric(p.Metric).
				SetModel(price.Model(p.Model)).SetUnitPrice(d.String()).SetCurrency(pol.Currency).Exec(ctx)
			if kernel.IsUniqueViolation(err) {
				return kernel.FieldError("prices", "metric %q is priced twice for the same region", p.Metric)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		InvalidateCatalog()
	}
	return svc, err
}

// ParseDay reads "YYYY-MM-DD" as midnight UTC of that calendar day; days are
// calendar dates in the policy's zone, kept zone-free in storage.
func ParseDay(field, s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, kernel.FieldError(field, "%q is not a date (YYYY-MM-DD)", kernel.Clip(s))
	}
	return t, nil
}

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
	if err := e.beforeFirstMonth(bg, from, "startsOn"); err != nil {
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
		keys = append(keys, issueLockKey(bg.ID, m.String()))
	}
	err := kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		if err := e.waitForIssuing(ctx, tx, keys); err != nil {
			return err
		}
		last, err := tx.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.MonthGTE(from.String()), Live()).
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
		return touchRating(ctx, tx.Client(), bg.OrgID)
	})
	if err == nil {
		InvalidateViews(bg.ID)
	}
	return err
}
