package graph

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudbill/cloudbill/server/auth"
)

// Limits refuses abusive operations before they run, and meters each
// caller's query cost: depth, aliases, fields (duplicates count),
// directives, and a cost where a connection multiplies what it selects by
// its page size (first/last) and other lists by ListCost.
type Limits struct {
	MaxDepth, MaxAliases, MaxFields, MaxDirectives int
	MaxCost                                        int
	ListCost                                       int
	// PasswordCost is what a mutation that hashes a password (login,
	// signUp) adds to an operation's cost: its CPU, not its one field.
	PasswordCost int
	// Bucket: each caller holds up to Capacity points, restored at Rate a
	// second; an operation spends its cost (Shopify's model). Rate 0 = off.
	Capacity, Rate float64

	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	points float64
	at     time.Time
}

// DefaultLimits are generous for consoles, tight for abuse.
func DefaultLimits() *Limits {
	return &Limits{MaxDepth: 15, MaxAliases: 30, MaxFields: 500, MaxDirectives: 50, MaxCost: 10000, ListCost: 10,
		PasswordCost: 1000, Capacity: 20000, Rate: 2000}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = (*Limits)(nil)

// InterceptResponse reports the operation's cost in extensions.cost.
func (l *Limits) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	if c := graphql.GetOperationContext(ctx).Stats.GetExtension("cost"); c != nil {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["cost"] = c
	}
	return resp
}

func (l *Limits) ExtensionName() string                   { return "Limits" }
func (l *Limits) Validate(graphql.ExecutableSchema) error { return nil }

type walk struct {
	vars                                  map[string]any
	frags                                 ast.FragmentDefinitionList
	aliases, fields, directives, maxDepth int
	seen                                  map[*ast.FragmentDefinition]bool
}

// cost returns the cost of a selection set at depth d.
func (w *walk) cost(set ast.SelectionSet, d int, l *Limits) int {
	if d > w.maxDepth {
		w.maxDepth = d
	}
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			w.fields++
			w.directives += len(s.Directives)
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			child := 0
			if len(s.SelectionSet) > 0 {
				child = w.cost(s.SelectionSet, d+1, l)
			}
			mult := 1
			args := s.ArgumentMap(w.vars)
			for _, name := range []string{"first", "last"} {
				if v, ok := args[name].(int64); ok && int(v) > mult {
					mult = int(v)
				}
				if v, ok := args[name].(int); ok && v > mult {
					mult = v
				}
			}
			// A connection's edges and nodes are paid for by its first/last.
			// Introspection is bounded by the schema itself (and the depth
			// and field limits), so its lists do not multiply.
			if mult == 1 && s.Definition != nil && s.Definition.Type.Elem != nil && s.Name != "edges" && s.Name != "nodes" &&
				!strings.HasPrefix(s.Name, "__") && !introspectionType(s.Definition) {
				mult = l.ListCost
			}
			total += 1 + mult*child
		case *ast.InlineFragment:
			w.directives += len(s.Directives)
			total += w.cost(s.SelectionSet, d, l)
		case *ast.FragmentSpread:
			w.directives += len(s.Directives)
			f := w.frags.ForName(s.Name)
			if f == nil || w.seen[f] { // a cycle is refused by validation already
				continue
			}
			w.seen[f] = true
			total += w.cost(f.SelectionSet, d, l)
			delete(w.seen, f)
		}
		if total > math.MaxInt32 {
			return math.MaxInt32
		}
	}
	return total
}

func introspectionType(d *ast.FieldDefinition) bool {
	return strings.HasPrefix(d.Type.Name(), "__")
}

// MutateOperationContext runs after validation, before execution.
func (l *Limits) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	w := &walk{vars: rc.Variables, frags: rc.Doc.Fragments, seen: map[*ast.FragmentDefinition]bool{}}
	cost := w.cost(rc.Operation.SelectionSet, 1, l)
	refuse := func(format string, args ...any) *gqlerror.Error {
		return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": "QUERY_TOO_COMPLEX"}}
	}
	signIns, passwords := 0, 0
	if rc.Operation.Operation == ast.Mutation {
		signIns, passwords = countSignIns(rc.Operation.SelectionSet, rc.Doc.Fragments, map[string]bool{})
		cost += passwords * l.PasswordCost
	}
	switch {
	case signIns > 1:
		return refuse("the operation has %d sign-in mutations; at most one of login, signUp and refreshToken per operation", signIns)
	case w.maxDepth > l.MaxDepth:
		return refuse("the query is %d levels deep; at most %d", w.maxDepth, l.MaxDepth)
	case w.aliases > l.MaxAliases:
		return refuse("the query has %d aliases; at most %d", w.aliases, l.MaxAliases)
	case w.fields > l.MaxFields:
		return refuse("the query selects %d fields; at most %d", w.fields, l.MaxFields)
	case w.directives > l.MaxDirectives:
		return refuse("the query has %d directives; at most %d", w.directives, l.MaxDirectives)
	case cost > l.MaxCost:
		return refuse("the query costs %d; at most %d (connections cost their page size)", cost, l.MaxCost)
	}
	left, ok := l.spend(callerKey(ctx), float64(cost))
	rc.Stats.SetExtension("cost", map[string]any{"requestedQueryCost": cost,
		"throttleStatus": map[string]any{"maximumAvailable": l.Capacity, "currentlyAvailable": math.Floor(left), "restoreRate": l.Rate}})
	if !ok {
		return &gqlerror.Error{Message: fmt.Sprintf("throttled: this query costs %d and %0.f points are available; %0.f are restored a second", cost, left, l.Rate),
			Extensions: map[string]any{"code": "THROTTLED", "cost": cost,
				"retryAfterSeconds": int64(math.Ceil((float64(cost) - left) / l.Rate))}}
	}
	return nil
}

func callerKey(ctx context.Context) string {
	if p := auth.FromContext(ctx); p != nil {
		return p.Caller()
	}
	return "anonymous:" + ClientIP(ctx)
}

// spend takes cost points from the caller's bucket.
func (l *Limits) spend(key string, cost float64) (float64, bool) {
	if l.Rate <= 0 {
		return l.Capacity, true
	}
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 100000 { // forget idle callers rather than grow without end
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{points: l.Capacity, at: now}
		l.buckets[key] = b
	}
	b.points = math.Min(l.Capacity, b.points+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if cost > b.points {
		return b.points, false
	}
	b.points -= cost
	return b.points, true
}

type clientIPKey struct{}

// WithClientIP records the client's address for anonymous rate limits.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP is the request's client address.
func ClientIP(ctx context.Context) string { s, _ := ctx.Value(clientIPKey{}).(string); return s }
