package graph

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/graph/model"
	"github.com/cloudbill/cloudbill/server/auth"
)

// invite records an invitation of email into the master's organization and
// emails its signed token to the invitee (issue 14: nothing moves without
// the invitee's consent). The answer is the same whether or not the email
// has an account elsewhere.
func (r *Resolver) invite(ctx context.Context, p *auth.Principal, email string) (*model.InviteMemberPayload, error) {
	if _, err := r.Throttle.Take(ctx, auth.InvitationKey(p.OrgID)); err != nil {
		return nil, err
	}
	inviter, err := r.Client.Account.Get(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	org, err := r.Client.Organization.Get(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	inv, token, err := accounts.Invite(ctx, r.Client, inviter, org.Name, email, r.Clock.Now(), func(inv *ent.Invitation) (string, error) {
		return r.Tokens.MintInvitation(inv.ID, inv.OrgID, inv.ExpiresAt)
	})
	if err != nil {
		return nil, err
	}
	return &model.InviteMemberPayload{Invitation: inv, Token: token}, nil
}

// acceptInvitation moves the signed-in account into the organization that
// invited it (billing.AcceptInvitation says when it may) and starts a new
// session there.
func (r *Resolver) acceptInvitation(ctx context.Context, token string) (*model.AuthPayload, error) {
	p, err := requireAccount(ctx)
	if err != nil {
		return nil, err
	}
	id, err := r.Tokens.InvitationID(token)
	if err != nil {
		return nil, &kernel.Error{Code: kernel.CodeNotFound, Field: "token", Message: "no such invitation for this account (it may have expired)"}
	}
	acct, err := accounts.AcceptInvitation(ctx, r.Client, r.Postgres, id, p.AccountID, r.Clock.Now())
	if err != nil {
		return nil, err
	}
	// The rest of this request — its payload and its audit entry — sees the
	// caller as the member it now is.
	p.OrgID, p.Master, p.Grants, p.Account = acct.OrgID, false, map[string]string{}, acct
	return r.session(ctx, acct)
}
