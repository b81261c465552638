package graph

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudbill/cloudbill/billing/readmodel"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudbill/cloudbill/server/auth"
)

// ResponseCache serves a query's whole response from the replica's view
// cache (billing.PeekView) when the same account asks the same document
// with the same variables again and nothing it answered from has changed:
// the organization's revision and usage revision (read afresh by every
// request with its principal), the catalog, and the time — whatever the
// answer depends on the instant of reading (a credit period starting, the
// day of the month so far) notes until when it is right
// (billing.ValidUntil), and the response is served only until then.
//
// Only documents made entirely of fields known to depend on nothing else
// are cached (cacheableFields); any other field, a @defer, an error or an
// operator's cross-organization read leaves the request to run as usual.
// Warm, a dashboard costs the one statement that authenticates it instead
// of executing some 300 fields.
type ResponseCache struct {
	R *Resolver
	// Hits and Misses count cacheable requests (for /metrics).
	Hits, Misses atomic.Int64
	docs         *lru.Cache[string, bool] // document+operation → cacheable
}

// NewResponseCache returns the cache of r's responses.
func NewResponseCache(r *Resolver) *ResponseCache {
	docs, _ := lru.New[string, bool](1000)
	return &ResponseCache{R: r, docs: docs}
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*ResponseCache)(nil)

func (*ResponseCache) ExtensionName() string                   { return "ResponseCache" }
func (*ResponseCache) Validate(graphql.ExecutableSchema) error { return nil }

type cachedResponse struct {
	usageRev int64
	catalog  string
	until    time.Time // zero: until the revisions move
	data     json.RawMessage
}

func (c *ResponseCache) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	org, _, usageRev, ok := readmodel.OrgRevisionOf(ctx)
	p := auth.FromContext(ctx)
	shape, _ := ctx.Value(shapeKey{}).(string)
	if !ok || p == nil || p.Operator || p.AccountID == "" || p.OrgID != org || shape == "" ||
		oc.Operation == nil || oc.Operation.Operation != ast.Query || !c.cacheable(oc) {
		return next(ctx)
	}
	catalog, err := c.R.engine().Rated().CatalogVersion(ctx)
	if err != nil {
		return next(ctx)
	}
	key := "response:" + p.AccountID + ":" + p.TokenID + ":" + oc.OperationName + ":" + shape
	now := c.R.Clock.Now()
	if x, ok := readmodel.PeekView(ctx, org, key); ok {
		if e := x.(*cachedResponse); e.usageRev == usageRev && e.catalog == catalog && (e.until.IsZero() || now.Before(e.until)) {
			c.Hits.Add(1)
			return &graphql.Response{Data: e.data}
		}
	}
	c.Misses.Add(1)
	ctx, valid := readmodel.TrackValidity(ctx)
	resp := next(ctx)
	if resp == nil || len(resp.Errors) > 0 || resp.HasNext != nil || len(resp.Extensions) > 0 || len(resp.Data) == 0 ||
		len(graphql.GetErrors(ctx)) > 0 {
		return resp
	}
	until := valid.Until()
	if !until.IsZero() && !now.Before(until) {
		return resp
	}
	// A row of the view cache is an entity of a few hundred bytes; a
	// response weighs a row per 512 bytes.
	readmodel.PutView(ctx, org, key, &cachedResponse{usageRev: usageRev, catalog: catalog, until: until, data: resp.Data},
		1+int64(len(resp.Data))/512)
	return resp
}

// cacheable tells whether every field the operation may select is one
// whose value comes only from what the revisions, the catalog and the
// noted validity cover.
func (c *ResponseCache) cacheable(oc *graphql.OperationContext) bool {
	k := oc.OperationName + "\x00" + oc.RawQuery
	if ok, seen := c.docs.Get(k); seen {
		return ok
	}
	ok := selectionCacheable(oc.Operation.SelectionSet, oc.Doc.Fragments, 0)
	c.docs.Add(k, ok)
	return ok
}

func selectionCacheable(set ast.SelectionSet, frags ast.FragmentDefinitionList, depth int) bool {
	if depth > 32 {
		return false
	}
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				continue
			}
			if s.ObjectDefinition == nil || !cacheableFields[s.ObjectDefinition.Name+"."+s.Name] ||
				!selectionCacheable(s.SelectionSet, frags, depth+1) {
				return false
			}
		case *ast.InlineFragment:
			if s.Directives.ForName("defer") != nil || !selectionCacheable(s.SelectionSet, frags, depth+1) {
				return false
			}
		case *ast.FragmentSpread:
			f := frags.ForName(s.Name)
			if f == nil || s.Directives.ForName("defer") != nil || !selectionCacheable(f.SelectionSet, frags, depth+1) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// cacheableFields are the fields a cached response may hold. Each was read
// for what its value depends on: the organization's rows (covered by its
// revision), usage rollups (the usage revision), the catalog, the caller
// (the key) and, for those that read the clock, a validity they note
// (creditSummary, credits, currentUsage, billingTrend). Add a field only
// after reading its resolver the same way; a field that reads the clock
// without noting a validity must stay out.
var cacheableFields = func() map[string]bool {
	m := map[string]bool{}
	for typ, fields := range map[string]string{
		"Query":                 "viewer billingGroup",
		"Viewer":                "account roles",
		"Account":               "id createdAt email billingEmail memberType residenceCountry isMaster businessCertified cashReceiptType coins",
		"CoinWallet":            "balance bonus charged",
		"Money":                 "amount currency",
		"BillingGroup":          "id createdAt name isMain currency creditSummary credits currentUsage billingTrend payments",
		"CreditSummary":         "free paid total",
		"CreditConnection":      "edges pageInfo totalCount",
		"CreditEdge":            "node cursor",
		"Credit":                "id createdAt name type status startsAt endsAt accumulatedAmount usedAmount remainingAmount serviceCodes history",
		"CreditEntryConnection": "edges pageInfo totalCount",
		"CreditEntryEdge":       "node cursor",
		"CreditEntry":           "id kind occurredAt amount",
		"UsageReport":           "period lines usedAmount discountAmount estimatedAmount",
		"UsagePeriod":           "month from to",
		"UsageLine":             "region serviceCode serviceName usedAmount discountAmount estimatedAmount",
		"BillingTrend":          "months",
		"TrendMonth":            "month usageAmount billedAmount paidAmount invoiced",
		"PaymentConnection":     "edges pageInfo totalCount",
		"PaymentEdge":           "node cursor",
		"Payment":               "id createdAt kind methodLabel status failureReason billedAt paidAt receiptId method amount usageAmount creditAmount determinedAmount taxAmount",
		"PageInfo":              "hasNextPage hasPreviousPage startCursor endCursor",
	} {
		for _, f := range strings.Fields(fields) {
			m[typ+"."+f] = true
		}
	}
	return m
}()
