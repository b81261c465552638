package auth

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/ent"
)

// Role names.
const (
	RoleMaster         = "MASTER"
	RoleBillingManager = "BILLING_MANAGER"
	RoleMember         = "MEMBER"
	RolePartner        = "PARTNER"
	RoleOperator       = "OPERATOR"
)

// API token scopes a master may give a partner.
const (
	ScopeBillingRead        = "billing:read"
	ScopeUsageWrite         = "usage:write"
	ScopePaymentMethodWrite = "payment_methods:write"
)

// Scopes lists every valid API token scope.
var Scopes = []string{ScopeBillingRead, ScopeUsageWrite, ScopePaymentMethodWrite}

// Principal is the caller of one request, resolved once from its credentials
// and the database grants.
type Principal struct {
	AccountID string // empty for an operator without an account
	OrgID     string
	Email     string
	Master    bool
	Operator  bool
	// Partner is set for API tokens; Scopes then limit what they may do.
	Partner bool
	TokenID string
	Scopes  []string
	// Grants maps billing group id → BILLING_MANAGER | MEMBER.
	Grants map[string]string
	// Account is the signed-in account as read when resolving (nil for
	// partners and account-less operators).
	Account *ent.Account
	// OrgRevision is the organization's revision as read with the
	// principal; read-only requests key the views they cache by it.
	OrgRevision int64
	// OrgUsageRevision is the organization's usage revision, read likewise.
	OrgUsageRevision int64
	// ExpiresAt is when the credentials stop being accepted (a JWT's exp
	// plus the leeway, an API token's expiry); zero when they do not
	// expire. A websocket opened with them is closed then.
	ExpiresAt time.Time
}

// Roles lists the principal's roles for Viewer.roles.
func (p *Principal) Roles() []string {
	var r []string
	if p.Master {
		r = append(r, RoleMaster)
	}
	var bm, mem bool
	for _, g := range p.Grants {
		bm = bm || g == RoleBillingManager
		mem = mem || g == RoleMember
	}
	if bm {
		r = append(r, RoleBillingManager)
	}
	if mem {
		r = append(r, RoleMember)
	}
	if p.Partner {
		r = append(r, RolePartner)
	}
	if p.Operator {
		r = append(r, RoleOperator)
	}
	return r
}

// HasScope reports whether a partner token carries scope.
func (p *Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Caller is a stable key for idempotency and rate limits.
func (p *Principal) Caller() string {
	switch {
	case p.Partner:
		return "token:" + p.TokenID
	case p.AccountID != "":
		return "account:" + p.AccountID
	case p.Operator:
		return "operator:" + p.Email
	}
	return "anonymous"
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or nil when anonymous.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
