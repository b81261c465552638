package graph

import (
	"context"
	"fmt"

	"github.com/cloudbill/cloudbill/billing/accounts"
	"github.com/cloudbill/cloudbill/billing/budgets"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/readmodel"
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
		return nil, kernel.Errorf(kernel.CodeUnauthenticated, "sign in first: send Authorization: Bearer <token>")
	}
	return p, nil
}

func requireOperator(ctx context.Context) (*auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Operator {
		return nil, kernel.Forbidden("only operators may do this")
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
		return nil, kernel.Forbidden("only the organization's master account may do this")
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
		return nil, kernel.Forbidden("this needs a signed-in account")
	}
	return p, nil
}

// signedInAccount is the caller's own account: a signed-in account's
// session, never a partner's or an operator's token.
func (r *Resolver) signedInAccount(ctx context.Context) (*ent.Account, error) {
	p, err := requireAccount(ctx)
	if err != nil {
		return nil, err
	}
	return r.Client.Account.Get(ctx, p.AccountID)
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

// visible is R-07's one place: every lookup of an object by an id the
// caller sent goes through it, and an object of another tenant answers
// exactly as an id that matches nothing — notFound, one error for both, so
// no message, code or field can tell them apart. load reads the object
// (ent's not-found for none); tenant names the organization owning it ("" for
// platform data such as the catalog, visible to all).
func visible[T any](p *auth.Principal, notFound *kernel.Error, load func() (T, error), tenant func(T) (string, error)) (T, error) {
	var none T
	v, err := load()
	if ent.IsNotFound(err) {
		return none, notFound
	}
	if err != nil {
		return none, err
	}
	org, err := tenant(v)
	if err != nil {
		return none, err
	}
	if org != "" && !sameOrg(p, org) {
		return none, notFound
	}
	return v, nil
}

func billingGroupTenant(bg *ent.BillingGroup) (string, error) { return bg.OrgID, nil }

// billingGroupNotFound is what an id of no billing group the caller can see
// answers, naming the argument or input field that held it.
func billingGroupNotFound(field string) *kernel.Error {
	return &kernel.Error{Code: kernel.CodeNotFound, Field: field, Message: "billing group not found"}
}

// checkBillingGroup applies a role check to a billing group the caller
// reached through visible (or a field of an object it may see).
func checkBillingGroup(p *auth.Principal, bg *ent.BillingGroup, check func(*auth.Principal, *ent.BillingGroup) bool) error {
	if !sameOrg(p, bg.OrgID) {
		return kernel.NotFound("billing group") // unreachable through visible; kept as a guard
	}
	if !check(p, bg) {
		return kernel.Forbidden("you have no access to this billing group")
	}
	return nil
}

// loadBillingGroup reads the billing group named by the billingGroupId
// argument for a caller that may use it under check.
func (r *Resolver) loadBillingGroup(ctx context.Context, id string, check func(*auth.Principal, *ent.BillingGroup) bool) (*ent.BillingGroup, *auth.Principal, error) {
	return r.loadBillingGroupAs(ctx, "billingGroupId", id, check)
}

// loadBillingGroupAs is loadBillingGroup for the argument named field.
func (r *Resolver) loadBillingGroupAs(ctx context.Context, field, id string, check func(*auth.Principal, *ent.BillingGroup) bool) (*ent.BillingGroup, *auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	bg, err := visible(p, billingGroupNotFound(field), func() (*ent.BillingGroup, error) {
		return readmodel.CachedView(ctx, p.OrgID, "billinggroup:"+id, func() (*ent.BillingGroup, error) {
			q := r.Client.BillingGroup.Query().Where(billinggroup.ID(id))
			if _, _, _, query := readmodel.OrgRevisionOf(ctx); query {
				// With what a dashboard would ask of it apart: whether it
				// has terms, the rows of its credit summary, the invoices
				// of its trend. Only for a
				// query: a mutation's later reads must see its writes.
				now := r.Clock.Now().In(r.Policy.Location())
				q = rated.WithTrendInvoices(credits.WithSummaryRows(rated.WithTermsFlags(q)), calendar.Month{Year: now.Year(), Month: now.Month()})
			}
			return q.Only(ctx)
		})
	}, billingGroupTenant)
	if err != nil {
		return nil, p, err
	}
	if err := checkBillingGroup(p, bg, check); err != nil {
		return nil, p, err
	}
	return bg, p, nil
}

// tenantOf names the organization owning a node ("" for platform data).
func (r *Resolver) tenantOf(ctx context.Context, n ent.Noder) (string, error) {
	switch v := n.(type) {
	case *ent.Region, *ent.Service, *ent.Price:
		return "", nil // the public catalog
	case *ent.Organization:
		return v.ID, nil
	case *ent.Account:
		return v.OrgID, nil
	case *ent.BillingGroup:
		return v.OrgID, nil
	case *ent.Grant:
		return v.OrgID, nil
	case *ent.APIToken:
		return v.OrgID, nil
	case *ent.Contract:
		return v.OrgID, nil
	case *ent.Invoice:
		return v.OrgID, nil
	case *ent.Discount:
		return v.OrgID, nil
	case *ent.Credit:
		return v.OrgID, nil
	case *ent.CreditEntry:
		return v.OrgID, nil
	case *ent.Promotion:
		if v.BillingGroupID == nil {
			return "", nil // offered platform-wide
		}
		bg, err := r.Client.BillingGroup.Get(ctx, *v.BillingGroupID)
		if err != nil {
			return "", err
		}
		return bg.OrgID, nil
	}
	return "", fmt.Errorf("node %T has no tenant rule", n)
}

// authorizeNode decides whether the caller may read a node of its own
// organization (or of the platform) fetched by id: visible already answered
// every other tenant's node as missing.
func (r *Resolver) authorizeNode(ctx context.Context, p *auth.Principal, n ent.Noder) error {
	allow := func(allowed bool) error {
		if !allowed {
			return kernel.Forbidden("you have no access to this object")
		}
		return nil
	}
	switch v := n.(type) {
	case *ent.Region, *ent.Service, *ent.Price, *ent.Organization:
		return nil
	case *ent.Account:
		return allow(p.Operator || (!p.Partner && (p.Master || p.AccountID == v.ID)))
	case *ent.BillingGroup:
		return checkBillingGroup(p, v, canReadBillingGroup)
	case *ent.Grant:
		return allow(p.Operator || (!p.Partner && (p.Master || p.AccountID == v.AccountID)))
	case *ent.APIToken:
		return allow(p.Operator || (p.Master && !p.Partner))
	case *ent.Contract:
		return r.authorizeInGroup(ctx, p, v.BillingGroupID, canReadBillingGroup)
	case *ent.Invoice:
		return r.authorizeInGroup(ctx, p, v.BillingGroupID, canReadBillingGroup)
	case *ent.Discount:
		return r.authorizeInGroup(ctx, p, v.BillingGroupID, canReadBillingGroup)
	case *ent.Promotion:
		if v.BillingGroupID == nil {
			return nil // offered platform-wide
		}
		return r.authorizeInGroup(ctx, p, *v.BillingGroupID, canReadBillingGroup)
	case *ent.Credit:
		return r.authorizeInGroup(ctx, p, v.BillingGroupID, canManageBillingGroup)
	case *ent.CreditEntry:
		c, err := r.Client.Credit.Get(ctx, v.CreditID)
		if err != nil {
			return err
		}
		return r.authorizeInGroup(ctx, p, c.BillingGroupID, canManageBillingGroup)
	}
	return kernel.NotFound("node")
}

func (r *Resolver) authorizeInGroup(ctx context.Context, p *auth.Principal, bgID string, check func(*auth.Principal, *ent.BillingGroup) bool) error {
	bg, err := r.Client.BillingGroup.Get(ctx, bgID)
	if err != nil {
		return err
	}
	return checkBillingGroup(p, bg, check)
}

// searchText admits an operator's search (accounts.SearchText) with a page
// size as the other connections take it.
func searchText(ctx context.Context, query string, first, last *int) (string, error) {
	if _, err := requireOperator(ctx); err != nil {
		return "", err
	}
	if err := checkPage(first, last); err != nil {
		return "", err
	}
	return accounts.SearchText(query)
}

// loadBudgetAlert reads the budget alert named by budgetAlertId for a caller
// who manages its billing group; another tenant's and a missing one answer
// alike.
func (r *Resolver) loadBudgetAlert(ctx context.Context, id string) (*ent.BudgetAlert, *ent.BillingGroup, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	notFound := &kernel.Error{Code: kernel.CodeNotFound, Field: "budgetAlertId", Message: "budget alert not found"}
	a, err := visible(p, notFound, func() (*ent.BudgetAlert, error) { return r.Client.BudgetAlert.Get(ctx, id) },
		func(a *ent.BudgetAlert) (string, error) { return a.OrgID, nil })
	if err != nil {
		return nil, nil, err
	}
	bg, err := r.Client.BillingGroup.Get(ctx, a.BillingGroupID)
	if err != nil {
		return nil, nil, err
	}
	if err := checkBillingGroup(p, bg, canManageBillingGroup); err != nil {
		return nil, nil, err
	}
	return a, bg, nil
}

// budgetStatus is an alert's month so far (the rating under it is the
// views' cached one, so its four fields cost one rating).
func (r *Resolver) budgetStatus(ctx context.Context, a *ent.BudgetAlert) (*budgets.BudgetStatus, error) {
	bg, err := r.Client.BillingGroup.Get(ctx, a.BillingGroupID)
	if err != nil {
		return nil, err
	}
	return r.engine().Budgets().BudgetStatusOf(ctx, bg, a)
}
