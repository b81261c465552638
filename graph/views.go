package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudbill/cloudbill/billing"
)

// ReadOnlyViews lets only query operations read the view cache
// (billing.CachedView): a mutation must read what it has just written, and a
// subscription outlives the revision read when its socket was opened.
type ReadOnlyViews struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = ReadOnlyViews{}

func (ReadOnlyViews) ExtensionName() string                   { return "ReadOnlyViews" }
func (ReadOnlyViews) Validate(graphql.ExecutableSchema) error { return nil }

func (ReadOnlyViews) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return next(billing.WithoutOrgRevision(ctx))
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
