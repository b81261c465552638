package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudbill/cloudbill/billing/topics"

	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/couponguess"
	"github.com/cloudbill/cloudbill/ent/invitation"
	"github.com/cloudbill/cloudbill/ent/migrate"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/promotion"
	"github.com/cloudbill/cloudbill/ent/refreshtoken"
)

// InvitationTTL is how long an invitation may be accepted (a week, as
// GitHub's organization invitations).
const InvitationTTL = 7 * 24 * time.Hour

// CodeAccountNotEmpty refuses to move an account that holds anything.
const CodeAccountNotEmpty = "ACCOUNT_NOT_EMPTY"

var errNoInvitation = &kernel.Error{Code: kernel.CodeNotFound, Field: "token", Message: "no such invitation for this account (it may have expired)"}

// Invite records an invitation of email (normalised) into the inviter's
// organization and queues its email (member.invited, with the signed token
// mint makes for it) in the same transaction. It says nothing about
// whether the email has an account elsewhere; only a member of this very
// organization is refused. It answers the invitation and its token. With
// no mint nothing is sent (the demo seed's member accepts at once).
func Invite(ctx context.Context, client *ent.Client, inviter *ent.Account, orgName, email string, now time.Time,
	mint func(inv *ent.Invitation) (string, error)) (*ent.Invitation, string, error) {
	var inv *ent.Invitation
	var token string
	err := kernel.WithTx(ctx, client, func(tx *ent.Tx) error {
		member, err := tx.Account.Query().Where(account.Email(email), account.OrgID(inviter.OrgID)).Exist(ctx)
		if err != nil {
			return err
		}
		if member {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "email", Message: "this email is already a member of your organization"}
		}
		inv, err = tx.Invitation.Create().SetOrgID(inviter.OrgID).SetEmail(email).SetInvitedBy(inviter.ID).
			SetCreatedAt(now).SetExpiresAt(now.Add(InvitationTTL)).Save(ctx)
		if err != nil {
			return err
		}
		if mint == nil {
			return nil
		}
		if token, err = mint(inv); err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"organization": orgName, "invitedBy": inviter.Email,
			"token": token, "expiresAt": inv.ExpiresAt.Format(time.RFC3339)})
		if err != nil {
			return err
		}
		// In the inviter's language: the invitee has no account to choose one.
		return tx.OutboxEvent.Create().SetOrgID(inv.OrgID).SetTopic(topics.MemberInvited).SetChannel(topics.ChannelEmail).
			SetRecipient(inv.Email).SetLanguage(topics.LanguageOf(inviter)).SetPayload(body).Exec(ctx)
	})
	return inv, token, err
}

// AcceptInvitation moves the account accountID into the organization that
// invited it, as a member: only with an unspent, unexpired invitation to
// its own login email (anything else answers as no invitation), and only
// an account alone in an organization that holds nothing else — no member,
// payment method, coin, credit, API token, usage, invoice, payment, second
// billing group or any other history (ACCOUNT_NOT_EMPTY). The empty
// organization it leaves is removed with its main billing group; its audit
// entries stay for operators.
func AcceptInvitation(ctx context.Context, client *ent.Client, postgres bool, invitationID, accountID string, now time.Time) (*ent.Account, error) {
	var out *ent.Account
	err := kernel.WithTx(ctx, client, func(tx *ent.Tx) error {
		iq := tx.Invitation.Query().Where(invitation.ID(invitationID))
		aq := tx.Account.Query().Where(account.ID(accountID))
		if postgres { // two acceptances, or an acceptance and a spent invitation, one at a time
			iq, aq = iq.ForUpdate(), aq.ForUpdate()
		}
		acct, err := aq.Only(ctx)
		if err != nil {
			return err
		}
		inv, err := iq.Only(ctx)
		if ent.IsNotFound(err) || (err == nil && (inv.Email != acct.Email || !now.Before(inv.ExpiresAt))) {
			return errNoInvitation
		}
		if err != nil {
			return err
		}
		if acct.OrgID == inv.OrgID {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "token", Message: "you are already a member of this organization"}
		}
		if inv.AcceptedAt != nil {
			return &kernel.Error{Code: kernel.CodeConflict, Field: "token", Message: "this invitation was already accepted"}
		}
		old := acct.OrgID
		if postgres {
			if _, err := tx.Organization.Query().Where(organization.ID(old)).ForUpdate().Only(ctx); err != nil {
				return err
			}
		}
		if what, err := orgHolding(ctx, tx, old, acct.ID); err != nil {
			return err
		} else if what != "" {
			return &kernel.Error{Code: CodeAccountNotEmpty, Message: "this account already holds " + what +
				" in its organization, and an account that holds anything never moves to another organization; ask to be invited with another email"}
		}
		if out, err = moveAccount(ctx, tx, acct, inv.OrgID); err != nil {
			return err
		}
		return inv.Update().SetAcceptedAt(now).SetAccountID(acct.ID).Exec(ctx)
	})
	return out, err
}

// moveAccount makes an account that holds nothing a member of orgID and
// removes the empty organization it leaves. Its sessions end (a new one is
// issued by the caller): they name the old organization.
func moveAccount(ctx context.Context, tx *ent.Tx, acct *ent.Account, orgID string) (*ent.Account, error) {
	old := acct.OrgID
	if _, err := tx.RefreshToken.Delete().Where(refreshtoken.AccountID(acct.ID)).Exec(ctx); err != nil {
		return nil, err
	}
	if _, err := tx.CouponGuess.Delete().Where(couponguess.OrgID(old)).Exec(ctx); err != nil {
		return nil, err
	}
	if _, err := tx.BillingGroup.Delete().Where(billinggroup.OrgID(old)).Exec(ctx); err != nil {
		return nil, err
	}
	moved, err := tx.Account.UpdateOne(acct).SetOrgID(orgID).SetIsMaster(false).Save(ctx)
	if err != nil {
		return nil, err
	}
	return moved, tx.Organization.DeleteOneID(old).Exec(ctx)
}

// movableLeftovers are the tenant tables whose rows in an organization do
// not count as holding anything: the account itself and its main billing
// group (checked apart), its sessions and wrong coupon codes (removed with
// it), and the audit log (kept for operators). Every other table with an
// org_id — today's and any added later — counts.
var movableLeftovers = map[string]bool{
	migrate.AccountsTable.Name: true, migrate.BillingGroupsTable.Name: true,
	migrate.RefreshTokensTable.Name: true, migrate.CouponGuessesTable.Name: true, migrate.AuditEventsTable.Name: true,
}

// orgHolding names what an organization holds besides accountID and its
// main billing group ("" for nothing).
func orgHolding(ctx context.Context, tx *ent.Tx, orgID, accountID string) (string, error) {
	if n, err := tx.Account.Query().Where(account.OrgID(orgID), account.IDNEQ(accountID)).Exist(ctx); err != nil || n {
		return "other members", err
	}
	groups, err := tx.BillingGroup.Query().Where(billinggroup.OrgID(orgID)).IDs(ctx)
	if err != nil {
		return "", err
	}
	if len(groups) > 1 {
		return "billing groups", nil
	}
	if n, err := tx.Promotion.Query().Where(promotion.BillingGroupIDIn(groups...)).Exist(ctx); err != nil || n {
		return "promotions", err
	}
	for _, t := range migrate.Tables {
		if movableLeftovers[t.Name] || !hasColumn(t.Columns, "org_id") {
			continue
		}
		rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT 1 FROM %s WHERE org_id = $1 LIMIT 1", t.Name), orgID)
		if err != nil {
			return "", err
		}
		found, err := firstRow(rows)
		if err != nil || found {
			return holdingName(t.Name), err
		}
	}
	return "", nil
}

// holdingName says what a table's rows are, for the refusal.
func holdingName(table string) string {
	switch table {
	case migrate.PaymentMethodsTable.Name:
		return "payment methods"
	case migrate.CoinChargesTable.Name, migrate.CoinSharesTable.Name, migrate.CoinUsagesTable.Name:
		return "coins"
	case migrate.CreditsTable.Name, migrate.CreditEntriesTable.Name:
		return "credits"
	case migrate.APITokensTable.Name:
		return "API tokens"
	}
	return "billing history (" + table + ")"
}

func hasColumn(cols []*entschema.Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

// firstRow tells whether rows has a row, and closes it.
func firstRow(rows interface {
	Next() bool
	Err() error
	Close() error
}) (bool, error) {
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}
