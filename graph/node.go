package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/apitoken"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/grant"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/price"
	"github.com/cloudbill/cloudbill/ent/region"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/ent/service"
)

// tableByPrefix maps an id's type prefix to its table, so node(id) reads one
// table and nothing else (ids are "bg_01J…", see ent/schema/xid).
var tableByPrefix = map[string]string{
	"org": organization.Table, "acct": account.Table, "bg": billinggroup.Table,
	"grant": grant.Table, "tok": apitoken.Table, "rgn": region.Table, "svc": service.Table,
	"price": price.Table, "ctr": contract.Table, "inv": invoice.Table, "cred": credit.Table,
	"cre": creditentry.Table,
}

func nodeType(_ context.Context, id string) (string, error) {
	if t, ok := tableByPrefix[xid.Prefix(id)]; ok && len(id) <= 40 {
		return t, nil
	}
	return "", billing.NotFound("node")
}

func (r *Resolver) node(ctx context.Context, id string) (ent.Noder, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := r.Client.Noder(ctx, id, ent.WithNodeType(nodeType))
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, billing.NotFound("node")
		}
		if _, ok := billing.AsError(err); ok {
			return nil, err
		}
		return nil, err
	}
	if err := r.authorizeNode(ctx, p, n); err != nil {
		return nil, err
	}
	return n, nil
}

// nodes answers each id on its own: a denied or missing id is null with an
// error at its path, the others still resolve.
func (r *Resolver) nodes(ctx context.Context, ids []string) ([]ent.Noder, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	if len(ids) > 100 {
		return nil, billing.FieldError("ids", "at most 100 ids at once")
	}
	out := make([]ent.Noder, len(ids))
	for i, id := range ids {
		n, err := r.node(ctx, id)
		if err != nil {
			graphql.AddError(graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i)), err)
			continue
		}
		out[i] = n
	}
	return out, nil
}
