package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
)

// loadNode reads a whole row by id. The id's prefix names its type
// ("bg_01J…", see ent/schema/xid), so exactly one table is read. Whole rows,
// not the columns a query happens to ask for: authorization reads the
// tenant columns of every node.
func (r *Resolver) loadNode(ctx context.Context, id string) (ent.Noder, error) {
	c := r.Client
	if len(id) > 40 {
		return nil, kernel.NotFound("node")
	}
	var n ent.Noder
	var err error
	switch xid.Prefix(id) {
	case "org":
		n, err = c.Organization.Get(ctx, id)
	case "acct":
		n, err = c.Account.Get(ctx, id)
	case "bg":
		n, err = c.BillingGroup.Get(ctx, id)
	case "grant":
		n, err = c.Grant.Get(ctx, id)
	case "tok":
		n, err = c.APIToken.Get(ctx, id)
	case "rgn":
		n, err = c.Region.Get(ctx, id)
	case "svc":
		n, err = c.Service.Get(ctx, id)
	case "price":
		n, err = c.Price.Get(ctx, id)
	case "ctr":
		n, err = c.Contract.Get(ctx, id)
	case "inv":
		n, err = c.Invoice.Get(ctx, id)
	case "cred":
		n, err = c.Credit.Get(ctx, id)
	case "cre":
		n, err = c.CreditEntry.Get(ctx, id)
	case "disc":
		n, err = c.Discount.Get(ctx, id)
	case "promo":
		n, err = c.Promotion.Get(ctx, id)
	default:
		return nil, kernel.NotFound("node")
	}
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("node")
	}
	return n, err
}

func (r *Resolver) node(ctx context.Context, id string) (ent.Noder, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := visible(p, kernel.NotFound("node"), func() (ent.Noder, error) { return r.loadNode(ctx, id) },
		func(n ent.Noder) (string, error) { return r.tenantOf(ctx, n) })
	if err != nil {
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
		return nil, kernel.FieldError("ids", "at most 100 ids at once")
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
