package app_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// TestOperatorSearch: operators find organizations, accounts and billing
// groups by an email, a name or an id (issue 16), a page at a time; text
// matches anywhere ignoring case, ids whole, LIKE's wildcards literally;
// to anyone else the queries are forbidden like any operator-only field.
func TestOperatorSearch(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		signUp := func(email, org string) (token, accountID string) {
			d := e.ok("", signUpMutation, map[string]any{"in": map[string]any{"email": email, "password": "Secret!234",
				"memberType": "BUSINESS", "residenceCountry": "KR", "organizationName": org}})
			return str(d, "signUp.accessToken"), str(d, "signUp.account.id")
		}
		acmeTok, acmeMaster := signUp("kim.finance@acme-cloud.example", "Acme 클라우드 주식회사")
		_, otherMaster := signUp("lee@other.example", "Other 50% Co")
		acmeMain := e.mainGroup(acmeTok)
		dev := str(e.ok(acmeTok, `mutation { createBillingGroup(input: {name: "Dev Projects"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		acmeOrg := str(e.ok(acmeTok, `{ viewer { account { organization { id } } } }`, nil), "viewer.account.organization.id")

		ids := func(query, q string, vars map[string]any) []string {
			t.Helper()
			if vars == nil {
				vars = map[string]any{}
			}
			vars["q"] = q
			d := e.ok(e.op, query, vars)
			var out []string
			for _, c := range d {
				for _, edge := range get(c, "edges").([]any) {
					out = append(out, str(edge, "node.id"))
				}
			}
			sort.Strings(out)
			return out
		}
		orgs := func(q string) []string {
			return ids(`query($q: String!) { searchOrganizations(query: $q, first: 100) { edges { node { id } } } }`, q, nil)
		}
		accounts := func(q string) []string {
			return ids(`query($q: String!) { searchAccounts(query: $q, first: 100) { edges { node { id } } } }`, q, nil)
		}
		groups := func(q string) []string {
			return ids(`query($q: String!) { searchBillingGroups(query: $q, first: 100) { edges { node { id } } } }`, q, nil)
		}
		want := func(what string, got []string, want ...string) {
			t.Helper()
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: got %v, want %v", what, got, want)
			}
		}
		want("organizations by an email's part, another case", orgs("KIM.Finance@ACME"), acmeOrg)
		want("organizations by a Korean name", orgs("클라우드"), acmeOrg)
		want("organizations by a billing group's id", orgs(dev), acmeOrg)
		want("organizations by a literal %", orgs("50%"), get(e.ok(e.op, `query($id: ID!) { node(id: $id) { ... on Account { organization { id } } } }`, map[string]any{"id": otherMaster}), "node.organization.id").(string))
		want("a wildcard alone matches nothing", orgs("%"), orgs("50%")...)
		want("accounts by email", accounts("acme-cloud"), acmeMaster)
		want("accounts by id", accounts(acmeMaster), acmeMaster)
		want("accounts by their organization's id", accounts(acmeOrg), acmeMaster)
		want("a part of an id is no id", accounts(acmeMaster[:len(acmeMaster)-3]))
		want("billing groups by name", groups("dev proj"), dev)
		want("billing groups by the master's email", groups("kim.finance"), acmeMain, dev)
		want("billing groups by the organization's id", groups(acmeOrg), acmeMain, dev)
		want("nothing", groups("no such customer"))

		// Paginated as the other connections.
		page := e.ok(e.op, `query($q: String!) { searchBillingGroups(query: $q, first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, map[string]any{"q": acmeOrg})
		if get(page, "searchBillingGroups.totalCount") != float64(2) || get(page, "searchBillingGroups.pageInfo.hasNextPage") != true {
			t.Errorf("first page: %v", page)
		}
		next := ids(`query($q: String!, $after: Cursor) { searchBillingGroups(query: $q, first: 1, after: $after) { edges { node { id } } } }`,
			acmeOrg, map[string]any{"after": str(page, "searchBillingGroups.pageInfo.endCursor")})
		if len(next) != 1 || next[0] == str(page, "searchBillingGroups.edges.0.node.id") {
			t.Errorf("second page: %v after %v", next, page)
		}

		// Bad input is told, forbidden is forbidden.
		for _, q := range []string{"", "   ", strings.Repeat("x", 201)} {
			r := e.fails("BAD_USER_INPUT", e.op, `query($q: String!) { searchAccounts(query: $q, first: 10) { totalCount } }`, map[string]any{"q": q})
			if r.Errors[0].Extensions["field"] != "query" {
				t.Errorf("search %q: %+v", q, r.Errors)
			}
		}
		forbidden := e.fails("FORBIDDEN", acmeTok, `mutation { createRegion(input: {code: "x-1", name: "X"}) { region { code } } }`, nil)
		for _, f := range []string{"searchOrganizations", "searchAccounts", "searchBillingGroups"} {
			r := e.fails("FORBIDDEN", acmeTok, `query($q: String!) { `+f+`(query: $q, first: 10) { totalCount } }`, map[string]any{"q": "acme"})
			if r.Errors[0].Message != forbidden.Errors[0].Message {
				t.Errorf("%s as a master: %q, unlike another operator-only field (%q)", f, r.Errors[0].Message, forbidden.Errors[0].Message)
			}
			e.fails("UNAUTHENTICATED", "", `query($q: String!) { `+f+`(query: $q, first: 10) { totalCount } }`, map[string]any{"q": "acme"})
		}
	})
}
