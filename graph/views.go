package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/readmodel"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
)

// ReadOnlyViews lets only query operations read the view cache
// (billing.CachedView): a mutation must read what it has just written, and a
// subscription outlives the revision read when its socket was opened.
//
// It also gives each operation its own dataloaders and request memo: the
// operations of a websocket share its connection's context, and what one
// of them loaded must not be served to the next.
type ReadOnlyViews struct{ Client *ent.Client }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = ReadOnlyViews{}

func (ReadOnlyViews) ExtensionName() string                   { return "ReadOnlyViews" }
func (ReadOnlyViews) Validate(graphql.ExecutableSchema) error { return nil }

func (v ReadOnlyViews) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if v.Client != nil {
		ctx = rated.WithRequestMemo(WithLoaders(ctx, v.Client))
	}
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return next(readmodel.WithoutOrgRevision(ctx))
	}
	// The request's shape: a cached page is only reused for the same
	// document and variables, so whatever the selection asks for (eager
	// loaded edges, totalCount, nested history) is the same.
	h := fnv.New64a()
	h.Write([]byte(oc.RawQuery))
	vars, _ := json.Marshal(oc.Variables)
	h.Write(vars)
	return next(context.WithValue(ctx, shapeKey{}, fmt.Sprintf("%x", h.Sum64())))
}

type shapeKey struct{}

// viewKey names a cached view of the current field: its kind, the object
// it belongs to, the request's shape and the field's path, and extra (what
// else the answer depends on, such as an instant).
func viewKey(ctx context.Context, kind, id string, extra ...any) string {
	shape, _ := ctx.Value(shapeKey{}).(string)
	path := ""
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		path = fc.Path().String()
	}
	return fmt.Sprint(kind, ":", id, ":", shape, ":", path, ":", fmt.Sprint(extra...))
}

// creditsValidity notes until when a list of credits read with the
// visibility cutoff of closed credits (R-28, 3 months before read, the
// minute it was read at) stays right with no write: until the earliest
// closed credit shown for its last 3 months drops out. That is known when
// the list is whole (a first page, not full: firstClosed); otherwise until
// the cutoff's next minute.
func creditsValidity(ctx context.Context, read, firstClosed time.Time, includeClosed, whole bool) {
	if includeClosed {
		return
	}
	if !whole {
		readmodel.ValidUntil(ctx, read.Add(time.Minute))
		return
	}
	// Three months back is at least 89 days back; a day less covers a
	// daylight saving hour. The cutoff steps back once a month (May 31 →
	// Mar 3, then Jun 1 → Mar 1), so never past the month either.
	readmodel.ValidUntil(ctx, time.Date(read.Year(), read.Month()+1, 1, 0, 0, 0, 0, read.Location()))
	if !firstClosed.IsZero() {
		readmodel.ValidUntil(ctx, firstClosed.Add(88*24*time.Hour))
	}
}

// wholeCreditList reports whether a page of credits is the whole list: a
// first page with room left.
func wholeCreditList(conn *ent.CreditConnection, after *entgql.Cursor[string], first *int, before *entgql.Cursor[string], last *int) bool {
	return after == nil && before == nil && last == nil && (first == nil || len(conn.Edges) < *first)
}

// firstClosedListed is when the earliest emptied, closed credit of a whole
// list closed: read from the page when its nodes carry status and closing
// (a query may select neither, or only totalCount), else asked of the
// database (listed is the list's query).
func firstClosedListed(ctx context.Context, listed *ent.CreditQuery, conn *ent.CreditConnection) (time.Time, error) {
	known := len(conn.Edges) > 0 || conn.TotalCount == 0
	var first time.Time
	for _, e := range conn.Edges {
		switch c := e.Node; {
		case c.Status == "" || (c.Status != credit.StatusAVAILABLE && c.ClosedAt == nil):
			known = false // not selected by the query
		case c.Status != credit.StatusAVAILABLE && c.Remaining == 0 && (first.IsZero() || c.ClosedAt.Before(first)):
			first = *c.ClosedAt
		}
	}
	if known {
		return first, nil
	}
	c, err := listed.Where(credit.StatusNEQ(credit.StatusAVAILABLE), credit.Remaining(0), credit.ClosedAtNotNil()).
		Order(ent.Asc(credit.FieldClosedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return *c.ClosedAt, nil
}
