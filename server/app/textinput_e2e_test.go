package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Text no database keeps (found by TestMoneyInvariants' fuzzing for issue
// 13): a NUL character in any string a client sends — an idempotency key, an
// event id, a channel, a name, a coupon code — reached a statement, where
// PostgreSQL refused it and the request answered INTERNAL, while SQLite
// stored it. Now it is refused as BAD_USER_INPUT naming the input, on both
// databases, whether sent in variables or written in the document, and
// nothing is recorded.
func TestTextNoDatabaseKeeps(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("text@example.com")
		bg := e.mainGroup(master)
		pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		credit := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Promo", "type": "FREE",
			"amount": "5000", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}}), "grantCredit.credit.id")
		second := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		const nul = "k\x00"
		usage := func(ev map[string]any, key any) map[string]any {
			return map[string]any{"in": map[string]any{"events": []any{ev}, "idempotencyKey": key}}
		}
		withChannel := event("ev-1", bg, "vm", "hour", "1", "2026-11-05T00:00:00+09:00")
		withChannel["channel"] = nul
		cases := []struct {
			name, token, query string
			vars               map[string]any
			field              string
		}{
			{"chargeCoins key", master, `mutation($in: ChargeCoinsInput!) { chargeCoins(input: $in) { charge { id } } }`,
				map[string]any{"in": map[string]any{"amount": "1000", "paymentMethodId": pm, "idempotencyKey": nul}}, "in.idempotencyKey"},
			{"transferCredit key", master, transfer,
				map[string]any{"in": map[string]any{"creditId": credit, "toBillingGroupId": second, "amount": "100", "idempotencyKey": nul}}, "in.idempotencyKey"},
			{"payInstantly key", master, payInstantly,
				map[string]any{"in": map[string]any{"billingGroupId": bg, "paymentMethodId": pm, "idempotencyKey": nul}}, "in.idempotencyKey"},
			{"registerCoupon code", master, register,
				map[string]any{"in": map[string]any{"billingGroupId": bg, "code": "AB\x00CD", "idempotencyKey": "c-1"}}, "in.code"},
			{"recordUsage key", e.op, `mutation($in: RecordUsageInput!) { recordUsage(input: $in) { accepted } }`,
				usage(event("ev-2", bg, "vm", "hour", "1", "2026-11-05T00:00:00+09:00"), nul), "in.idempotencyKey"},
			{"recordUsage event id", e.op, `mutation($in: RecordUsageInput!) { recordUsage(input: $in) { accepted } }`,
				usage(event("e\x00v", bg, "vm", "hour", "1", "2026-11-05T00:00:00+09:00"), nil), "in.events[0].eventId"},
			{"recordUsage channel", e.op, `mutation($in: RecordUsageInput!) { recordUsage(input: $in) { accepted } }`,
				usage(withChannel, nil), "in.events[0].channel"},
			{"grantCredit name", e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": nul, "type": "FREE",
				"amount": "100", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2026-12-01T00:00:00+09:00"}}, "in.name"},
			{"createDiscount name", e.op, `mutation($in: CreateDiscountInput!) { createDiscount(input: $in) { discount { id } } }`,
				map[string]any{"in": map[string]any{"billingGroupId": bg, "month": "2026-11", "name": nul, "percentage": "5"}}, "in.name"},
			// Written in the document rather than sent as a variable.
			{"literal discount name", e.op, `mutation($bg: ID!) { createDiscount(input: {billingGroupId: $bg, month: "2026-11", name: "d\u0000", percentage: "5"}) { discount { id } } }`,
				map[string]any{"bg": bg}, "createDiscount.input.name"},
		}
		for _, c := range cases {
			r := e.fails("BAD_USER_INPUT", c.token, c.query, c.vars)
			if f := r.Errors[0].Extensions["field"]; f != c.field {
				t.Errorf("%s: field %v, want %s", c.name, f, c.field)
			}
		}
		// Nothing was recorded: no coins, no transfer, no usage, no credit or discount.
		var n int
		for table, want := range map[string]int{"coin_charges": 0, "usage_events": 0, "credits": 1, "discounts": 0, "payments": 0, "idempotency_keys": 0} {
			db.SQL.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
			if n != want {
				t.Errorf("%s has %d rows, want %d", table, n, want)
			}
		}
	})
}

// an idempotency key is compared without the spaces around it, and so
// is the request it names: "k-1" and " k-1 " with the same input are one
// request, answered alike — they were refused as IDEMPOTENCY_KEY_REUSED
// (found by FuzzMoneyInputs), because the request was hashed with the key
// as typed.
func TestIdempotencyKeyAroundSpaces(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("keys@example.com")
		pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		charge := func(key, amount string) result {
			return e.gql(master, `mutation($in: ChargeCoinsInput!) { chargeCoins(input: $in) { payment { id } wallet { charged { amount } } } }`,
				map[string]any{"in": map[string]any{"amount": amount, "paymentMethodId": pm, "idempotencyKey": key}})
		}
		first := charge("k-1", "5000")
		for _, key := range []string{" k-1 ", "k-1\n", "\tk-1"} {
			again := charge(key, "5000")
			if len(again.Errors) > 0 || str(again.Data, "chargeCoins.payment.id") != str(first.Data, "chargeCoins.payment.id") ||
				str(again.Data, "chargeCoins.wallet.charged.amount") != "5000" {
				t.Fatalf("key %q: %v %+v, want the first payment replayed and 5000 charged once", key, again.Data, again.Errors)
			}
		}
		if r := charge(" k-1 ", "6000"); r.code() != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("the key with another amount: %+v, want IDEMPOTENCY_KEY_REUSED", r.Errors)
		}
	})
}
