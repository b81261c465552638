package accounts

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/grant"
)

// SignUp is what a new account gives.
type SignUp struct {
	Email            string
	PasswordHash     string // already hashed; the policy was checked by the caller
	MemberType       string // INDIVIDUAL | BUSINESS
	ResidenceCountry string
	BirthDate        *time.Time
	OrganizationName string
	At               time.Time // when, by the engine's clock
}

// NormalizeEmail validates an email address and lower-cases it.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.IndexByte(s, '@'):], ".") {
		return "", kernel.FieldError(field, "%q is not a valid email address", kernel.Clip(s))
	}
	return strings.ToLower(s), nil
}

// AgeOK reports whether someone born on birth is at least 19 at now,
// counting birthdays in loc.
func AgeOK(birth, now time.Time, loc *time.Location) bool {
	now = now.In(loc)
	nineteenth := time.Date(birth.Year()+19, birth.Month(), birth.Day(), 0, 0, 0, 0, loc)
	return !now.Before(nineteenth)
}

// CreateAccount creates the account, its organization (the account is its
// master, R-03) and the organization's main billing group.
func CreateAccount(ctx context.Context, client *ent.Client, in SignUp) (*ent.Account, error) {
	if in.MemberType != "INDIVIDUAL" && in.MemberType != "BUSINESS" {
		return nil, kernel.FieldError("memberType", "member type must be INDIVIDUAL or BUSINESS")
	}
	if !ValidCountry(in.ResidenceCountry) {
		return nil, kernel.FieldError("residenceCountry", "%q is not an ISO 3166-1 alpha-2 country code (such as KR)", kernel.Clip(in.ResidenceCountry))
	}
	name := strings.TrimSpace(in.OrganizationName)
	if name == "" {
		name = in.Email
	}
	if len(name) > 200 {
		return nil, kernel.FieldError("organizationName", "organization name is at most 200 characters")
	}
	var acct *ent.Account
	err := kernel.WithTx(ctx, client, func(tx *ent.Tx) error {
		org, err := tx.Organization.Create().SetName(name).SetCreatedAt(in.At).Save(ctx)
		if err != nil {
			return err
		}
		acct, err = tx.Account.Create().
			SetOrgID(org.ID).SetEmail(in.Email).SetBillingEmail(in.Email).
			SetPasswordHash(in.PasswordHash).SetMemberType(account.MemberType(in.MemberType)).
			SetResidenceCountry(in.ResidenceCountry).SetNillableBirthDate(in.BirthDate).
			SetIsMaster(true).SetCreatedAt(in.At).Save(ctx)
		if kernel.IsUniqueViolation(err) {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "email", Message: "an account with this email already exists"}
		}
		if err != nil {
			return err
		}
		_, err = tx.BillingGroup.Create().SetOrgID(org.ID).SetName("Main").SetIsMain(true).SetCreatedAt(in.At).Save(ctx)
		return err
	})
	return acct, err
}

// CreateBillingGroup adds a billing group to an organization.
func CreateBillingGroup(ctx context.Context, client *ent.Client, orgID, name string, at time.Time) (*ent.BillingGroup, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, kernel.FieldError("name", "name must be 1 to 200 characters")
	}
	bg, err := client.BillingGroup.Create().SetOrgID(orgID).SetName(name).SetCreatedAt(at).Save(ctx)
	if kernel.IsUniqueViolation(err) {
		return nil, &kernel.Error{Code: kernel.CodeConflict, Field: "name", Message: "a billing group with this name already exists"}
	}
	return bg, err
}

// SetGrant gives (or changes) an account's role on a billing group of the
// same organization.
func SetGrant(ctx context.Context, client *ent.Client, bg *ent.BillingGroup, accountID, role string) error {
	return kernel.WithTx(ctx, client, func(tx *ent.Tx) error {
		acct, err := tx.Account.Query().Where(account.ID(accountID), account.OrgID(bg.OrgID)).Only(ctx)
		if ent.IsNotFound(err) {
			return &kernel.Error{Code: kernel.CodeNotFound, Field: "accountId", Message: "account not found"}
		}
		if err != nil {
			return err
		}
		return tx.Grant.Create().SetOrgID(bg.OrgID).SetBillingGroupID(bg.ID).SetAccountID(acct.ID).
			SetRole(grant.Role(role)).
			OnConflictColumns(grant.FieldBillingGroupID, grant.FieldAccountID).UpdateRole().
			Exec(ctx)
	})
}

// RemoveGrant takes an account's role on a billing group away.
func RemoveGrant(ctx context.Context, client *ent.Client, bg *ent.BillingGroup, accountID string) error {
	n, err := client.Grant.Delete().Where(grant.BillingGroupID(bg.ID), grant.AccountID(accountID)).Exec(ctx)
	if err == nil && n == 0 {
		return &kernel.Error{Code: kernel.CodeNotFound, Field: "accountId", Message: "no grant for this account on this billing group"}
	}
	return err
}

// ChangeBillingEmail sets where an account's billing mail goes.
func (e *Service) ChangeBillingEmail(ctx context.Context, accountID, email string) (*ent.Account, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	return e.Client.Account.UpdateOneID(accountID).SetBillingEmail(email).Save(ctx)
}

// CertifyBusiness marks an international business account as certified
// (an operator's act after checking its documents).
func (e *Service) CertifyBusiness(ctx context.Context, accountID string) (*ent.Account, error) {
	acct, err := e.Client.Account.Get(ctx, accountID)
	if ent.IsNotFound(err) {
		return nil, kernel.NotFound("account")
	}
	if err != nil {
		return nil, err
	}
	if acct.MemberType != account.MemberTypeBUSINESS || Domestic(acct) {
		return nil, kernel.FieldError("accountId", "only international business accounts are certified")
	}
	return acct.Update().SetBusinessCertified(true).Save(ctx)
}

// Domestic reports whether an account resides in Korea.
func Domestic(a *ent.Account) bool { return a.ResidenceCountry == "KR" }

// Service owns the use cases of accounts, API tokens and phone
// verification.
type Service struct {
	Client *ent.Client
	Clock  calendar.Clock
}
