package catalog

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/shopspring/decimal"
)

// Catalog is the priced service catalog, as rating reads it.
type Catalog struct {
	Services map[string]rating.ServiceInfo
	Regions  map[string]bool // by code
	Prices   []rating.PriceRow
	version  uint64 // given by the Cache that holds it; 0 when loaded apart
}

// Version numbers the catalogs its Cache has held (0 when loaded apart):
// cached ratings are keyed by it.
func (c *Catalog) Version() uint64 { return c.version }

// Load reads the catalog (a handful of rows) through client, which may be
// a transaction's.
func Load(ctx context.Context, client *ent.Client) (*Catalog, error) {
	svcs, err := client.Service.Query().WithPrices().All(ctx)
	if err != nil {
		return nil, err
	}
	regions, err := client.Region.Query().Select(region.FieldCode).Strings(ctx)
	if err != nil {
		return nil, err
	}
	cat := &Catalog{Services: map[string]rating.ServiceInfo{}, Regions: map[string]bool{}}
	for _, r := range regions {
		cat.Regions[r] = true
	}
	for _, s := range svcs {
		cat.Services[s.Code] = rating.ServiceInfo{Code: s.Code, Name: s.Name, Kind: string(s.Kind)}
		for _, p := range s.Edges.Prices {
			d, err := decimal.NewFromString(p.UnitPrice)
			if err != nil {
				return nil, err
			}
			cat.Prices = append(cat.Prices, rating.PriceRow{ServiceCode: s.Code, Region: p.RegionCode, Metric: p.Metric,
				Model: string(p.Model), UnitPrice: d})
		}
	}
	return cat, nil
}

// CacheTTL is how long a Cache keeps a catalog: it changes rarely and
// every rating reads it, and a replica sees another's change within it.
const CacheTTL = 5 * time.Second

// Cache keeps one database's catalog for CacheTTL. The server makes one
// per database and hands it to everything that rates (server/app), so no
// state is shared between databases in one process. A nil Cache loads the
// catalog on every read: for tools and tests that build an engine apart.
type Cache struct {
	mu      sync.Mutex
	cat     *Catalog
	at      time.Time
	version uint64 // numbers the catalogs this cache has held
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{} }

// Get answers the cached catalog, loading it through client when it is
// older than CacheTTL or dropped.
func (c *Cache) Get(ctx context.Context, client *ent.Client) (*Catalog, error) {
	if c == nil {
		return Load(ctx, client)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat != nil && time.Since(c.at) < CacheTTL {
		return c.cat, nil
	}
	cat, err := Load(ctx, client)
	if err != nil {
		return nil, err
	}
	// An unchanged catalog keeps its identity, which keys cached ratings
	// and responses (Version).
	if old := c.cat; old == nil || !reflect.DeepEqual(cat.Services, old.Services) || !reflect.DeepEqual(cat.Prices, old.Prices) ||
		!reflect.DeepEqual(cat.Regions, old.Regions) {
		c.version++
		cat.version = c.version
		c.cat = cat
	}
	c.at = time.Now()
	return c.cat, nil
}

// Version names the catalog a view is rated with: it changes when the
// catalog does (seen by this replica within CacheTTL). Without a cache
// nothing is kept, and every read is a version of its own.
func (c *Cache) Version(ctx context.Context, client *ent.Client) (string, error) {
	cat, err := c.Get(ctx, client)
	if err != nil || c == nil {
		return fmt.Sprintf("u%p", cat), err
	}
	return fmt.Sprint("c", cat.version), nil
}

// Invalidate drops the cached catalog after a change.
func (c *Cache) Invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cat = nil
	c.mu.Unlock()
}
