package accounts

import (
	"strings"
	"unicode/utf8"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/ent/predicate"
)

// Operators on call find a customer by whatever they were given: an email
// (the login or the billing address), a name (the organization's, a
// billing group's, an account's legal name) or an id of any of the three.
// Text matches anywhere, ignoring case; ids match whole. Results come in
// creation order (ids are time-ordered), a page at a time.

// maxSearch bounds a search text.
const maxSearch = 200

// SearchText validates an operator's search text: trimmed, 1 to 200
// characters on one line.
func SearchText(q string) (string, error) {
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > maxSearch || strings.ContainsAny(q, "\r\n\x00") {
		return "", kernel.FieldError("query", "search for 1 to %d characters: an email, a name or an id", maxSearch)
	}
	return q, nil
}

// accountMatches: an account whose id, email, billing email or legal name
// matches q.
func accountMatches(q string) predicate.Account {
	return account.Or(account.ID(q), account.EmailContainsFold(q), account.BillingEmailContainsFold(q),
		account.LegalNameContainsFold(q))
}

// groupMatches: a billing group whose id or name matches q.
func groupMatches(q string) predicate.BillingGroup {
	return billinggroup.Or(billinggroup.ID(q), billinggroup.NameContainsFold(q))
}

// orgMatches: an organization whose id or name matches q, or one of whose
// accounts or billing groups does.
func orgMatches(q string) predicate.Organization {
	return organization.Or(organization.ID(q), organization.NameContainsFold(q),
		organization.HasAccountsWith(accountMatches(q)), organization.HasBillingGroupsWith(groupMatches(q)))
}

// SearchOrganizations finds organizations by q (SearchText).
func SearchOrganizations(client *ent.Client, q string) *ent.OrganizationQuery {
	return client.Organization.Query().Where(orgMatches(q))
}

// SearchAccounts finds accounts matching q, and the accounts of an
// organization whose id or name is q.
func SearchAccounts(client *ent.Client, q string) *ent.AccountQuery {
	return client.Account.Query().Where(account.Or(accountMatches(q),
		account.HasOrganizationWith(organization.Or(organization.ID(q), organization.NameContainsFold(q)))))
}

// SearchBillingGroups finds billing groups matching q, and those of an
// organization that matches q by its id, its name or an account.
func SearchBillingGroups(client *ent.Client, q string) *ent.BillingGroupQuery {
	return client.BillingGroup.Query().Where(billinggroup.Or(groupMatches(q),
		billinggroup.HasOrganizationWith(organization.Or(organization.ID(q), organization.NameContainsFold(q),
			organization.HasAccountsWith(accountMatches(q))))))
}
