package billing_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/accounts"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// A request's usage window (summed by month in the database, shared by
// currentUsage and billingTrend) answers exactly what reading each span
// apart answers: the current month through yesterday, whole earlier
// months, usage of today and of months before the window left out.
func TestUsageWindowMatchesDirectSums(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := db.Client
		kst := calendar.NCPPolicy().Location()
		clock := calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
		e := &billing.Engine{Client: c, Policy: calendar.NCPPolicy(), Clock: clock, Postgres: db.Dialect == "postgres"}
		org, err := c.Organization.Create().SetName("Window").SetCreatedAt(time.Date(2025, 1, 1, 0, 0, 0, 0, kst)).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bg, err := accounts.CreateBillingGroup(ctx, c, org.ID, "Main", time.Date(2025, 1, 1, 0, 0, 0, 0, kst))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (catalog.Service{Client: c}).CreateRegion(ctx, "kr-1", "Korea 1"); err != nil {
			t.Fatal(err)
		}
		for _, svc := range []string{"vm", "disk"} {
			if _, err := (catalog.Service{Client: c, Policy: calendar.NCPPolicy()}).CreateService(ctx, catalog.ServiceSpec{Code: svc, Name: svc, Kind: "STANDARD",
				Prices: []catalog.PriceSpec{{Metric: "unit", Model: "PER_UNIT", UnitPrice: "3.5"}}}); err != nil {
				t.Fatal(err)
			}
		}
		// Rollups from March (before the window) to today, two services,
		// two channels, a quantity that differs by day.
		n := 0
		for d := time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC); !d.After(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 3) {
			for i, svc := range []string{"vm", "disk"} {
				for _, ch := range []string{"", "web"} {
					n++
					if err := c.UsageDaily.Create().SetOrgID(org.ID).SetBillingGroupID(bg.ID).SetDay(d.Format("2006-01-02")).
						SetServiceCode(svc).SetRegionCode("kr-1").SetChannel(ch).SetMetric("unit").
						SetQuantityMicros(int64((d.Day()+i)*1_000_000 + n)).Exec(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		direct := func(f func(ctx context.Context) (any, error)) any {
			t.Helper()
			v, err := f(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		windowed := func(f func(ctx context.Context) (any, error)) any {
			t.Helper()
			v, err := f(rated.WithRequestMemo(ctx))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		for _, at := range []time.Time{time.Date(2026, 11, 20, 10, 0, 0, 0, kst), time.Date(2026, 11, 1, 0, 0, 0, 0, kst),
			time.Date(2026, 11, 2, 0, 0, 0, 0, kst), time.Date(2026, 10, 31, 23, 59, 59, 0, kst)} {
			clock.Set(at)
			for name, f := range map[string]func(ctx context.Context) (any, error){
				"currentUsage": func(ctx context.Context) (any, error) { return e.Rated().CurrentUsage(ctx, bg) },
				"billingTrend": func(ctx context.Context) (any, error) { return e.Rated().BillingTrend(ctx, bg, 12) },
				"usage of May": func(ctx context.Context) (any, error) {
					return e.Rated().Usage(ctx, bg, calendar.Month{Year: 2026, Month: 5}, "")
				},
				"both": func(ctx context.Context) (any, error) {
					u, err := e.Rated().CurrentUsage(ctx, bg)
					if err != nil {
						return nil, err
					}
					tr, err := e.Rated().BillingTrend(ctx, bg, 6)
					return fmt.Sprint(u, tr), err
				},
			} {
				if d, w := direct(f), windowed(f); !reflect.DeepEqual(d, w) {
					t.Fatalf("%s at %s: read apart %+v, from the window %+v", name, at, d, w)
				}
			}
		}
		clock.Set(time.Date(2026, 11, 20, 10, 0, 0, 0, kst))
		u, err := e.Rated().CurrentUsage(rated.WithRequestMemo(ctx), bg)
		if err != nil || u.Used == 0 {
			t.Fatalf("current usage %+v, %v: want some", u, err)
		}
	})
}
