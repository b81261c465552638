package rated

import (
	"context"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/usagedaily"
)

// Views (usage reports, the billing trend) read through these caches so a
// dashboard costs a few statements. Invoicing never does: it reads inside
// its own transaction.
//
//   - Per request: a billing group's usage for the trend's window, summed
//     by month, is read once and shared by currentUsage and billingTrend.
//   - Per replica, for viewCacheTTL: contracts and discounts, which only
//     operators change; a change on this replica clears them at once. A
//     query that carries its organization's revision reads them (and the
//     rated usage) exactly instead, from the revision cache (orgcache.go).

const viewCacheTTL = 5 * time.Second

type requestMemo struct {
	mu   sync.Mutex
	days map[string]*usageWindow // by billing group
}

// usageWindow is a billing group's usage summed by month, from the first
// day of from through day `through` of the current month cur.
type usageWindow struct {
	from, cur calendar.Month
	through   int
	months    map[calendar.Month][]rating.UsageRow
}

type memoKey struct{}

// WithRequestMemo gives a request its view memo.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &requestMemo{days: map[string]*usageWindow{}})
}

// viewUsage returns the usage sums of days 1..lastDay of month m. A
// request's window answers whole months before the current one and the
// current one through yesterday — what currentUsage and billingTrend ask —
// from one statement summing each month in the database (some 20 rows a
// month, where a row per day was 600); any other span is read apart.
func (s *Service) viewUsage(ctx context.Context, bgID string, m calendar.Month, lastDay int) ([]rating.UsageRow, error) {
	memo, _ := ctx.Value(memoKey{}).(*requestMemo)
	now := s.Clock.Now().In(s.Policy.Location())
	cur := calendar.Month{Year: now.Year(), Month: now.Month()}
	whole := (m.Before(cur) && lastDay == m.Days()) || (m == cur && lastDay == now.Day()-1)
	if memo == nil || !whole {
		return UsageSums(ctx, s.Client, bgID, m, lastDay, false)
	}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	w := memo.days[bgID]
	if w == nil || m.Before(w.from) || w.cur != cur || w.through != now.Day()-1 {
		from := cur
		for i := 0; i < 5; i++ { // the trend's six months
			from = from.Prev()
		}
		if m.Before(from) {
			from = m
		}
		t := sql.Table(usagedaily.Table)
		month := "substr(" + t.C(usagedaily.FieldDay) + ", 1, 7)"
		q := sql.Dialect(kernel.Dialect(s.Postgres)).Select(sql.As(month, "month"), t.C(usagedaily.FieldServiceCode), t.C(usagedaily.FieldRegionCode),
			t.C(usagedaily.FieldChannel), t.C(usagedaily.FieldMetric), sql.As(sql.Sum(t.C(usagedaily.FieldQuantityMicros)), "micros")).
			From(t).
			Where(sql.And(sql.EQ(t.C(usagedaily.FieldBillingGroupID), bgID), sql.GTE(t.C(usagedaily.FieldDay), from.String()+"-01"),
				sql.LTE(t.C(usagedaily.FieldDay), fmt.Sprintf("%s-%02d", cur, now.Day()-1)))).
			GroupBy(month, t.C(usagedaily.FieldServiceCode), t.C(usagedaily.FieldRegionCode), t.C(usagedaily.FieldChannel), t.C(usagedaily.FieldMetric))
		query, args := q.Query()
		rows, err := s.Client.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		w = &usageWindow{from: from, cur: cur, through: now.Day() - 1, months: map[calendar.Month][]rating.UsageRow{}}
		for rows.Next() {
			var ms string
			var u rating.UsageRow
			if err := rows.Scan(&ms, &u.ServiceCode, &u.Region, &u.Channel, &u.Metric, &u.Micros); err != nil {
				rows.Close()
				return nil, err
			}
			mm, err := calendar.ParseMonth(ms)
			if err != nil {
				rows.Close()
				return nil, err
			}
			w.months[mm] = append(w.months[mm], u)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		memo.days[bgID] = w
	}
	return append([]rating.UsageRow(nil), w.months[m]...), nil
}

type ttlEntry struct {
	at        time.Time
	contracts []*ent.Contract
	discounts []*ent.Discount
}

// Terms is one replica's short cache (viewCacheTTL) of billing groups'
// contracts and discounts, which only operators change: a change on this
// replica drops the group at once (Invalidate); other replicas see it
// within the TTL, or at once where a query carries its organization's
// revision. One per database, made in server/app; nil caches nothing.
type Terms struct {
	mu sync.Mutex
	m  map[string]*ttlEntry
}

// NewTerms returns an empty terms cache.
func NewTerms() *Terms { return &Terms{m: map[string]*ttlEntry{}} }

// Invalidate drops what this replica cached of a billing group.
func (c *Terms) Invalidate(bgID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, bgID)
	c.mu.Unlock()
}

func (c *Terms) get(bgID string) *ttlEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.m[bgID]; t != nil && time.Since(t.at) < viewCacheTTL {
		return t
	}
	return nil
}

func (c *Terms) put(bgID string, t *ttlEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 50000 {
		c.m = map[string]*ttlEntry{}
	}
	c.m[bgID] = t
}

// Most billing groups have no contract and no discount, and a dashboard
// asked the database for each all the same: two statements of its dozen.
// A group read for a dashboard (WithTermsFlags) carries whether it has
// any, read in its own statement; a group read otherwise (no flags) has
// them read as before. The flags are as exact as the group row they come
// with: contracts and discounts move the organization's revision, which
// keys the cached row (server/store/revision.go).
const (
	hasContracts = "cloudbill_has_contracts"
	hasDiscounts = "cloudbill_has_discounts"
)

// WithTermsFlags makes q read, with each billing group, whether it has
// contracts and discounts.
func WithTermsFlags(q *ent.BillingGroupQuery) *ent.BillingGroupQuery {
	q.Modify(func(s *sql.Selector) { // adds to q (the Select it returns is not needed)
		exists := func(table, col, as string) string {
			return sql.As("EXISTS (SELECT 1 FROM "+table+" WHERE "+table+"."+col+" = "+s.C(billinggroup.FieldID)+")", as)
		}
		s.AppendSelect(exists(contract.Table, contract.FieldBillingGroupID, hasContracts),
			exists(discount.Table, discount.FieldBillingGroupID, hasDiscounts))
	})
	return q
}

// hasTerms: false only when bg was read with the flags and has none.
func hasTerms(bg *ent.BillingGroup, flag string) bool {
	v, err := bg.Value(flag)
	if err != nil {
		return true // read without the flags
	}
	switch b := v.(type) {
	case bool:
		return b
	case int64:
		return b != 0
	case []byte:
		return string(b) != "0" && string(b) != "f" && string(b) != "false"
	}
	return true
}

// viewTerms returns a billing group's contracts and discounts for views:
// exact under the organization's revision when the request has one, else
// from the replica's short cache.
func (s *Service) viewTerms(ctx context.Context, bg *ent.BillingGroup) ([]*ent.Contract, []*ent.Discount, error) {
	// Under a revision the replica's short cache is not asked: it may hold
	// terms another replica has changed since (the revision has moved).
	_, _, _, exact := readmodel.OrgRevisionOf(ctx)
	t, err := readmodel.CachedView(ctx, bg.OrgID, "terms:"+bg.ID, func() (*ttlEntry, error) {
		return s.ttlTerms(ctx, bg, !exact)
	})
	if err != nil {
		return nil, nil, err
	}
	return t.contracts, t.discounts, nil
}

func (s *Service) ttlTerms(ctx context.Context, bg *ent.BillingGroup, cached bool) (*ttlEntry, error) {
	bgID := bg.ID
	if t := s.Terms.get(bgID); t != nil && cached {
		return t, nil
	}
	var cs []*ent.Contract
	var ds []*ent.Discount
	var err error
	if hasTerms(bg, hasContracts) {
		if cs, err = s.Client.Contract.Query().Where(contract.BillingGroupID(bgID)).All(ctx); err != nil {
			return nil, err
		}
	}
	if hasTerms(bg, hasDiscounts) {
		ds, err = s.Client.Discount.Query().Where(discount.BillingGroupID(bgID)).
			Order(ent.Asc(discount.FieldCreatedAt), ent.Asc(discount.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
	}
	t := &ttlEntry{at: time.Now(), contracts: cs, discounts: ds}
	s.Terms.put(bgID, t)
	return t, nil
}
