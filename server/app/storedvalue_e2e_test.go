package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const (
	creditFields = `id name type status accumulatedAmount { amount } usedAmount { amount } remainingAmount { amount } serviceCodes
		history(first: 50) { totalCount edges { node { kind amount { amount } invoice { month } counterpartBillingGroup { id } } } }`
	grantCredit = `mutation($in: GrantCreditInput!) { grantCredit(input: $in) { credit { ` + creditFields + ` } } }`
	transfer    = `mutation($in: TransferCreditInput!) { transferCredit(input: $in) { from { ` + creditFields + ` } to { ` + creditFields + ` } } }`
	register    = `mutation($in: RegisterCouponInput!) { registerCoupon(input: $in) { credit { id name remainingAmount { amount } } discount { id percentage month } } }`
	newCoupon   = `mutation($in: CreateCouponInput!) { createCoupon(input: $in) { coupon { id code kind amount { amount } } } }`
)

func coupon(code string, max int, from, until string) map[string]any {
	return map[string]any{"in": map[string]any{"code": code, "name": "Promo " + code, "amount": "5000",
		"validFrom": from, "validUntil": until, "maxRedemptions": max, "creditValidDays": 30}}
}

// historySum checks R-21: the remaining amount is the sum of the entries.
func historySum(t *testing.T, c any) {
	t.Helper()
	var sum int
	for _, e := range get(c, "history.edges").([]any) {
		var v int
		fmt.Sscan(str(e, "node.amount.amount"), &v)
		sum += v
	}
	var rem int
	fmt.Sscan(str(c, "remainingAmount.amount"), &rem)
	if sum != rem {
		t.Fatalf("history sums to %d, remaining is %d: %v", sum, rem, c)
	}
}

// Credits, welcome credit, transfers, coupons and discounts through the API,
// with every error code (R-06, R-20..R-30, R-50).
func TestStoredValueEndToEnd(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("sv@example.com")
		main := e.mainGroup(master)
		second := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		other, _ := e.signUp("other@example.com")
		foreign := e.mainGroup(other)

		// welcome credit once, only with marketing consent.
		wc := `mutation($c: Boolean!) { applyWelcomeCredit(input: {serviceField: "AI", signupPath: "search", marketingConsent: $c}) { credit { id name type remainingAmount { amount } endsAt billingGroup { id } } } }`
		e.fails("BAD_USER_INPUT", master, wc, map[string]any{"c": false})
		w := e.ok(master, wc, map[string]any{"c": true})
		if str(w, "applyWelcomeCredit.credit.remainingAmount.amount") != "100000" || str(w, "applyWelcomeCredit.credit.billingGroup.id") != main ||
			str(w, "applyWelcomeCredit.credit.endsAt")[:10] != "2027-02-20" {
			t.Fatalf("welcome = %v", w)
		}
		e.fails("CONFLICT", master, wc, map[string]any{"c": true})
		welcome := str(w, "applyWelcomeCredit.credit.id")

		// transfer part of a free credit; both sides get history.
		tin := func(credit, to, amount, key string) map[string]any {
			return map[string]any{"in": map[string]any{"creditId": credit, "toBillingGroupId": to, "amount": amount, "idempotencyKey": key}}
		}
		tr := e.ok(master, transfer, tin(welcome, second, "30000", "t-1"))
		from, to := get(tr, "transferCredit.from"), get(tr, "transferCredit.to")
		if str(from, "remainingAmount.amount") != "70000" || str(to, "remainingAmount.amount") != "30000" ||
			str(from, "history.edges.0.node.kind") != "TRANSFER_DEDUCTION" || str(from, "history.edges.0.node.counterpartBillingGroup.id") != second ||
			str(to, "history.edges.0.node.kind") != "TRANSFER_ACCUMULATION" || str(to, "history.edges.0.node.counterpartBillingGroup.id") != main {
			t.Fatalf("transfer = %v", tr)
		}
		historySum(t, from)
		historySum(t, to)
		// the same key and input replays the first result; another input is refused.
		again := e.ok(master, transfer, tin(welcome, second, "30000", "t-1"))
		if str(again, "transferCredit.to.id") != str(to, "id") || str(again, "transferCredit.from.remainingAmount.amount") != "70000" {
			t.Fatalf("replay = %v", again)
		}
		e.fails("IDEMPOTENCY_KEY_REUSED", master, transfer, tin(welcome, second, "1", "t-1"))
		e.fails("INSUFFICIENT_BALANCE", master, transfer, tin(welcome, second, "70001", "t-2"))
		e.fails("NOT_FOUND", master, transfer, tin(welcome, foreign, "1", "t-3"))
		e.fails("NOT_FOUND", other, transfer, tin(welcome, foreign, "1", "t-4"))
		e.fails("BAD_USER_INPUT", master, transfer, tin(welcome, second, "-5", "t-5"))
		e.fails("BAD_USER_INPUT", master, transfer, tin(welcome, second, "1.5", "t-6"))

		// paid credits are bought, valid 5 years and never transferable.
		pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		paid := e.ok(e.op, `mutation($bg: ID!, $pm: ID!) { sellPaidCredit(input: {billingGroupId: $bg, name: "Prepaid", amount: "50000", paymentMethodId: $pm, idempotencyKey: "sale-1"}) { credit { id type endsAt } } }`,
			map[string]any{"bg": main, "pm": pm})
		paidID := str(paid, "sellPaidCredit.credit.id")
		if str(paid, "sellPaidCredit.credit.endsAt")[:4] != "2031" {
			t.Fatalf("paid credit = %v", paid)
		}
		e.fails("CREDIT_NOT_TRANSFERABLE", master, transfer, tin(paidID, second, "1", "t-7"))
		e.fails("FORBIDDEN", master, `mutation($bg: ID!, $pm: ID!) { sellPaidCredit(input: {billingGroupId: $bg, name: "x", amount: "1", paymentMethodId: $pm, idempotencyKey: "x"}) { credit { id } } }`,
			map[string]any{"bg": main, "pm": pm})

		// coupons and their distinct errors.
		e.ok(e.op, newCoupon, coupon("HELLO-2026", 100, "2026-11-01T00:00:00+09:00", "2026-12-01T00:00:00+09:00"))
		e.ok(e.op, newCoupon, coupon("OLD-CODE", 100, "2026-01-01T00:00:00+09:00", "2026-02-01T00:00:00+09:00"))
		e.ok(e.op, newCoupon, coupon("SOON-CODE", 100, "2027-01-01T00:00:00+09:00", "2027-02-01T00:00:00+09:00"))
		e.ok(e.op, newCoupon, coupon("ONCE-ONLY", 1, "2026-11-01T00:00:00+09:00", "2026-12-01T00:00:00+09:00"))
		e.ok(e.op, newCoupon, map[string]any{"in": map[string]any{"code": "TEN-OFF", "name": "10% off", "discountPercentage": "10",
			"validFrom": "2026-11-01T00:00:00+09:00", "validUntil": "2026-12-01T00:00:00+09:00", "maxRedemptions": 5}})
		rin := func(bg, code, key string) map[string]any {
			return map[string]any{"in": map[string]any{"billingGroupId": bg, "code": code, "idempotencyKey": key}}
		}
		r := e.ok(master, register, rin(main, " hello-2026 ", "c-1"))
		if str(r, "registerCoupon.credit.remainingAmount.amount") != "5000" {
			t.Fatalf("redeemed = %v", r)
		}
		e.fails("COUPON_ALREADY_REDEEMED", master, register, rin(main, "HELLO-2026", "c-2"))
		e.fails("COUPON_EXPIRED", master, register, rin(main, "OLD-CODE", "c-3"))
		e.fails("COUPON_NOT_YET_VALID", master, register, rin(main, "SOON-CODE", "c-4"))
		e.fails("COUPON_NOT_FOUND", master, register, rin(main, "NO-SUCH-CODE", "c-5"))
		e.ok(master, register, rin(main, "ONCE-ONLY", "c-6"))
		e.fails("COUPON_EXHAUSTED", master, register, rin(second, "ONCE-ONLY", "c-7"))
		d := e.ok(master, register, rin(main, "TEN-OFF", "c-8"))
		if str(d, "registerCoupon.discount.percentage") != "10" || str(d, "registerCoupon.discount.month") != "2026-11" {
			t.Fatalf("discount coupon = %v", d)
		}
		// Guessing codes is rate-limited per caller.
		for i := 0; i < 9; i++ {
			e.fails("COUPON_NOT_FOUND", master, register, rin(main, fmt.Sprintf("GUESS-%d", i), fmt.Sprintf("g-%d", i)))
		}
		e.fails("RATE_LIMITED", master, register, rin(main, "HELLO-2026", "g-x"))
		e.clock.Advance(time.Minute)

		// members and partners never see credits.
		mTok, _ := e.signUp("member-sv@example.com")
		mID := e.join(master, "member-sv@example.com")
		e.ok(master, `mutation($bg: ID!, $a: ID!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: MEMBER}) { billingGroup { id } } }`,
			map[string]any{"bg": main, "a": mID})
		cq := `query($bg: ID!) { billingGroup(id: $bg) { creditSummary { free { amount } paid { amount } total { amount } } credits(first: 20) { totalCount edges { node { id status } } } } }`
		e.fails("FORBIDDEN", mTok, cq, map[string]any{"bg": main})
		e.fails("FORBIDDEN", mTok, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": welcome})
		e.fails("FORBIDDEN", mTok, register, rin(main, "HELLO-2026", "m-1"))
		e.fails("FORBIDDEN", mTok, transfer, tin(welcome, second, "1", "m-2"))
		e.ok(master, `mutation($bg: ID!, $a: ID!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: BILLING_MANAGER}) { billingGroup { id } } }`,
			map[string]any{"bg": main, "a": mID})
		s := e.ok(mTok, cq, map[string]any{"bg": main})
		// 70000 welcome + 5000 + 5000 coupons free; 50000 paid.
		if str(s, "billingGroup.creditSummary.free.amount") != "80000" || str(s, "billingGroup.creditSummary.paid.amount") != "50000" ||
			str(s, "billingGroup.creditSummary.total.amount") != "130000" {
			t.Fatalf("summary = %v", s)
		}

		// operators recover free and refund paid credits.
		e.fails("CONFLICT", e.op, `mutation($id: ID!) { recoverCredit(input: {creditId: $id}) { credit { status } } }`, map[string]any{"id": paidID})
		rf := e.ok(e.op, `mutation($id: ID!) { refundPaidCredit(input: {creditId: $id, idempotencyKey: "refund-1"}) { credit { `+creditFields+` } } }`, map[string]any{"id": paidID})
		if str(rf, "refundPaidCredit.credit.status") != "REFUNDED" || str(rf, "refundPaidCredit.credit.history.edges.0.node.kind") != "REFUND" {
			t.Fatalf("refund = %v", rf)
		}
		historySum(t, get(rf, "refundPaidCredit.credit"))

		// an emptied terminal credit stays listed 3 months, then only with includeClosed.
		count := func(include bool) float64 {
			d := e.ok(master, `query($bg: ID!, $inc: Boolean) { billingGroup(id: $bg) { credits(first: 50, includeClosed: $inc) { totalCount } } }`,
				map[string]any{"bg": main, "inc": include})
			return get(d, "billingGroup.credits.totalCount").(float64)
		}
		// Main holds the welcome credit, two coupon credits and the refunded paid one.
		if count(false) != 4 || count(true) != 4 {
			t.Fatalf("credits listed %v / %v, want 4 / 4", count(false), count(true))
		}
		e.clock.Advance(93 * 24 * time.Hour)
		master = str(e.ok("", `mutation { login(input: {email: "sv@example.com", password: "Secret!234"}) { accessToken } }`, nil), "login.accessToken")
		if count(false) != 3 || count(true) != 4 {
			t.Fatalf("after 3 months: credits listed %v / %v, want 3 / 4", count(false), count(true))
		}
	})
}

// on PostgreSQL: 50 goroutines race for a single-use code:
// exactly one wins.
func TestSingleUseCouponRace(t *testing.T) {
	e := newEnv(t, testenv.Postgres(t))
	master, _ := e.signUp("race@example.com")
	groups := make([]string, 50)
	for i := range groups {
		groups[i] = str(e.ok(master, fmt.Sprintf(`mutation { createBillingGroup(input: {name: "G%d"}) { billingGroup { id } } }`, i), nil),
			"createBillingGroup.billingGroup.id")
	}
	e.ok(e.op, newCoupon, coupon("SINGLE-USE", 1, "2026-11-01T00:00:00+09:00", "2026-12-01T00:00:00+09:00"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.gql(master, register, map[string]any{"in": map[string]any{"billingGroupId": groups[i], "code": "SINGLE-USE", "idempotencyKey": fmt.Sprint("k", i)}})
			mu.Lock()
			codes[r.code()]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[""] != 1 || codes["COUPON_EXHAUSTED"] != 49 {
		t.Fatalf("outcomes = %v, want 1 success and 49 COUPON_EXHAUSTED", codes)
	}
	var n int
	e.app.DB.SQL.QueryRow(`SELECT count(*) FROM credits`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d credits opened, want 1", n)
	}
}

// on PostgreSQL: concurrent transfers (some with one shared key)
// and an invoice deducting from one credit: the remainder never goes below
// zero, the shared key moves money once, and the history adds up.
func TestCreditRaceTransfersAndInvoice(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	e.ok(e.op, catalogSetup, nil)
	master, _ := e.signUp("credrace@example.com")
	main := e.mainGroup(master)
	second := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z'`)
	c := e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": main, "name": "Promo", "type": "FREE",
		"amount": "100000", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}})
	credit := str(c, "grantCredit.credit.id")
	// October usage of 85,000 (1000 h × 85) to be paid from the credit.
	e.ok(e.op, recordUsage, map[string]any{"e": []any{event("u1", main, "vm", "hour", "1000", "2026-10-10T00:00:00+09:00")}})

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	ownWins, sharedTo := 0, map[string]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			key := fmt.Sprint("own-", i)
			if i < 5 {
				key = "shared" // five duplicates of one request: at most one transfer
			}
			r := e.gql(master, transfer, map[string]any{"in": map[string]any{"creditId": credit, "toBillingGroupId": second,
				"amount": "10000", "idempotencyKey": key}})
			mu.Lock()
			defer mu.Unlock()
			codes[r.code()]++
			if r.code() == "" {
				if i < 5 {
					sharedTo[str(r.Data, "transferCredit.to.id")]++
				} else {
					ownWins++
				}
			}
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := e.gql(e.op, `mutation { runBillingJobs(input: {at: "2026-11-03T00:00:00+09:00"}) { issued } }`, nil)
		if len(r.Errors) > 0 {
			t.Errorf("jobs: %+v", r.Errors)
		}
	}()
	wg.Wait()

	var remaining, used, accumulated int64
	db.SQL.QueryRow(`SELECT remaining, used, accumulated FROM credits WHERE id = $1`, credit).Scan(&remaining, &used, &accumulated)
	var transferred, entrySum int64
	db.SQL.QueryRow(`SELECT coalesce(sum(accumulated), 0) FROM credits WHERE billing_group_id = $1`, second).Scan(&transferred)
	db.SQL.QueryRow(`SELECT coalesce(sum(amount), 0) FROM credit_entries WHERE credit_id = $1`, credit).Scan(&entrySum)
	var invCredit int64
	db.SQL.QueryRow(`SELECT credit_amount FROM invoices WHERE billing_group_id = $1`, main).Scan(&invCredit)
	t.Logf("outcomes %v; remaining %d, used %d, transferred %d, invoice credit %d", codes, remaining, used, transferred, invCredit)
	if remaining < 0 || remaining != accumulated-used-transferred || entrySum != remaining {
		t.Fatalf("remaining %d, accumulated %d, used %d, transferred %d, entries sum %d", remaining, accumulated, used, transferred, entrySum)
	}
	if used != invCredit || used+transferred > 100000 {
		t.Fatalf("used %d vs invoice credit %d, transferred %d", used, invCredit, transferred)
	}
	if len(sharedTo) > 1 {
		t.Fatalf("one idempotency key made %d different transfers: %v", len(sharedTo), sharedTo)
	}
	if transferred != int64(10000*(ownWins+len(sharedTo))) {
		t.Fatalf("transferred %d for %d own-key and %d shared-key transfers", transferred, ownWins, len(sharedTo))
	}
	for code := range codes {
		if code != "" && code != "INSUFFICIENT_BALANCE" && code != "CONFLICT" {
			t.Fatalf("unexpected outcome %s: %v", code, codes)
		}
	}
}

// wrong coupon codes are limited per caller however they are sent —
// 40 at once, half to each of two replicas on PostgreSQL: exactly 10 are
// tried (and found wrong), the rest refused; a minute later the caller may
// try again.
func TestCouponGuessesLimitedAcrossReplicas(t *testing.T) {
	db := testenv.Postgres(t)
	a := newEnv(t, db)
	b := newEnvAt(t, db, a.clock)
	tok, _ := a.signUp("guesser@example.com")
	bg := a.mainGroup(tok)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			r := e.gql(tok, register, map[string]any{"in": map[string]any{"billingGroupId": bg, "code": fmt.Sprintf("BRUTE-%d", i),
				"idempotencyKey": fmt.Sprintf("brute-%d", i)}})
			mu.Lock()
			codes[r.code()]++
			mu.Unlock()
		}([]*env{a, b}[i%2])
	}
	wg.Wait()
	if codes["COUPON_NOT_FOUND"] != 10 || codes["RATE_LIMITED"] != 30 {
		t.Fatalf("40 concurrent wrong codes on two replicas: %v, want 10 COUPON_NOT_FOUND and 30 RATE_LIMITED", codes)
	}
	a.clock.Advance(time.Minute)
	a.fails("COUPON_NOT_FOUND", tok, register, map[string]any{"in": map[string]any{"billingGroupId": bg, "code": "AFTER", "idempotencyKey": "after"}})
}
