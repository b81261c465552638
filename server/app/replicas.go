package app

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/store"
)

// replicaReads lets a query operation of an account read from a caught-up
// read replica (store.WithReplicaReads): the caller's organization and its
// revisions, read from the primary when the caller was resolved, say what
// the replica must have replayed. Mutations and subscriptions, operators
// (who read across organizations) and partners' API tokens (resolved
// without the revisions) read the primary; so do jobs, which run outside
// any operation.
type replicaReads struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = replicaReads{}

func (replicaReads) ExtensionName() string                   { return "ReplicaReads" }
func (replicaReads) Validate(graphql.ExecutableSchema) error { return nil }

func (replicaReads) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	p := auth.FromContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query || p == nil || p.Account == nil || p.Operator {
		return next(ctx)
	}
	return next(store.WithReplicaReads(ctx, p.OrgID, p.OrgRevision, p.OrgUsageRevision))
}
