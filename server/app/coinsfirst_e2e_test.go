package app_test

import (
	"fmt"
	"sync"
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
		late, lateBG := e.octoberInvoice("coins-late@example.com")
		pms := map[string]string{}
		for name, tok := range map[string]string{"instant": instant, "shared": shared, "auto": auto, "deposit": deposit} {
			pms[name] = str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		}
		e.ok(late, registerMethod, card("tok_visa_declined"))
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
		mID := e.join(shared, "coins-manager@example.com")
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

		// An invoice outstanding since the 15th (its card was declined) is
		// paid by coins bought on the 20th before a late fee accrues.
		e.runJobs("2026-11-15T00:00:00+09:00")
		e.at("2026-11-20T10:00:00+09:00")
		late = e.login("coins-late@example.com")
		due(late, lateBG, "93500")
		latePM := str(e.ok(late, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		e.chargeCoins(late, latePM, "100000", "c-late") // + 5,000 bonus
		e.runJobs("2026-12-01T00:00:00+09:00")
		inv = e.ok(late, invoiceQuery, map[string]any{"bg": lateBG, "m": "2026-10"})
		if str(inv, "billingGroup.invoice.status") != "PAID" || str(inv, "billingGroup.invoice.coinAmount.amount") != "93500" ||
			str(inv, "billingGroup.invoice.lateFeeAmount.amount") != "0" {
			t.Fatalf("outstanding invoice after coins = %v, want PAID by 93,500 of coins and no late fee", inv)
		}
		if w := e.wallet(late); w != "11500" {
			t.Fatalf("the late master's wallet holds %s, want 11,500", w)
		}
	})
}

// on PostgreSQL: a master's coins (105,000 with the bonus) and
// two billing groups owing 93,500 each; two instant payments by card and
// two runs of the billing jobs race. Coins pay 105,000 in all and never go
// below zero, and the cards pay exactly the rest: every invoice is paid
// once, coins + card = 93,500.
func TestCoinsFirstRace(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	tok, bgA := e.octoberInvoice("coins-race@example.com")
	bgB := str(e.ok(tok, `mutation { createBillingGroup(input: {name: "B"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z'`)
	e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ev-b", bgB, "vm", "hour", "1000", "2026-10-11T00:00:00+09:00")}})
	pm := str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	e.runJobs("2026-11-03T00:00:00+09:00")
	e.at("2026-11-05T15:00:00+09:00")
	tok = e.login("coins-race@example.com")
	e.chargeCoins(tok, pm, "100000", "c-race")

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i < 2 {
				r := e.gql(tok, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": []string{bgA, bgB}[i], "paymentMethodId": pm,
					"idempotencyKey": fmt.Sprint("race-", i)}})
				if len(r.Errors) > 0 && r.code() != "CONFLICT" { // CONFLICT: coins paid it all first
					t.Errorf("instant payment: %+v", r.Errors)
				}
				return
			}
			if r := e.gql(e.op, `mutation { runBillingJobs(input: {at: "2026-11-05T15:00:00+09:00"}) { issued } }`, nil); len(r.Errors) > 0 {
				t.Errorf("jobs: %+v", r.Errors)
			}
		}(i)
	}
	wg.Wait()
	var coinsLeft, coinsUsed, invoiceCoins, card, paid, owed int64
	db.SQL.QueryRow(`SELECT coalesce(sum(charged_remaining + bonus_remaining), 0) FROM coin_charges`).Scan(&coinsLeft)
	db.SQL.QueryRow(`SELECT coalesce(sum(bonus_amount + charged_amount), 0) FROM coin_usages`).Scan(&coinsUsed)
	db.SQL.QueryRow(`SELECT coalesce(sum(coin_amount), 0), coalesce(sum(paid_amount), 0), coalesce(sum(determined_amount + tax_amount), 0) FROM invoices WHERE month = '2026-10'`).
		Scan(&invoiceCoins, &paid, &owed)
	db.SQL.QueryRow(`SELECT coalesce(sum(amount), 0) FROM payments WHERE kind = 'INSTANT' AND status = 'SUCCESSFUL' AND payment_method_id IS NOT NULL`).Scan(&card)
	var unpaid int
	db.SQL.QueryRow(`SELECT count(*) FROM invoices WHERE month = '2026-10' AND (status <> 'PAID' OR coin_amount + paid_amount <> determined_amount + tax_amount)`).Scan(&unpaid)
	t.Logf("coins used %d, left %d; cards paid %d", coinsUsed, coinsLeft, card)
	if coinsLeft != 0 || coinsUsed != 105000 || invoiceCoins != 105000 || owed != 187000 || card != 82000 || paid != 82000 || unpaid != 0 {
		t.Fatalf("coins used %d (invoices say %d), left %d; cards %d, paid %d of %d owed; %d invoices not paid exactly",
			coinsUsed, invoiceCoins, coinsLeft, card, paid, owed, unpaid)
	}
}
