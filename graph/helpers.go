package graph

import (
	"context"
	"sort"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/graph/model"
	"github.com/cloudbill/cloudbill/graph/scalars"
	"github.com/cloudbill/cloudbill/server/auth"
)

func scalarsDecimal(s string) scalars.Decimal { return scalars.Decimal(s) }

func (r *Resolver) session(ctx context.Context, acct *ent.Account) (*model.AuthPayload, error) {
	s, err := r.Tokens.Issue(ctx, r.Client, acct, "")
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{Account: acct, AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, AccessTokenExpiresAt: s.AccessExpiresAt}, nil
}

// visibleBillingGroups lists what the caller may see, main first.
func (r *Resolver) visibleBillingGroups(ctx context.Context, p *auth.Principal) ([]*ent.BillingGroup, error) {
	if p.OrgID == "" {
		return []*ent.BillingGroup{}, nil
	}
	q := r.Client.BillingGroup.Query().Where(billinggroup.OrgID(p.OrgID))
	if !p.Master && !(p.Partner && p.HasScope(auth.ScopeBillingRead)) {
		ids := make([]string, 0, len(p.Grants))
		for id := range p.Grants {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		q = q.Where(billinggroup.IDIn(ids...))
	}
	return q.Order(ent.Desc(billinggroup.FieldIsMain), ent.Asc(billinggroup.FieldName)).All(ctx)
}

func (r *Resolver) masterBillingGroup(ctx context.Context, id string) (*ent.BillingGroup, error) {
	if _, err := requireMaster(ctx); err != nil {
		return nil, err
	}
	bg, _, err := r.loadBillingGroup(ctx, id, func(p *auth.Principal, bg *ent.BillingGroup) bool { return p.Master })
	return bg, err
}

func checkScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, billing.FieldError("scopes", "give at least one scope: %v", auth.Scopes)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		ok := false
		for _, v := range auth.Scopes {
			ok = ok || v == s
		}
		if !ok {
			return nil, billing.FieldError("scopes", "unknown scope %q (valid: %v)", s, auth.Scopes)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}
