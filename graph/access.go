package graph

import (
	"context"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/server/auth"
)

// Authorization is checked on every object a resolver returns, not only at
// the door (R-05..R-07): a foreign tenant's object reads as NOT_FOUND,
// an object of the caller's organization without the right as FORBIDDEN.

func principal(ctx context.Context) (*auth.Principal, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, billing.Errorf(billing.CodeUnauthenticated, "sign in first: send Authorization: Bearer <token>")
	}
	return p, nil
}

func requireOperator(ctx context.Context) (*auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Operator {
		return nil, billing.Forbidden("only operators may do this")
	}
	return p, nil
}

// requireMaster returns a principal that is the master account of its
// organization (partners never are).
func requireMaster(ctx context.Context) (*auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Master || p.Partner {
		return nil, billing.Forbidden("only the organization's master account may do this")
	}
	return p, nil
}

// requireAccount returns a principal that signed in as an account (not a
// partner token, not an account-less operator).
func requireAccount(ctx context.Context) (*auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if p.AccountID == "" || p.Partner {
		return nil, billing.Forbidden("this needs a signed-in account")
	}
	return p, nil
}

// sameOrg: operators see every tenant; everyone else only their own.
func sameOrg(p *auth.Principal, orgID string) bool { return p.Operator || p.OrgID == orgID }

// canReadBillingGroup: the master, anyone granted on it, partners with
// billing:read, operators.
func canReadBillingGroup(p *auth.Principal, bg *ent.BillingGroup) bool {
	if p.Operator {
		return true
	}
	if p.OrgID != bg.OrgID {
		return false
	}
	if p.Partner {
		return p.HasScope(auth.ScopeBillingRead)
	}
	return p.Master || p.Grants[bg.ID] != ""
}

// canManageBillingGroup: billing managers of it, the master and operators
// (credits, payment methods, paying — ).
func canManageBillingGroup(p *auth.Principal, bg *ent.BillingGroup) bool {
	if p.Operator {
		return true
	}
	if p.OrgID != bg.OrgID || p.Partner {
		return false
	}
	return p.Master || p.Grants[bg.ID] == auth.RoleBillingManager
}

// checkBillingGroup applies check to bg, answering NOT_FOUND across tenants.
func checkBillingGroup(p *auth.Principal, bg *ent.BillingGroup, check func(*auth.Principal, *ent.BillingGroup) bool) error {
	if !sameOrg(p, bg.OrgID) {
		return billing.NotFound("billing group")
	}
	if !check(p, bg) {
		return billing.Forbidden("you have no access to this billing group")
	}
	return nil
}

// loadBillingGroup reads a billing group the caller may use under check.
func (r *Resolver) loadBillingGroup(ctx context.Context, id string, check func(*auth.Principal, *ent.BillingGroup) bool) (*ent.BillingGroup, *auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	bg, err := billing.CachedView(ctx, p.OrgID, "billinggroup:"+id, func() (*ent.BillingGroup, error) {
		return r.Client.BillingGroup.Query().Where(billinggroup.ID(id)).Only(ctx)
	})
	if ent.IsNotFound(err) {
		return nil, p, billing.NotFound("billing group")
	}
	if err != nil {
		return nil, p, err
	}
	if err := checkBillingGroup(p, bg, check); err != nil {
		return nil, p, err
	}
	return bg, p, nil
}

// authorizeNode decides whether the caller may read a node fetched by id.
func (r *Resolver) authorizeNode(ctx context.Context, p *auth.Principal, n ent.Noder) error {
	deny := func(orgID string, allowed bool) error {
		if !sameOrg(p, orgID) {
			return billing.NotFound("node")
		}
		if !allowed {
			return billing.Forbidden("you have no access to this object")
		}
		return nil
	}
	switch v := n.(type) {
	case *ent.Region, *ent.Service, *ent.Price:
		return nil // the public catalog
	case *ent.Organization:
		return deny(v.ID, true)
	case *ent.Account:
		return deny(v.OrgID, p.Operator || (!p.Partner && (p.Master || p.AccountID == v.ID)))
	case *ent.BillingGroup:
		return checkBillingGroup(p, v, canReadBillingGroup)
	case *ent.Grant:
		return deny(v.OrgID, p.Operator || (!p.Partner && (p.Master || p.AccountID == v.AccountID)))
	case *ent.APIToken:
		return deny(v.OrgID, p.Operator || (p.Master && !p.Partner))
	case *ent.Contract:
		return r.authorizeInGroup(ctx, p, v.OrgID, v.BillingGroupID, canReadBillingGroup)
	case *ent.Invoice:
		return r.authorizeInGroup(ctx, p, v.OrgID, v.BillingGroupID, canReadBillingGroup)
	case *ent.Discount:
		return r.authorizeInGroup(ctx, p, v.OrgID, v.BillingGroupID, canReadBillingGroup)
	case *ent.Promotion:
		if v.BillingGroupID == nil {
			return nil // offered platform-wide
		}
		bg, err := r.Client.BillingGroup.Get(ctx, *v.BillingGroupID)
		if err != nil {
			return err
		}
		return checkBillingGroup(p, bg, canReadBillingGroup)
	case *ent.Credit:
		return r.authorizeInGroup(ctx, p, v.OrgID, v.BillingGroupID, canManageBillingGroup)
	case *ent.CreditEntry:
		c, err := r.Client.Credit.Get(ctx, v.CreditID)
		if err != nil {
			return err
		}
		return r.authorizeInGroup(ctx, p, c.OrgID, c.BillingGroupID, canManageBillingGroup)
	}
	return billing.NotFound("node")
}

func (r *Resolver) authorizeInGroup(ctx context.Context, p *auth.Principal, orgID, bgID string, check func(*auth.Principal, *ent.BillingGroup) bool) error {
	if !sameOrg(p, orgID) {
		return billing.NotFound("node")
	}
	bg, err := r.Client.BillingGroup.Get(ctx, bgID)
	if err != nil {
		return err
	}
	return checkBillingGroup(p, bg, check)
}
