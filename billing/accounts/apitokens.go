package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/apitoken"
)

// APITokenSpec is a partner API token to create: its secret is
// made and hashed by the caller (server/auth), which alone knows the
// format; only the hash and a hint of it are stored.
type APITokenSpec struct {
	OrgID, AccountID string
	Name             string
	Scopes           []string
	ExpiresAt        *time.Time
	Hint, SecretHash string
}

// CreateAPIToken stores a new API token of the organization, named 1 to
// 200 characters and expiring in the future if at all.
func (e *Service) CreateAPIToken(ctx context.Context, in APITokenSpec) (*ent.APIToken, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(e.Clock.Now()) {
		return nil, kernel.FieldError("expiresAt", "expiresAt must be in the future")
	}
	return e.Client.APIToken.Create().SetOrgID(in.OrgID).SetAccountID(in.AccountID).SetName(name).
		SetHint(in.Hint).SetSecretHash(in.SecretHash).SetScopes(in.Scopes).
		SetNillableExpiresAt(in.ExpiresAt).Save(ctx)
}

// RevokeAPIToken revokes an API token of the organization (a token of
// another organization is not found); revoking twice keeps the first
// instant. A request with it is refused from then on (server/auth), and
// a websocket opened with it is closed at the next socket check
// (server/app/sockets.go).
func (e *Service) RevokeAPIToken(ctx context.Context, orgID, id string) (*ent.APIToken, error) {
	tok, err := e.Client.APIToken.Query().Where(apitoken.ID(id), apitoken.OrgID(orgID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("API token")
	}
	if err != nil || tok.RevokedAt != nil {
		return tok, err
	}
	return tok.Update().SetRevokedAt(e.Clock.Now()).Save(ctx)
}
