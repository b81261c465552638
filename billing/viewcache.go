package billing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
)

// Views (usage reports, the billing trend) read through these caches so a
// dashboard costs a few statements. Invoicing never does: it reads inside
// its own transaction.
//
//   - Per request: a billing group's daily usage for the trend's window is
//     read once and shared by currentUsage and billingTrend.
//   - Per replica, for viewCacheTTL: contracts and discounts, which only
//     operators change; a change on this replica clears them at once. A
//     query that carries its organization's revision reads them (and the
//     rated usage) exactly instead, from the revision cache (orgcache.go).

const viewCacheTTL = 5 * time.Second

type requestMemo struct {
	mu   sync.Mutex
	days map[string]*usageWindow // by billing group
}

type usageWindow struct {
	from string // first day loaded, YYYY-MM-DD
	rows []dayRow
}

type dayRow struct {
	Day     string `json:"day"`
	Service string `json:"service_code"`
	Region  string `json:"region_code"`
	Channel string `json:"channel"`
	Metric  string `json:"metric"`
	Micros  int64  `json:"micros"`
}

type memoKey struct{}

// WithRequestMemo gives a request its view memo.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &requestMemo{days: map[string]*usageWindow{}})
}

// viewUsage returns the usage sums of days 1..lastDay of month m, from the
// request's window when there is one (loading up to 6 months back at once).
func (e *Engine) viewUsage(ctx context.Context, bgID string, m Month, lastDay int) ([]UsageRow, error) {
	memo, _ := ctx.Value(memoKey{}).(*requestMemo)
	if memo == nil {
		return usageSums(ctx, e.Client, bgID, m, lastDay)
	}
	first := fmt.Sprintf("%s-01", m)
	last := fmt.Sprintf("%s-%02d", m, lastDay)
	memo.mu.Lock()
	w := memo.days[bgID]
	if w == nil || w.from > first {
		from := first
		now := MonthOf(e.Clock.Now(), e.Policy.Location())
		for i := 0; i < 5; i++ {
			now = now.Prev()
		}
		if f := fmt.Sprintf("%s-01", now); f < from {
			from = f
		}
		var rows []dayRow
		err := e.Client.UsageDaily.Query().Where(usagedaily.BillingGroupID(bgID), usagedaily.DayGTE(from)).
			GroupBy(usagedaily.FieldDay, usagedaily.FieldServiceCode, usagedaily.FieldRegionCode, usagedaily.FieldChannel, usagedaily.FieldMetric).
			Aggregate(func(s *sql.Selector) string { return sql.As(sql.Sum(usagedaily.FieldQuantityMicros), "micros") }).
			Scan(ctx, &rows)
		if err != nil {
			memo.mu.Unlock()
			return nil, err
		}
		w = &usageWindow{from: from, rows: rows}
		memo.days[bgID] = w
	}
	memo.mu.Unlock()
	type key struct{ s, r, c, m string }
	sums := map[key]int64{}
	for _, d := range w.rows {
		if d.Day >= first && d.Day <= last {
			sums[key{d.Service, d.Region, d.Channel, d.Metric}] += d.Micros
		}
	}
	out := make([]UsageRow, 0, len(sums))
	for k, v := range sums {
		out = append(out, UsageRow{ServiceCode: k.s, Region: k.r, Channel: k.c, Metric: k.m, Micros: v})
	}
	return out, nil
}

type ttlEntry struct {
	at        time.Time
	contracts []*ent.Contract
	discounts []*ent.Discount
}

var viewCache = struct {
	mu sync.Mutex
	m  map[string]*ttlEntry
}{m: map[string]*ttlEntry{}}

// InvalidateViews drops what this replica cached of a billing group.
func InvalidateViews(bgID string) {
	viewCache.mu.Lock()
	delete(viewCache.m, bgID)
	viewCache.mu.Unlock()
}

// viewTerms returns a billing group's contracts and discounts for views:
// exact under the organization's revision when the request has one, else
// from the replica's short cache.
func (e *Engine) viewTerms(ctx context.Context, bg *ent.BillingGroup) ([]*ent.Contract, []*ent.Discount, error) {
	t, err := CachedView(ctx, bg.OrgID, "terms:"+bg.ID, func() (*ttlEntry, error) {
		return e.ttlTerms(ctx, bg.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return t.contracts, t.discounts, nil
}

func (e *Engine) ttlTerms(ctx context.Context, bgID string) (*ttlEntry, error) {
	viewCache.mu.Lock()
	if t := viewCache.m[bgID]; t != nil && time.Since(t.at) < viewCacheTTL {
		viewCache.mu.Unlock()
		return t, nil
	}
	viewCache.mu.Unlock()
	cs, err := e.Client.Contract.Query().Where(contract.BillingGroupID(bgID)).All(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := e.Client.Discount.Query().Where(discount.BillingGroupID(bgID)).
		Order(ent.Asc(discount.FieldCreatedAt), ent.Asc(discount.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	t := &ttlEntry{at: time.Now(), contracts: cs, discounts: ds}
	viewCache.mu.Lock()
	if len(viewCache.m) > 50000 {
		viewCache.m = map[string]*ttlEntry{}
	}
	viewCache.m[bgID] = t
	viewCache.mu.Unlock()
	return t, nil
}
