package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Tenants never see each other; inside an organization members see only
// what they are granted (R-04..R-07).
func TestTenantIsolationAndGrants(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a, _ := e.signUp("a@example.com")
		b, _ := e.signUp("b@example.com")
		aMain, bMain := e.mainGroup(a), e.mainGroup(b)
		bg := `query($id: ID!) { billingGroup(id: $id) { id name } }`
		node := `query($id: ID!) { node(id: $id) { id ... on BillingGroup { name } } }`

		// A foreign id reads as NOT_FOUND, never FORBIDDEN.
		e.fails("NOT_FOUND", a, bg, map[string]any{"id": bMain})
		e.fails("NOT_FOUND", a, node, map[string]any{"id": bMain})
		e.fails("NOT_FOUND", a, bg, map[string]any{"id": "bg_01zzzzzzzzzzzzzzzzzzzzzzzz"})
		e.fails("NOT_FOUND", a, node, map[string]any{"id": "nonsense"})
		if got := str(e.ok(a, node, map[string]any{"id": aMain}), "node.name"); got != "Main" {
			t.Fatalf("own node name = %q", got)
		}
		nodes := e.gql(a, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{aMain, bMain}})
		if get(nodes.Data, "nodes.0.id") != aMain || get(nodes.Data, "nodes.1") != nil || nodes.code() != "NOT_FOUND" {
			t.Fatalf("nodes = %v %+v", nodes.Data, nodes.Errors)
		}

		// A member joins A and sees nothing until granted.
		m, _ := e.signUp("m@example.com")
		mID := e.join(a, "m@example.com")
		if get(e.ok(m, `{ viewer { account { isMaster } } }`, nil), "viewer.account.isMaster") != false {
			t.Fatal("invited member must not be master")
		}
		e.fails("NOT_FOUND", b, `mutation($id: ID!) { grantBillingGroupRole(input: {billingGroupId: $id, accountId: "acct_x", role: MEMBER}) { billingGroup { id } } }`,
			map[string]any{"id": aMain})
		team := str(e.ok(a, `mutation { createBillingGroup(input: {name: "Team"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		if n := len(get(e.ok(m, `{ viewer { roles billingGroups { id } } }`, nil), "viewer.billingGroups").([]any)); n != 0 {
			t.Fatalf("ungranted member sees %d groups", n)
		}
		grant := `mutation($bg: ID!, $acct: ID!, $role: BillingGroupRole!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $acct, role: $role}) { billingGroup { grants { role account { email } } } } }`
		e.fails("FORBIDDEN", m, grant, map[string]any{"bg": team, "acct": mID, "role": "BILLING_MANAGER"})
		g := e.ok(a, grant, map[string]any{"bg": team, "acct": mID, "role": "MEMBER"})
		if str(g, "grantBillingGroupRole.billingGroup.grants.0.account.email") != "m@example.com" {
			t.Fatalf("grants = %v", g)
		}
		mv := e.ok(m, `{ viewer { roles billingGroups { id } } }`, nil)
		if str(mv, "viewer.billingGroups.0.id") != team || str(mv, "viewer.roles.0") != "MEMBER" {
			t.Fatalf("member viewer = %v", mv)
		}
		e.ok(m, bg, map[string]any{"id": team})
		e.fails("FORBIDDEN", m, bg, map[string]any{"id": aMain})   // same organization, not granted
		e.fails("FORBIDDEN", m, node, map[string]any{"id": aMain}) // also through node(id)
		e.fails("FORBIDDEN", m, `query($id: ID!) { billingGroup(id: $id) { grants { role } } }`, map[string]any{"id": team})
		e.fails("FORBIDDEN", m, `mutation { createBillingGroup(input: {name: "Mine"}) { billingGroup { id } } }`, nil)
		e.fails("FORBIDDEN", m, `mutation($id: ID!) { exportUsageDetails(input: {billingGroupId: $id, month: "2026-10"}) { url } }`, map[string]any{"id": team})
		e.fails("NOT_FOUND", b, `mutation($id: ID!) { exportUsageDetails(input: {billingGroupId: $id, month: "2026-10"}) { url } }`, map[string]any{"id": team})

		// Revoking takes effect on the next request.
		e.ok(a, `mutation($bg: ID!, $acct: ID!) { revokeBillingGroupRole(input: {billingGroupId: $bg, accountId: $acct, role: MEMBER}) { billingGroup { id } } }`,
			map[string]any{"bg": team, "acct": mID})
		e.fails("FORBIDDEN", m, bg, map[string]any{"id": team})

		// Operators administer the catalog; nobody else does.
		region := `mutation($c: String!) { createRegion(input: {code: $c, name: "Test"}) { region { code } } }`
		e.fails("UNAUTHENTICATED", "", region, map[string]any{"c": "t-1"})
		e.fails("FORBIDDEN", a, region, map[string]any{"c": "t-1"})
		e.ok(e.op, region, map[string]any{"c": "t-1"})
		e.fails("CONFLICT", e.op, region, map[string]any{"c": "t-1"})
		e.fails("BAD_USER_INPUT", e.op, region, map[string]any{"c": "Bad Code"})
		// Operators see every tenant.
		e.ok(e.op, bg, map[string]any{"id": bMain})
	})
}
