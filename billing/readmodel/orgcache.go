// Package readmodel holds the caches of what queries read, exact by
// construction: every view is keyed by its organization's revision, which
// changes in the transaction of any change of the organization's money.
// (The dashboards' short cache of terms and the response cache are
// explicit instances elsewhere: billing/rated/cache.go,
// graph/responsecache.go — see docs/architecture.md.)
package readmodel

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// What a query reads of an organization — its billing groups, credit
// summaries, credit and payment pages, the invoiced months of the trend,
// coin wallets — is cached by each replica under the organization's
// revision. The revision changes in the same transaction as any row of the
// organization's money (a trigger sets it at commit: see
// server/store/revision.go), and every request reads it afresh with the
// caller's principal (the one statement authentication runs anyway). So a
// replica serves a view from memory only while nothing of the organization
// has changed, on any replica: a change is seen by the next request, exactly
// as without the cache.
//
// Not cached: usage (recorded all day by partners, so it is not part of the
// revision; a dashboard reads it in one statement), anything read by a
// mutation (a mutation's request carries no revision) and operators' reads
// across organizations. Values that depend on the time of reading are
// computed at read time from cached rows (CreditSummary) or keyed by the
// instant they depend on (the month of the trend, the visibility cutoff of
// closed credits).

const (
	orgViewsMax   = 20000           // organizations cached per replica
	orgViewKeys   = 256             // cached views per organization
	orgViewMaxAge = 5 * time.Minute // a bound even on an unchanged revision
	// DefaultViewRows bounds a replica's whole cache by what it holds: a
	// view weighs 1 plus its rows (edges of a page, invoices, lines…), a
	// row being an entity of about 430 bytes of heap (measured full).
	// Past it the least recently used organizations are dropped. A
	// dashboard takes about 40 rows, so this holds some 360 of them in
	// about 6.5 MiB: a larger cache crowds the 100 MiB soft memory limit
	// and the collector then runs more often (measured with the load
	// script after its all-groups load filled the cache: ingestion
	// 44,000–48,000 events/s with 50,000 rows, 48,000–56,000 with 25,000,
	// 60,000 with 15,000). CLOUDBILL_VIEW_CACHE_ROWS sets another bound.
	DefaultViewRows = 15000
)

// Views is one replica's cache of organizations' views.
type Views struct {
	orgs  *lru.Cache[string, *orgView]
	items atomic.Int64 // the weight of every view held
	max   int64        // of items
}

// NewViews returns an empty cache holding up to rows (DefaultViewRows).
func NewViews(rows int64) *Views {
	v := &Views{max: rows}
	v.orgs, _ = lru.NewWithEvict[string, *orgView](orgViewsMax, func(_ string, o *orgView) {
		v.items.Add(-o.weight.Swap(0))
	})
	return v
}

// Size is what the cache holds: its weight in rows (of its bound) and
// the organizations it holds views of.
func (v *Views) Size() (rows int64, orgs int) {
	if v == nil {
		return 0, 0
	}
	return v.items.Load(), v.orgs.Len()
}

// weigh is 1 plus the rows a view holds: the length of a slice, or of the
// Edges of a connection (directly or one struct field down).
func weigh(x any) int64 {
	n := int64(1)
	v := reflect.ValueOf(x)
	for depth := 0; depth < 2 && v.IsValid(); depth++ {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return n
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Slice, reflect.Map:
			return n + int64(v.Len())
		case reflect.Struct:
			if e := v.FieldByName("Edges"); e.IsValid() && e.Kind() == reflect.Slice {
				return n + int64(e.Len())
			}
			if v.NumField() == 0 {
				return n
			}
			v = v.Field(0) // e.g. a page wrapping its connection
		default:
			return n
		}
	}
	return n
}

type revisionKey struct{}

type revisionScope struct {
	views    *Views
	org      string
	rev      int64
	usageRev int64
}

// WithOrgRevision marks a request of org's principal, which read org's
// revision rev and usage revision usageRev when it was authenticated: its
// views may come from v. A nil v (the cache turned off) leaves ctx as it is.
func (v *Views) WithOrgRevision(ctx context.Context, org string, rev, usageRev int64) context.Context {
	if v == nil {
		return ctx
	}
	return context.WithValue(ctx, revisionKey{}, revisionScope{v, org, rev, usageRev})
}

// usageRevision is what a cached usage view's key must carry: the usage
// revision read with the principal ("" when the request has none, and then
// nothing is cached anyway).
func UsageRevision(ctx context.Context) string {
	sc, _ := ctx.Value(revisionKey{}).(revisionScope)
	return fmt.Sprint("u", sc.usageRev)
}

// WithoutOrgRevision ends caching for the rest of a request (a mutation's
// reads must see its own writes).
func WithoutOrgRevision(ctx context.Context) context.Context {
	if _, ok := ctx.Value(revisionKey{}).(revisionScope); !ok {
		return ctx
	}
	return context.WithValue(ctx, revisionKey{}, revisionScope{})
}

type orgView struct {
	rev     int64
	born    time.Time
	mu      sync.Mutex
	m       map[string]any
	weights map[string]int64 // of each key, under mu
	weight  atomic.Int64
	// flight joins concurrent fills of one key: a dashboard's fields are
	// resolved concurrently, and two of them asking for the same view (the
	// usage and the trend both rate with the group's terms; a wallet's
	// balance and bonus) ran its statements twice.
	flight singleflight.Group
}

// orgViewOf returns the organization's view for the request's revision
// scope (a fresh one when the revision moved or the view is too old), or
// nil when the request may not use the cache for org.
func orgViewOf(ctx context.Context, org string) (revisionScope, *orgView) {
	sc, ok := ctx.Value(revisionKey{}).(revisionScope)
	if !ok || sc.views == nil || sc.org != org || org == "" {
		return sc, nil
	}
	v, ok := sc.views.orgs.Get(org)
	if !ok || v.rev != sc.rev || time.Since(v.born) > orgViewMaxAge {
		if ok { // replaced, not evicted: the cache forgets its weight here
			sc.views.items.Add(-v.weight.Swap(0))
		}
		v = &orgView{rev: sc.rev, born: time.Now(), m: map[string]any{}}
		sc.views.orgs.Add(org, v)
	}
	return sc, v
}

// CachedView returns the view of org under key: from this replica's cache
// when the request carries org's current revision, else from fill (and then
// cached). The value must never be modified by its readers.
func CachedView[T any](ctx context.Context, org, key string, fill func() (T, error)) (T, error) {
	sc, v := orgViewOf(ctx, org)
	if v == nil {
		return fill()
	}
	v.mu.Lock()
	x, hit := v.m[key]
	v.mu.Unlock()
	if hit {
		return x.(T), nil
	}
	got, err, shared := v.flight.Do(key, func() (any, error) {
		val, err := fill()
		if err == nil {
			v.put(sc, org, key, val, weigh(val), false)
		}
		return val, err
	})
	if err != nil && shared {
		// Another request's fill failed (its context may have ended):
		// this one's own fill decides.
		return fill()
	}
	val, _ := got.(T)
	return val, err
}

// PeekView returns what org's view holds under key for the request's
// revision (nothing for a request without one).
func PeekView(ctx context.Context, org, key string) (any, bool) {
	_, v := orgViewOf(ctx, org)
	if v == nil {
		return nil, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.m[key]
	return x, ok
}

// PutView stores val (of the given weight) under key in org's view for the
// request's revision, replacing what was there.
func PutView(ctx context.Context, org, key string, val any, weight int64) {
	if sc, v := orgViewOf(ctx, org); v != nil {
		v.put(sc, org, key, val, weight, true)
	}
}

// weights remembers each stored key's weight, so that a replaced value
// gives its weight back.
func (v *orgView) put(sc revisionScope, org, key string, val any, w int64, replace bool) {
	v.mu.Lock()
	_, had := v.m[key]
	stored := (had && replace) || (!had && len(v.m) < orgViewKeys)
	if stored {
		if v.weights == nil {
			v.weights = map[string]int64{}
		}
		w, v.weights[key] = w-v.weights[key], w
		v.m[key] = val
	}
	v.mu.Unlock()
	// Counted only while v is the organization's view in the cache (a view
	// replaced meanwhile no longer counts).
	if cur, ok := sc.views.orgs.Peek(org); stored && ok && cur == v {
		v.weight.Add(w)
		for sc.views.items.Add(w) > sc.views.max && sc.views.orgs.Len() > 1 {
			sc.views.orgs.RemoveOldest()
			w = 0
		}
	}
}

// A request's validity: what a response read of the organization is
// exactly right until, when it depends on the time of reading (a credit
// period starting, the day of the month so far). The response cache
// (graph.ResponseCache) serves a response only until then.
type validityKey struct{}

// Validity collects the earliest instant a request's answer may change at
// with no write.
type Validity struct {
	mu    sync.Mutex
	until time.Time
}

// TrackValidity returns ctx collecting into a new Validity.
func TrackValidity(ctx context.Context) (context.Context, *Validity) {
	v := &Validity{}
	return context.WithValue(ctx, validityKey{}, v), v
}

// ValidUntil notes that what is being read stays right only until t.
func ValidUntil(ctx context.Context, t time.Time) {
	if v, ok := ctx.Value(validityKey{}).(*Validity); ok {
		v.mu.Lock()
		if v.until.IsZero() || t.Before(v.until) {
			v.until = t
		}
		v.mu.Unlock()
	}
}

// Until is the earliest instant noted (zero when nothing read depends on
// the time).
func (v *Validity) Until() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.until
}

// OrgRevisionOf returns the organization and revisions the request was
// authenticated with (ok false when it may not use the cache).
func OrgRevisionOf(ctx context.Context) (org string, rev, usageRev int64, ok bool) {
	sc, ok := ctx.Value(revisionKey{}).(revisionScope)
	if !ok || sc.views == nil || sc.org == "" {
		return "", 0, 0, false
	}
	return sc.org, sc.rev, sc.usageRev, true
}
