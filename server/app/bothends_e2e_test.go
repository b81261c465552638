package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/testenv"
)

// a transfer moves credit out of one billing group and into
// another, so the caller must manage credits of both: a billing manager of
// the source alone may not push credit into a group it has no rights on
// (FORBIDDEN), another tenant's group reads as missing (NOT_FOUND), and a
// billing manager of both groups may.
func TestTransferNeedsRightsOnBothGroups(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	master, _ := e.signUp("ends-master@example.com")
	src := e.mainGroup(master)
	dst := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Other"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	bm, bmID := e.member(master, "ends-bm@example.com")
	e.grant(master, src, bmID, "BILLING_MANAGER")
	foreign, _ := e.signUp("ends-foreign@example.com")
	credit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": src, "name": "Promo", "type": "FREE",
		"amount": "3000", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}}), "grantCredit.credit.id")
	move := func(to, key string) map[string]any {
		return map[string]any{"in": map[string]any{"creditId": credit, "toBillingGroupId": to, "amount": "1000", "idempotencyKey": key}}
	}

	r := e.fails("FORBIDDEN", bm, transfer, move(dst, "t-1"))
	e.fails("NOT_FOUND", bm, transfer, move(e.mainGroup(foreign), "t-2"))
	// A member grant on the destination is not enough either: it reads, it
	// does not manage credits.
	e.grant(master, dst, bmID, "MEMBER")
	e.fails("FORBIDDEN", bm, transfer, move(dst, "t-3"))
	e.grant(master, dst, bmID, "BILLING_MANAGER")
	d := e.ok(bm, transfer, move(dst, "t-4"))
	if str(d, "transferCredit.from.remainingAmount.amount") != "2000" || str(d, "transferCredit.to.remainingAmount.amount") != "1000" {
		t.Fatalf("transfer by a manager of both groups: %v", d)
	}
	if r.Errors[0].Message == "" {
		t.Fatal("a refusal says why")
	}
}

// a partner token with payment_methods:write registers methods for
// the master, but never changes which one pays: changePaymentMethod is
// FORBIDDEN to it, and a method it registers does not become the automatic
// one even when the master has none yet; the master chooses.
func TestPartnersNeverChangeWhatPays(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	master, _ := e.signUp("pm-master@example.com")
	partner := str(e.ok(master, `mutation { createApiToken(input: {name: "p", scopes: ["payment_methods:write"]}) { token } }`, nil), "createApiToken.token")

	byPartner := e.ok(partner, registerMethod, card("tok_jcb"))
	pm := str(byPartner, "registerPaymentMethod.paymentMethod.id")
	if get(byPartner, "registerPaymentMethod.paymentMethod.isDefault") != false {
		t.Fatalf("a partner's card became the automatic method: %v", byPartner)
	}
	change := `mutation($pm: ID) { changePaymentMethod(input: {paymentMethodId: $pm}) { paymentMethod { id isDefault } } }`
	e.fails("FORBIDDEN", partner, change, map[string]any{"pm": pm})
	e.fails("FORBIDDEN", partner, `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil)

	own := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	methods := `{ viewer { account { paymentMethods { id isDefault } } } }`
	d := e.ok(master, methods, nil)
	for _, m := range get(d, "viewer.account.paymentMethods").([]any) {
		if (str(m, "id") == own) != (get(m, "isDefault") == true) {
			t.Fatalf("the master's own first card should pay, not the partner's: %v", d)
		}
	}
	e.fails("FORBIDDEN", partner, change, map[string]any{"pm": pm})
	if got := e.ok(master, change, map[string]any{"pm": pm}); get(got, "changePaymentMethod.paymentMethod.isDefault") != true {
		t.Fatalf("the master chooses the partner's card: %v", got)
	}
}
