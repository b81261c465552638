package app_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// partner creates a usage:write API token for the master's organization,
// the way a partner pushing usage gets one.
func (e *env) partner(master string) string {
	e.t.Helper()
	d := e.ok(master, `mutation { createApiToken(input: {name: "usage feed", scopes: ["usage:write"]}) { token } }`, nil)
	return str(d, "createApiToken.token")
}

// eventErrors maps the per-event errors of a refused batch to their fields
// ("events.occurredAt"), by event id.
func eventErrors(r result) map[string]string {
	out := map[string]string{}
	for _, e := range r.Errors {
		if id, ok := e.Extensions["eventId"].(string); ok {
			out[id], _ = e.Extensions["field"].(string)
		}
	}
	return out
}

// wantField fails unless r is a BAD_USER_INPUT error about field.
func wantField(t *testing.T, r result, field string) {
	t.Helper()
	if r.code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != field {
		t.Fatalf("want BAD_USER_INPUT on %s, got %+v", field, r.Errors)
	}
}

// Issue 13, defect 2: nothing billable is accepted that no invoice will
// carry. The month close invoices a month to the billing groups created
// before it ended, so usage, a contract or a discount of a month before
// the group was created used to be accepted and then never invoiced; and a
// discount coupon redeemed in a month already invoiced (the jobs run ahead
// of the clock) made a discount no invoice applies. Each is refused, with
// the field at fault, and what is accepted is all on the invoice.
func TestNothingBillableBeforeTheFirstInvoice(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db) // 2026-11-20 10:00 KST
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("first-month@example.com")
		bg := e.mainGroup(master) // created in November
		feed := e.partner(master)

		// Usage of October, before the group existed: the whole batch is
		// refused, naming the October event.
		r := e.fails("BAD_USER_INPUT", feed, recordUsage, map[string]any{"e": []any{
			event("oct", bg, "vm", "hour", "10", "2026-10-31T23:00:00+09:00"),
			event("nov", bg, "vm", "hour", "2", "2026-11-01T00:00:00+09:00"),
		}})
		if got := eventErrors(r); len(got) != 1 || got["oct"] != "events.occurredAt" {
			t.Fatalf("per-event errors = %v (%+v)", got, r.Errors)
		}
		d := e.ok(feed, recordUsage, map[string]any{"e": []any{event("nov", bg, "vm", "hour", "2", "2026-11-01T00:00:00+09:00")}})
		if get(d, "recordUsage.accepted") != 1.0 {
			t.Fatalf("November usage: %v", d)
		}

		// A contract starting in October, a discount of October: refused.
		contract := `mutation($bg: ID!, $on: String!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: $on}) { contract { id } } }`
		wantField(t, e.gql(e.op, contract, map[string]any{"bg": bg, "on": "2026-10-22"}), "startsOn")
		e.ok(e.op, contract, map[string]any{"bg": bg, "on": "2026-11-16"}) // 15 of 30 days: 9000
		discount := `mutation($bg: ID!, $m: Month!) { createDiscount(input: {billingGroupId: $bg, month: $m, name: "Early", percentage: "10"}) { discount { id } } }`
		wantField(t, e.gql(e.op, discount, map[string]any{"bg": bg, "m": "2026-10"}), "month")

		// The jobs run ahead of the clock (allowed outside production)
		// issue November; a discount coupon redeemed now, still in
		// November, would make a discount of a month already invoiced.
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:00:00+09:00"}) { issued } }`, nil)
		e.ok(e.op, `mutation { createCoupon(input: {code: "HALF-OFF", name: "Half off", discountPercentage: "50",
			validFrom: "2026-01-01T00:00:00+09:00", validUntil: "2027-01-01T00:00:00+09:00", maxRedemptions: 10}) { coupon { id } } }`, nil)
		wantField(t, e.gql(master, `mutation($bg: ID!) { registerCoupon(input: {billingGroupId: $bg, code: "HALF-OFF", idempotencyKey: "c-1"}) { discount { id } } }`,
			map[string]any{"bg": bg}), "code")

		// Everything accepted is on November's invoice; October has none
		// and no usage.
		inv := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { oct: invoice(month: "2026-10") { id }
			nov: invoice(month: "2026-11") { usageAmount { amount } discountAmount { amount } }
			usage(month: "2026-10") { usedAmount { amount } } } }`, map[string]any{"bg": bg})
		if get(inv, "billingGroup.oct") != nil || str(inv, "billingGroup.usage.usedAmount.amount") != "0" {
			t.Fatalf("October: %v", inv)
		}
		if str(inv, "billingGroup.nov.usageAmount.amount") != "9170" || str(inv, "billingGroup.nov.discountAmount.amount") != "0" {
			t.Fatalf("November's invoice = %v; want 2 h × 85 + 9000 = 9170, no discount", inv)
		}
	})
}

const recordUsageKeyed = `mutation($e: [UsageEventInput!]!, $k: String) { recordUsage(input: {events: $e, idempotencyKey: $k}) { accepted duplicates } }`

// counts is what a recordUsage answered: "accepted/duplicates".
func counts(d map[string]any) string {
	return fmt.Sprintf("%v/%v", get(d, "recordUsage.accepted"), get(d, "recordUsage.duplicates"))
}

// storedUsage is how many events of bg are stored and the sum of its daily
// rollups in micro-units.
func storedUsage(t *testing.T, db *store.DB, bg string) (events, micros int64) {
	t.Helper()
	q := `SELECT (SELECT count(*) FROM usage_events WHERE billing_group_id = $1),
		(SELECT coalesce(sum(quantity_micros), 0) FROM usage_dailies WHERE billing_group_id = $1)`
	if db.Dialect != "postgres" {
		q = strings.ReplaceAll(q, "$1", "?1")
	}
	if err := db.SQL.QueryRow(q, bg).Scan(&events, &micros); err != nil {
		t.Fatal(err)
	}
	return events, micros
}

// Issue 13, defect 7: an event id sent again with the same
// content is a duplicate; with other content (another quantity, instant,
// group…) it is refused, naming the event, and the batch records nothing.
// Content is compared canonically: "2" and "2.000", or the same instant in
// another offset, are the same event. recordUsage takes an optional
// idempotency key: the same key with the same batch answers the first
// result, with another batch it is refused, and a refused batch leaves the
// key free.
func TestUsageEventIdsAndIdempotencyKeys(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("event-ids@example.com")
		bg := e.mainGroup(master)
		feed := e.partner(master)
		rec := func(key any, evs ...any) result {
			return e.gql(feed, recordUsageKeyed, map[string]any{"e": evs, "k": key})
		}
		a := event("a", bg, "vm", "hour", "2", "2026-11-05T10:00:00+09:00")
		b := event("b", bg, "vm", "hour", "3", "2026-11-06T10:00:00+09:00")
		if r := rec(nil, a, b); counts(r.Data) != "2/0" {
			t.Fatalf("first batch: %v %+v", r.Data, r.Errors)
		}
		// The same events written otherwise: duplicates.
		same := event("a", bg, "vm", "hour", "2.000", "2026-11-05T01:00:00Z")
		if r := rec(nil, same, event("c", bg, "vm", "hour", "1", "2026-11-07T10:00:00+09:00")); counts(r.Data) != "1/1" {
			t.Fatalf("exact repeat: %v %+v", r.Data, r.Errors)
		}
		// Another quantity, instant or group under a recorded id: refused,
		// and nothing of the batch is recorded.
		for _, conflict := range []map[string]any{
			event("a", bg, "vm", "hour", "5", "2026-11-05T10:00:00+09:00"),
			event("a", bg, "vm", "hour", "2", "2026-11-05T10:00:01+09:00"),
			event("b", bg, "calls", "call", "3", "2026-11-06T10:00:00+09:00"),
		} {
			r := rec(nil, event("d", bg, "vm", "hour", "7", "2026-11-08T10:00:00+09:00"), conflict)
			if got := eventErrors(r); r.code() != "BAD_USER_INPUT" || len(got) != 1 || got[conflict["eventId"].(string)] != "events.eventId" {
				t.Fatalf("conflicting %v: %+v (data %v)", conflict, r.Errors, r.Data)
			}
		}
		if n, micros := storedUsage(t, db, bg); n != 3 || micros != 6_000_000 {
			t.Fatalf("stored %d events, %d micro-units; want a, b, c: 3 events, 6 units", n, micros)
		}

		// Idempotency keys.
		d := event("d", bg, "vm", "hour", "7", "2026-11-08T10:00:00+09:00")
		if r := rec("batch-1", d, a); counts(r.Data) != "1/1" {
			t.Fatalf("keyed batch: %v %+v", r.Data, r.Errors)
		}
		// The same batch again (written otherwise): the first answer.
		d2 := event("d", bg, "vm", "hour", "7.0", "2026-11-08T01:00:00Z")
		if r := rec("batch-1", d2, a); counts(r.Data) != "1/1" {
			t.Fatalf("replayed key: %v %+v", r.Data, r.Errors)
		}
		if r := rec("batch-1", d); r.code() != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("key with another batch: %v %+v", r.Data, r.Errors)
		}
		// A refused batch keeps nothing under its key.
		bad := event("e", bg, "vm", "hour", "1", "2026-10-08T10:00:00+09:00") // before the group
		if r := rec("batch-2", bad); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("refused keyed batch: %v %+v", r.Data, r.Errors)
		}
		if r := rec("batch-2", event("e", bg, "vm", "hour", "1", "2026-11-08T10:00:00+09:00")); counts(r.Data) != "1/0" {
			t.Fatalf("key after a refusal: %v %+v", r.Data, r.Errors)
		}
		if n, micros := storedUsage(t, db, bg); n != 5 || micros != 14_000_000 {
			t.Fatalf("stored %d events, %d micro-units; want 5 events, 14 units", n, micros)
		}
	})
}

// Issue 13, defect 7, raced on PostgreSQL from two replicas: concurrent
// repeats of a keyed batch all answer the first result and record it once;
// the same event id sent concurrently with different contents is recorded
// once, with one of them, and every other sender is refused rather than
// told "duplicate".
func TestUsageIdempotencyRace(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnv(t, db)
	e2 := newEnvAt(t, db, e1.clock)
	e1.ok(e1.op, catalogSetup, nil)
	master, _ := e1.signUp("usage-race@example.com")
	bg := e1.mainGroup(master)
	feed := e1.partner(master)
	const n = 12
	var batch []any
	for i := 0; i < 50; i++ {
		batch = append(batch, event(fmt.Sprintf("k-%d", i), bg, "vm", "hour", "1.5", "2026-11-05T10:00:00+09:00"))
	}
	var wg sync.WaitGroup
	answers := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			r := e.gql(feed, recordUsageKeyed, map[string]any{"e": batch, "k": "same-key"})
			if len(r.Errors) > 0 {
				t.Errorf("keyed repeat: %+v", r.Errors)
			}
			answers <- counts(r.Data)
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a != "50/0" {
			t.Fatalf("a concurrent repeat of the key answered %s; want the first result, 50/0", a)
		}
	}
	if events, micros := storedUsage(t, db, bg); events != 50 || micros != 75_000_000 {
		t.Fatalf("stored %d events, %d micro-units; want 50 events of 1.5", events, micros)
	}

	// One event id, n different quantities at once.
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			results <- e.gql(feed, recordUsage, map[string]any{"e": []any{event("contested", bg, "vm", "hour", fmt.Sprint(i+1), "2026-11-06T10:00:00+09:00")}})
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()
	close(results)
	accepted := 0
	for r := range results {
		switch {
		case counts(r.Data) == "1/0":
			accepted++
		case eventErrors(r)["contested"] == "events.eventId":
		default:
			t.Errorf("a contested event answered %v %+v; want accepted once, refused otherwise", r.Data, r.Errors)
		}
	}
	if events, _ := storedUsage(t, db, bg); accepted != 1 || events != 51 {
		t.Fatalf("%d senders accepted, %d events stored; want exactly 1 and 51", accepted, events)
	}
}

// Issue 13, defect 3, the input and storage layers: usage large enough to
// overflow a sum is refused where it is accepted, so the month close can
// never meet it. Ten events of 10^12 units (10^18 micro-units) a day used to
// be accepted and then broke the month's sum (PostgreSQL: a bigint out of
// range, INTERNAL; SQLite: an integer overflow); an event priced at 10^19
// won used to rate to a wrapped number. Now an event is at most 10^11 units,
// a daily rollup at most 10^11 units (the batch's own sum included), a
// group's month at most 10^16 won of usage; at the bounds the month closes
// with exact amounts. Rating refuses a line past 10^17 minor units (an
// operator's absurd price) with CONFLICT rather than wrapping.
func TestUsageCannotOverflowTheMonthClose(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		// Prices past the policy's unit-price limit (issue 14, finding 9)
		// are refused by default; an operator who lifts the limit still
		// gets bounded usage and coded refusals, never a wrapped amount.
		e := newEnvWith(t, db, func(c *app.Config) { c.Policy.Limits.UnitPrice = math.MaxInt64 }) // 2026-11-20 10:00 KST
		e.ok(e.op, catalogSetup, nil)
		e.ok(e.op, `mutation { g: createService(input: {code: "gpu", name: "GPU", kind: STANDARD, prices: [{metric: "unit", model: PER_UNIT, unitPrice: "1000000000000000"}]}) { service { code } }
			h: createService(input: {code: "huge", name: "Huge", kind: STANDARD, prices: [{metric: "month", model: FLAT_MONTHLY, unitPrice: "1000000000000000000"}]}) { service { code } } }`, nil)
		master, _ := e.signUp("overflow@example.com")
		bg := e.mainGroup(master)
		feed := e.partner(master)
		refused := func(what string, r result, ids ...string) {
			t.Helper()
			got := eventErrors(r)
			for _, id := range ids {
				if got[id] != "events.quantity" {
					t.Fatalf("%s: event %s not refused on its quantity: %+v (data %v)", what, id, r.Errors, r.Data)
				}
			}
			if r.code() != "BAD_USER_INPUT" || r.Data["recordUsage"] != nil {
				t.Fatalf("%s: %+v (data %v)", what, r.Errors, r.Data)
			}
		}
		day := func(d int) string { return fmt.Sprintf("2026-11-%02dT10:00:00+09:00", d) }

		// The poisoned batch of the issue, and an event whose price alone
		// overflows: refused, nothing recorded.
		var poison []any
		var ids []string
		for d := 1; d <= 10; d++ {
			poison = append(poison, event(fmt.Sprintf("p-%d", d), bg, "vm", "hour", "1000000000000", day(d)))
			ids = append(ids, fmt.Sprintf("p-%d", d))
		}
		refused("10^12 units", e.gql(feed, recordUsage, map[string]any{"e": poison}), ids...)
		refused("priced past int64", e.gql(feed, recordUsage, map[string]any{"e": []any{event("g-0", bg, "gpu", "unit", "10000", day(1))}}), "g-0")

		// At the daily bound: 10^11 hours a day on days 1..19.
		var full []any
		for d := 1; d <= 19; d++ {
			full = append(full, event(fmt.Sprintf("v-%d", d), bg, "vm", "hour", "100000000000", day(d)))
		}
		if d := e.ok(feed, recordUsage, map[string]any{"e": full}); counts(d) != "19/0" {
			t.Fatalf("usage at the daily bound: %v", d)
		}
		refused("past a full day", e.gql(feed, recordUsage, map[string]any{"e": []any{event("v-more", bg, "vm", "hour", "0.000001", day(1))}}), "v-more")
		ch := func(id, qty, channel string) map[string]any {
			ev := event(id, bg, "vm", "hour", qty, day(2))
			ev["channel"] = channel
			return ev
		}
		// A batch whose own events overflow a new rollup.
		refused("a batch past a day", e.gql(feed, recordUsage, map[string]any{"e": []any{ch("y-1", "60000000000", "y"), ch("y-2", "60000000000", "y")}}), "y-1", "y-2")
		if d := e.ok(feed, recordUsage, map[string]any{"e": []any{ch("x-1", "0.000001", "x")}}); counts(d) != "1/0" {
			t.Fatalf("another rollup of the day: %v", d)
		}

		// The month's bound (10^16 won): 9 GPU units of 10^15 fit beside
		// the VM hours (1.615 × 10^14), a tenth does not.
		var gpus []any
		for i := 0; i < 9; i++ {
			gpus = append(gpus, event(fmt.Sprintf("g-%d", i+1), bg, "gpu", "unit", "1", day(3+i)))
		}
		if d := e.ok(feed, recordUsage, map[string]any{"e": gpus}); counts(d) != "9/0" {
			t.Fatalf("GPU units within the month's bound: %v", d)
		}
		refused("past the month's bound", e.gql(feed, recordUsage, map[string]any{"e": []any{event("g-10", bg, "gpu", "unit", "1", day(15))}}), "g-10")

		// The month closes, exactly: 19 × 10^11 h × 85 + 0.000085 → 161,500,000,000,000; GPU 9 × 10^15.
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:00:00+09:00"}) { issued } }`, nil)
		inv := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-11") { usageAmount { amount } taxAmount { amount }
			lines { serviceCode usedAmount { amount } } } } }`, map[string]any{"bg": bg})
		if str(inv, "billingGroup.invoice.usageAmount.amount") != "9161500000000000" || str(inv, "billingGroup.invoice.taxAmount.amount") != "916150000000000" ||
			str(inv, "billingGroup.invoice.lines.0.usedAmount.amount") != "9000000000000000" || str(inv, "billingGroup.invoice.lines.1.usedAmount.amount") != "161500000000000" {
			t.Fatalf("November's invoice = %v", inv)
		}

		// An operator's absurd price: the month of that group is refused
		// with a code, never a wrapped amount.
		other := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Other"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
		e.ok(e.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "huge", region: "kr-1", startsOn: "2026-11-01"}) { contract { id } } }`,
			map[string]any{"bg": other})
		r := e.gql(master, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`, map[string]any{"bg": other})
		if r.code() != "CONFLICT" {
			t.Fatalf("rating 10^18 won: %+v (data %v)", r.Errors, r.Data)
		}
	})
}

// Issue 13, defect 3, raced on PostgreSQL from two replicas: batches that
// add to the same daily rollup at once cannot pass its bound together —
// exactly five events of 2 × 10^10 units fit in a day's 10^11, whoever
// sends them, and the others are refused.
func TestUsageBoundsRace(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnv(t, db)
	e2 := newEnvAt(t, db, e1.clock)
	e1.ok(e1.op, catalogSetup, nil)
	master, _ := e1.signUp("bounds-race@example.com")
	bg := e1.mainGroup(master)
	feed := e1.partner(master)
	const n = 16
	var wg sync.WaitGroup
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			results <- e.gql(feed, recordUsage, map[string]any{"e": []any{
				event(fmt.Sprintf("r-%d", i), bg, "vm", "hour", "20000000000", "2026-11-05T10:00:00+09:00")}})
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()
	close(results)
	accepted := 0
	for r := range results {
		switch {
		case counts(r.Data) == "1/0":
			accepted++
		case len(eventErrors(r)) == 1 && r.Errors[0].Extensions["field"] == "events.quantity":
		default:
			t.Errorf("answered %v %+v", r.Data, r.Errors)
		}
	}
	if events, micros := storedUsage(t, db, bg); accepted != 5 || events != 5 || micros != 100_000_000_000_000_000 {
		t.Fatalf("%d accepted, %d events and %d micro-units stored; want 5, 5 and 10^17", accepted, events, micros)
	}
}

// Findings 101 and 102 of the money-invariants test (issue 13), R-13:
// within a batch, as across batches, an exact repeat — the same instant
// and an equal quantity, however written ("2" and "2.000", another offset)
// — is a counted duplicate, and event ids are the organization's own: one
// id in two organizations is two events. Both were refused as conflicts
// within a batch (the batch compared ids across organizations and the
// events' text), and on SQLite an organization's repeat of an id another
// organization sent new in the same batch was counted and added to its
// usage a second time.
func TestRepeatsWithinABatchAreDuplicates(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db) // 2026-11-20 10:00 KST
		e.ok(e.op, catalogSetup, nil)
		masterA, _ := e.signUp("batch-a@example.com")
		masterB, _ := e.signUp("batch-b@example.com")
		a, b := e.mainGroup(masterA), e.mainGroup(masterB)
		rec := func(evs ...any) result { return e.gql(e.op, recordUsage, map[string]any{"e": evs}) }

		// One batch: an event, its repeat written otherwise, and the same
		// id in the other organization (its own event).
		r := rec(event("x", a, "vm", "hour", "2", "2026-11-05T10:00:00+09:00"),
			event("x", a, "vm", "hour", "2.000", "2026-11-05T01:00:00Z"),
			event("x", b, "vm", "hour", "3", "2026-11-05T10:00:00+09:00"))
		if counts(r.Data) != "2/1" {
			t.Fatalf("a repeat and the same id in another organization: %v %+v", r.Data, r.Errors)
		}
		// A's repeat beside an id B sends for the first time.
		r = rec(event("y", a, "vm", "hour", "1", "2026-11-06T10:00:00+09:00"))
		if counts(r.Data) != "1/0" {
			t.Fatalf("y in A: %v %+v", r.Data, r.Errors)
		}
		r = rec(event("y", a, "vm", "hour", "1.0", "2026-11-06T06:00:00+05:00"), event("y", b, "vm", "hour", "4", "2026-11-06T10:00:00+09:00"))
		if counts(r.Data) != "1/1" {
			t.Fatalf("A's repeat of y beside B's new y: %v %+v", r.Data, r.Errors)
		}
		// Within a batch, other content under one id of one organization
		// is still refused, naming the event, and nothing is recorded.
		r = rec(event("z", a, "vm", "hour", "1", "2026-11-07T10:00:00+09:00"), event("z", a, "vm", "hour", "1.5", "2026-11-07T10:00:00+09:00"))
		if got := eventErrors(r); r.code() != "BAD_USER_INPUT" || len(got) != 1 || got["z"] != "events.eventId" {
			t.Fatalf("a conflict within a batch: %+v (data %v)", r.Errors, r.Data)
		}
		if n, micros := storedUsage(t, db, a); n != 2 || micros != 3_000_000 {
			t.Fatalf("A stored %d events, %d micro-units; want x and y: 2 events, 3 units", n, micros)
		}
		if n, micros := storedUsage(t, db, b); n != 2 || micros != 7_000_000 {
			t.Fatalf("B stored %d events, %d micro-units; want x and y: 2 events, 7 units", n, micros)
		}
	})
}
