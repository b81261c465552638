package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/apitoken"
	"github.com/cloudbill/cloudbill/ent/grant"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/predicate"
	"github.com/cloudbill/cloudbill/ent/refreshtoken"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/golang-jwt/jwt/v5"
)

// Session is a freshly issued access + refresh token pair.
type Session struct {
	AccessToken, RefreshToken string
	AccessExpiresAt           time.Time
}

// Issue mints an access token and a rotating refresh token for an account.
// family groups the refresh tokens of one sign-in ("" starts a new family).
func (t *Tokens) Issue(ctx context.Context, client *ent.Client, acct *ent.Account, family string) (*Session, error) {
	if family == "" {
		family = xid.New("fam")
	}
	rt, err := client.RefreshToken.Create().SetOrgID(acct.OrgID).SetAccountID(acct.ID).
		SetFamily(family).SetExpiresAt(t.Now().Add(t.RefreshTTL)).Save(ctx)
	if err != nil {
		return nil, err
	}
	access, exp, err := t.Mint(TypeAccess, acct.ID, acct.OrgID, xid.New("jti"), nil, t.AccessTTL)
	if err != nil {
		return nil, err
	}
	refresh, _, err := t.Mint(TypeRefresh, acct.ID, acct.OrgID, rt.ID, nil, t.RefreshTTL)
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, AccessExpiresAt: exp}, nil
}

var errInvalidRefresh = kernel.Errorf(kernel.CodeUnauthenticated, "the refresh token is invalid, expired or already used")

// Refresh spends a refresh token and issues a new pair in the same family.
// A refresh token works once: spending it again (a stolen copy) revokes the
// whole family, so the thief and the owner both have to sign in again.
func (t *Tokens) Refresh(ctx context.Context, client *ent.Client, raw string) (*Session, error) {
	c, err := t.Parse(raw, TypeRefresh)
	if err != nil || c.ID == "" {
		return nil, errInvalidRefresh
	}
	rt, err := client.RefreshToken.Get(ctx, c.ID)
	if err != nil || rt.AccountID != c.Subject {
		return nil, errInvalidRefresh
	}
	// Spend it atomically: only one concurrent refresh wins.
	n, err := client.RefreshToken.Update().
		Where(refreshtoken.ID(rt.ID), refreshtoken.UsedAtIsNil(), refreshtoken.ExpiresAtGT(t.Now())).
		SetUsedAt(t.Now()).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		_, _ = client.RefreshToken.Update().Where(refreshtoken.Family(rt.Family), refreshtoken.UsedAtIsNil()).
			SetUsedAt(t.Now()).Save(ctx)
		return nil, errInvalidRefresh
	}
	acct, err := client.Account.Get(ctx, rt.AccountID)
	if err != nil {
		return nil, errInvalidRefresh
	}
	return t.Issue(ctx, client, acct, rt.Family)
}

var errBadCredentials = kernel.Errorf(kernel.CodeUnauthenticated, "invalid or expired credentials")

// Resolve turns an Authorization bearer value into the request's principal,
// with the caller's database grants loaded once.
func (t *Tokens) Resolve(ctx context.Context, client *ent.Client, bearer string) (*Principal, error) {
	if strings.HasPrefix(bearer, APITokenPrefix) {
		return t.resolveAPIToken(ctx, client, bearer)
	}
	c, err := t.Parse(bearer, TypeAccess)
	if err != nil {
		if t.SetClock && isClockError(err) {
			return nil, t.clockMismatch()
		}
		return nil, errBadCredentials
	}
	p, err := t.resolveJWT(ctx, client, c)
	if p != nil && c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Add(Leeway) // exp is required: Parse refuses a token without
	}
	return p, err
}

// resolveJWT finds the principal a verified JWT names.
func (t *Tokens) resolveJWT(ctx context.Context, client *ent.Client, c *Claims) (*Principal, error) {
	p := &Principal{}
	for _, r := range c.Roles {
		if r == RoleOperator {
			p.Operator = true
		}
	}
	var pred predicate.Account
	switch {
	case c.External: // an identity provider's token names the account by email
		if c.Email == "" {
			return nil, errBadCredentials
		}
		pred = account.Email(strings.ToLower(c.Email))
	case strings.HasPrefix(c.Subject, "acct_"):
		if cp, ok, err := t.cachedPrincipal(ctx, client, c, p.Operator); err != nil || ok {
			return cp, err
		}
		pred = account.ID(c.Subject)
	case p.Operator:
		p.Email = c.Subject
		return p, nil // an operator without an account
	default:
		return nil, errBadCredentials
	}
	// The account, its grants and its organization's revision in one
	// statement: every request pays it.
	var rows []struct {
		GrantBG   sql.NullString `json:"grant_bg"`
		GrantRole sql.NullString `json:"grant_role"`
		Revision  sql.NullInt64  `json:"org_revision"`
		UsageRev  sql.NullInt64  `json:"org_usage_revision"`
		ent.Account
	}
	cols := make([]string, 0, len(account.Columns))
	for _, c := range account.Columns {
		// Secrets (sensitive fields) never leave their own paths: the
		// password's login, the phone code's verification.
		if c != account.FieldPasswordHash && c != account.FieldPhoneCodeHash {
			cols = append(cols, c)
		}
	}
	err := client.Account.Query().Where(pred).Select(cols...).Modify(func(s *entsql.Selector) {
		g := entsql.Table(grant.Table)
		o := entsql.Table(organization.Table)
		s.LeftJoin(g).On(s.C(account.FieldID), g.C(grant.FieldAccountID)).
			LeftJoin(o).On(s.C(account.FieldOrgID), o.C(organization.FieldID)).
			AppendSelect(entsql.As(g.C(grant.FieldBillingGroupID), "grant_bg"), entsql.As(g.C(grant.FieldRole), "grant_role"),
				entsql.As(o.C(organization.FieldRevision), "org_revision"), entsql.As(o.C(organization.FieldUsageRevision), "org_usage_revision"))
	}).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errBadCredentials
	}
	acct := rows[0].Account
	p.AccountID, p.OrgID, p.Email, p.Master, p.Account = acct.ID, acct.OrgID, acct.Email, acct.IsMaster, &acct
	p.OrgRevision, p.OrgUsageRevision = rows[0].Revision.Int64, rows[0].UsageRev.Int64
	p.Grants = make(map[string]string, len(rows))
	for _, r := range rows {
		if r.GrantBG.Valid {
			p.Grants[r.GrantBG.String] = r.GrantRole.String
		}
	}
	if t.principals != nil && rows[0].Revision.Valid {
		t.principals.Add(acct.ID, cachedPrincipal{rev: rows[0].Revision.Int64, p: *p})
	}
	return p, nil
}

// cachedPrincipal is an account's principal as resolved under its
// organization's revision. Accounts and grants are among the tables whose
// every change moves the revision (server/store/revision.go), so while it
// is unchanged the account and its grants are too.
type cachedPrincipal struct {
	rev int64
	p   Principal
}

const revisionQuery = "SELECT revision, usage_revision FROM organizations WHERE id = $1"

// cachedPrincipal answers from the principal cache when the organization
// the token names still has the revision the cached principal was read
// under: one primary-key read instead of the account, its grants and the
// organization joined.
func (t *Tokens) cachedPrincipal(ctx context.Context, client *ent.Client, c *Claims, operator bool) (*Principal, bool, error) {
	if c.Org == "" || t.principals == nil {
		return nil, false, nil
	}
	e, ok := t.principals.Get(c.Subject)
	if !ok || e.p.OrgID != c.Org {
		return nil, false, nil
	}
	rows, err := client.QueryContext(ctx, revisionQuery, c.Org)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var rev, usageRev int64
	if !rows.Next() {
		return nil, false, rows.Err()
	}
	if err := rows.Scan(&rev, &usageRev); err != nil {
		return nil, false, err
	}
	if rev != e.rev {
		return nil, false, nil
	}
	p := e.p
	p.Operator, p.OrgRevision, p.OrgUsageRevision = operator, rev, usageRev
	return &p, true, nil
}

func (t *Tokens) resolveAPIToken(ctx context.Context, client *ent.Client, secret string) (*Principal, error) {
	if len(secret) > 200 {
		return nil, errBadCredentials
	}
	tok, err := client.APIToken.Query().Where(apitoken.SecretHash(HashAPIToken(secret))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, err
	}
	now := t.Now()
	if tok.RevokedAt != nil || (tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)) {
		return nil, errBadCredentials
	}
	// last_used_at is written at most once a minute per token, to keep
	// hot partner traffic from turning every read into a write.
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > time.Minute {
		if err := client.APIToken.UpdateOneID(tok.ID).SetLastUsedAt(now).Exec(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	p := &Principal{OrgID: tok.OrgID, Partner: true, TokenID: tok.ID, Scopes: tok.Scopes, Grants: map[string]string{}}
	if tok.ExpiresAt != nil {
		p.ExpiresAt = *tok.ExpiresAt
	}
	return p, nil
}

// isClockError: a well-signed token refused only for its times (jwt/v5
// checks the claims after the signature).
func isClockError(err error) bool {
	return errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) ||
		errors.Is(err, jwt.ErrTokenUsedBeforeIssued)
}

// clockMismatch tells the holder of a token minted on another clock which
// clock this server reads (outside production only: CLOUDBILL_CLOCK is
// refused there).
func (t *Tokens) clockMismatch() error {
	return kernel.Errorf(kernel.CodeUnauthenticated,
		"the token is expired or not yet valid on this server's clock, which CLOUDBILL_CLOCK set to read %s now: "+
			"mint tokens on it (`go run ./server token …` with the same CLOUDBILL_DATA_DIR, or the same CLOUDBILL_CLOCK), or call login",
		t.Now().Format(time.RFC3339))
}
