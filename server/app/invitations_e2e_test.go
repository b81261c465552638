package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/ent/outboxevent"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	inviteMutation = `mutation($e: String!) { inviteMember(input: {email: $e}) { invitation { id email expiresAt acceptedAt } token account { id } } }`
	acceptMutation = `mutation($t: String!) { acceptInvitation(input: {token: $t}) { accessToken account { id email isMaster organization { id } } } }`
)

// Issue 14, finding 6: inviting moves nothing. The invitee, signed in with
// the invited email, accepts a signed invitation that expires; an account
// that holds anything — a card, coins, credits, an API token, another
// billing group, usage — is never moved (ACCOUNT_NOT_EMPTY), so another
// organization's master can never come to read a stranger's card or coins.
func TestInvitations(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("inviter@example.com")
		orgID := str(e.ok(master, `{ viewer { organization { id } } }`, nil), "viewer.organization.id")
		invite := func(email string) (token string) {
			t.Helper()
			d := e.ok(master, inviteMutation, map[string]any{"e": email})
			if str(d, "inviteMember.invitation.email") != strings.ToLower(strings.TrimSpace(email)) || get(d, "inviteMember.account") != nil ||
				get(d, "inviteMember.invitation.acceptedAt") != nil || str(d, "inviteMember.token") == "" {
				t.Fatalf("invitation of %s: %v", email, d)
			}
			return str(d, "inviteMember.token")
		}
		accept := func(code, who, token string) map[string]any {
			t.Helper()
			if code == "" {
				return e.ok(who, acceptMutation, map[string]any{"t": token})
			}
			e.fails(code, who, acceptMutation, map[string]any{"t": token})
			return nil
		}

		// The red team's stranger: a card and 50,000 KRW of coins.
		stranger, strangerID := e.signUp("stranger@example.com")
		pm := str(e.ok(stranger, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		e.ok(stranger, `mutation($pm: ID!) { chargeCoins(input: {amount: "50000", paymentMethodId: $pm, idempotencyKey: "s-1"}) { wallet { balance { amount } } } }`,
			map[string]any{"pm": pm})
		tok := invite("Stranger@Example.com")
		e.fails("NOT_FOUND", master, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": strangerID})
		accept("ACCOUNT_NOT_EMPTY", stranger, tok)
		if d := e.ok(stranger, `{ viewer { roles account { paymentMethods { id } coins { balance { amount } } } } }`, nil); str(d, "viewer.account.coins.balance.amount") != "50000" ||
			len(get(d, "viewer.account.paymentMethods").([]any)) != 1 || get(d, "viewer.roles.0") != "MASTER" {
			t.Fatalf("the stranger's account after the refusal: %v", d)
		}
		e.fails("NOT_FOUND", master, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": strangerID})

		// Whatever an account holds keeps it where it is.
		holds := map[string]func(tok, bg string){
			"card": func(tok, bg string) { e.ok(tok, registerMethod, card("tok_visa")) },
			"credit": func(tok, bg string) {
				e.ok(tok, `mutation { applyWelcomeCredit(input: {serviceField: "AI", signupPath: "search", marketingConsent: true}) { credit { id } } }`, nil)
			},
			"api token": func(tok, bg string) {
				e.ok(tok, `mutation { createApiToken(input: {name: "p", scopes: ["billing:read"]}) { token } }`, nil)
			},
			"billing group": func(tok, bg string) {
				e.ok(tok, `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil)
			},
			"usage": func(tok, bg string) {
				e.ok(e.op, recordUsage, map[string]any{"e": []any{event("u-"+bg, bg, "vm", "hour", "1", "2026-11-02T00:00:00+09:00")}})
			},
			"member": func(tok, bg string) { e.member(tok, "colleague-"+bg+"@example.com") },
		}
		for what, hold := range holds {
			email := "holds-" + strings.ReplaceAll(what, " ", "-") + "@example.com"
			tok, _ := e.signUp(email)
			hold(tok, e.mainGroup(tok))
			accept("ACCOUNT_NOT_EMPTY", tok, invite(email))
		}

		// An empty account joins when it accepts, with a new session, and
		// the organization it leaves is gone.
		fresh, freshID := e.signUp("fresh@example.com")
		freshOrg := str(e.ok(fresh, `{ viewer { organization { id } } }`, nil), "viewer.organization.id")
		tok = invite("fresh@example.com")
		// Nobody but the invitee can use the token: another account gets the
		// answer of a made-up token.
		other, _ := e.signUp("other@example.com")
		if a, b := e.canonical(other, acceptMutation, map[string]any{"t": tok}), e.canonical(other, acceptMutation, map[string]any{"t": "eyJ.made.up"}); a != b || !strings.Contains(a, "NOT_FOUND") {
			t.Fatalf("another account with the invitation: %s\nwith a made-up token: %s", a, b)
		}
		e.fails("FORBIDDEN", e.op, acceptMutation, map[string]any{"t": tok})
		d := accept("", fresh, tok)
		if str(d, "acceptInvitation.account.id") != freshID || str(d, "acceptInvitation.account.organization.id") != orgID ||
			get(d, "acceptInvitation.account.isMaster") != false {
			t.Fatalf("accepted: %v", d)
		}
		joined := str(d, "acceptInvitation.accessToken")
		if got := e.ok(joined, `{ viewer { roles organization { id } billingGroups { id } } }`, nil); str(got, "viewer.organization.id") != orgID ||
			len(get(got, "viewer.billingGroups").([]any)) != 0 {
			t.Fatalf("the new member's view: %v", got)
		}
		e.fails("NOT_FOUND", e.op, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": freshOrg})
		// The inviting organization's audit log has the acceptance, without
		// the token.
		audit := e.ok(master, `{ auditLog(first: 1) { edges { node { actor action input outcome } } } }`, nil)
		if str(audit, "auditLog.edges.0.node.action") != "acceptInvitation" || str(audit, "auditLog.edges.0.node.outcome") != "ok" ||
			strings.Contains(str(audit, "auditLog.edges.0.node.input"), tok) {
			t.Fatalf("audit log: %v", audit)
		}
		accept("CONFLICT", joined, tok) // spent, and a member already
		e.fails("CONFLICT", master, inviteMutation, map[string]any{"e": "fresh@example.com"})

		// An email without an account: invited, it signs up, then accepts.
		tok = invite("later@example.com")
		later, _ := e.signUp("later@example.com")
		accept("", later, tok)

		// A week later an invitation has expired.
		tok = invite("slow@example.com")
		slow, _ := e.signUp("slow@example.com")
		e.clock.Advance(7*24*time.Hour + time.Minute)
		accept("NOT_FOUND", slow, tok)

		// The invitee is told by email, with the token.
		sent, err := db.Client.OutboxEvent.Query().Where(outboxevent.Topic("member.invited"), outboxevent.Recipient("later@example.com")).Only(context.Background())
		if err != nil || sent.OrgID != orgID || sent.Channel != "EMAIL" || !strings.Contains(string(sent.Payload), `"token"`) {
			t.Fatalf("invitation email: %+v, %v", sent, err)
		}
	})
}
