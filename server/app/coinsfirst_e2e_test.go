package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const chargeCoinsMutation = `mutation($in: ChargeCoinsInput!) { chargeCoins(input: $in) { charge { id } wallet { balance { amount } } } }`

func (e *env) chargeCoins(token, methodID, amount, key string) string {
	e.t.Helper()
	d := e.ok(token, chargeCoinsMutation, map[string]any{"in": map[string]any{"amount": amount, "paymentMethodId": methodID, "idempotencyKey": key}})
	return str(d, "chargeCoins.charge.id")
}

func (e *env) wallet(token string) string {
	e.t.Helper()
	return str(e.ok(token, `{ viewer { account { coins { balance { amount } } } } }`, nil), "viewer.account.coins.balance.amount")
}

// coins bought after an invoice was issued still pay it before
// any payment method is charged — on every path that charges a method for
// an invoice: an instant payment by the master, an instant payment by a
// billing manager (its own coins, then the coins the master shared with it),
// the automatic run of the 10th, and the amount a direct-deposit customer is
// asked to deposit. Each October invoice is 93,500 (85,000 + VAT); none of
// the organizations held coins when it was issued on November 3rd.
func TestCoinsPayBeforeEveryMethod(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		instant, instantBG := e.octoberInvoice("coins-instant@example.com")
		shared, sharedBG := e.octoberInvoice("coins-shared@example.com")
		auto, autoBG := e.octoberInvoice("coins-auto@example.com")
		deposit, depositBG := e.octoberInvoice("coins-deposit@example.com")
		pms := map[string]string{}
		for name, tok := range map[string]string{"instant": instant, "shared": shared, "auto": auto, "deposit": deposit} {
			pms[name] = str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		}
		e.ok(deposit, `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil)
		e.runJobs("2026-11-03T00:00:00+09:00")

		e.at("2026-11-05T15:00:00+09:00")
		instant, shared = e.login("coins-instant@example.com"), e.login("coins-shared@example.com")
		auto, deposit = e.login("coins-auto@example.com"), e.login("coins-deposit@example.com")
		due := func(tok, bg, want string) {
			t.Helper()
			inv := e.ok(tok, invoiceQuery, map[string]any{"bg": bg, "m": "2026-10"})
			if got := str(inv, "billingGroup.invoice.amountDue.amount"); got != want {
				t.Fatalf("amount due = %s, want %s: %v", got, want, inv)
			}
		}
		due(instant, instantBG, "93500")

		// The master buys 50,000 of coins, then pays instantly by card: the
		// card pays only what the coins do not.
		e.chargeCoins(instant, pms["instant"], "50000", "c-instant")
		p := e.ok(instant, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": instantBG, "paymentMethodId": pms["instant"], "idempotencyKey": "p-instant"}})
		if str(p, "payInstantly.payment.status") != "SUCCESSFUL" || str(p, "payInstantly.payment.amount.amount") != "43500" {
			t.Fatalf("instant payment after coins = %v, want 43,500 by card", p)
		}
		if w := e.wallet(instant); w != "0" {
			t.Fatalf("the master's wallet holds %s after paying, want 0", w)
		}
		inv := e.ok(instant, invoiceQuery, map[string]any{"bg": instantBG, "m": "2026-10"})
		if str(inv, "billingGroup.invoice.coinAmount.amount") != "50000" || str(inv, "billingGroup.invoice.status") != "PAID" {
			t.Fatalf("invoice = %v", inv)
		}

		// A billing manager pays with its own coins first (10,000), then the
		// coins its master shared with it (50,000), then its card (33,500).
		mTok, _ := e.signUp("coins-manager@example.com")
		mID := str(e.ok(shared, `mutation { inviteMember(input: {email: "coins-manager@example.com"}) { account { id } } }`, nil), "inviteMember.account.id")
		e.ok(shared, `mutation($bg: ID!, $a: ID!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: BILLING_MANAGER}) { billingGroup { id } } }`,
			map[string]any{"bg": sharedBG, "a": mID})
		mTok = e.login("coins-manager@example.com")
		mPM := str(e.ok(mTok, registerMethod, card("tok_mastercard")), "registerPaymentMethod.paymentMethod.id")
		e.chargeCoins(mTok, mPM, "10000", "c-own")
		chargeID := e.chargeCoins(shared, pms["shared"], "50000", "c-shared")
		e.ok(shared, `mutation($c: ID!, $a: [ID!]!) { shareCoins(input: {chargeId: $c, accountIds: $a}) { charge { id } } }`,
			map[string]any{"c": chargeID, "a": []string{mID}})
		p = e.ok(mTok, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": sharedBG, "paymentMethodId": mPM, "idempotencyKey": "p-shared"}})
		if str(p, "payInstantly.payment.status") != "SUCCESSFUL" || str(p, "payInstantly.payment.amount.amount") != "33500" {
			t.Fatalf("the manager's instant payment = %v, want 33,500 by card", p)
		}
		if own, master := e.wallet(mTok), e.wallet(shared); own != "0" || master != "0" {
			t.Fatalf("wallets after paying: manager %s, master %s; want 0 and 0", own, master)
		}

		// Coins bought after the issue pay before the automatic run charges
		// the card on the 10th, and lower what a direct-deposit customer is
		// asked to deposit.
		e.chargeCoins(auto, pms["auto"], "20000", "c-auto")
		e.chargeCoins(deposit, pms["deposit"], "30000", "c-deposit")
		if got := e.runJobs("2026-11-10T09:00:00+09:00"); get(got, "runBillingJobs.charged") != 1.0 {
			t.Fatalf("10th = %v", got)
		}
		e.at("2026-11-10T10:00:00+09:00")
		auto, deposit = e.login("coins-auto@example.com"), e.login("coins-deposit@example.com")
		ps := e.ok(auto, `query($bg: ID!) { billingGroup(id: $bg) { payments(first: 5) { edges { node { kind status amount { amount } } } } } }`,
			map[string]any{"bg": autoBG})
		if str(ps, "billingGroup.payments.edges.0.node.kind") != "AUTOMATIC" || str(ps, "billingGroup.payments.edges.0.node.amount.amount") != "73500" {
			t.Fatalf("automatic payment = %v, want 73,500 after 20,000 of coins", ps)
		}
		if w := e.wallet(auto); w != "0" {
			t.Fatalf("the auto-pay master's wallet holds %s, want 0", w)
		}
		due(deposit, depositBG, "63500")
		if w := e.wallet(deposit); w != "0" {
			t.Fatalf("the deposit master's wallet holds %s, want 0", w)
		}
	})
}
