package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// eventPartitions maps bg's stored event ids to the table that holds each
// ("usage_events_2026_11", "usage_events_default"; on SQLite "usage_events"),
// as "id@month".
func eventPartitions(t *testing.T, db *store.DB, bg string) map[string]string {
	t.Helper()
	q := `SELECT event_id || '@' || month, tableoid::regclass::text FROM usage_events WHERE billing_group_id = $1`
	if db.Dialect != "postgres" {
		q = `SELECT event_id || '@' || month, 'usage_events' FROM usage_events WHERE billing_group_id = ?1`
	}
	rows, err := db.SQL.Query(q, bg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, table string
		if err := rows.Scan(&id, &table); err != nil {
			t.Fatal(err)
		}
		out[id] = table
	}
	return out
}

// R-13 with usage_events partitioned by month (PostgreSQL; the rule holds on
// both databases): an event falls into the month of its instant in KST —
// 23:59:59.999999 on November 30 into November, midnight into December —
// and is a duplicate when sent again however its instant is written, a
// conflict with other content, across the partition boundary as within a
// month. The jobs make the partitions ahead, moving the events the DEFAULT
// partition caught before the month had one. An event id is unique within
// its organization and month: the same id on an event of another month is
// another event (docs/rules.md, R-13).
func TestUsagePartitionsRouteAndKeepEventIdsOnce(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		// The group is made in November; then the clock is 3 minutes past
		// midnight on December 1, November still open (its invoice is
		// issued on the 3rd, R-38).
		e := newEnvAt(t, db, calendar.NewFixedClock(time.Date(2026, 11, 2, 9, 0, 0, 0, kst)))
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("partitions@example.com")
		bg := e.mainGroup(master)
		feed := e.partner(master)
		e.setUTC("2026-11-30T15:03:00Z")

		d := e.ok(feed, recordUsage, map[string]any{"e": []any{
			event("last-of-nov", bg, "vm", "hour", "1", "2026-11-30T23:59:59.999999+09:00"),
			event("first-of-dec", bg, "vm", "hour", "2", "2026-12-01T00:00:00+09:00"),
		}})
		if counts(d) != "2/0" {
			t.Fatalf("recordUsage = %v, want 2 accepted", d)
		}
		if db.Dialect == "postgres" {
			// No partition of November yet (the migration made the
			// current month's by the database's clock, not this test's):
			// its event waits in the DEFAULT partition.
			if got := eventPartitions(t, db, bg)["last-of-nov@2026-11"]; got != "usage_events_default" && got != "usage_events_2026_11" {
				t.Fatalf("November's event is in %q", got)
			}
		}
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-01T00:03:00+09:00"}) { issued } }`, nil)
		if db.Dialect == "postgres" {
			months, err := db.UsagePartitions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"2026-11", "2026-12", "2027-01", "2027-02", "2027-03"} {
				if !slices.Contains(months, m) {
					t.Fatalf("partitions %v: %s missing (made from the month before to 3 ahead)", months, m)
				}
			}
			got := eventPartitions(t, db, bg)
			if got["last-of-nov@2026-11"] != "usage_events_2026_11" || got["first-of-dec@2026-12"] != "usage_events_2026_12" {
				t.Fatalf("events are in %v; want November's in usage_events_2026_11, December's in usage_events_2026_12", got)
			}
		}

		// Sent again, the instant in UTC: duplicates, on both sides.
		d = e.ok(feed, recordUsage, map[string]any{"e": []any{
			event("last-of-nov", bg, "vm", "hour", "1.000", "2026-11-30T14:59:59.999999Z"),
			event("first-of-dec", bg, "vm", "hour", "2", "2026-11-30T15:00:00Z"),
		}})
		if counts(d) != "0/2" {
			t.Fatalf("the same events again = %v, want 0 accepted, 2 duplicates", d)
		}
		// Other content under a used id, in its own month: refused whole.
		r := e.fails("BAD_USER_INPUT", feed, recordUsage, map[string]any{"e": []any{
			event("last-of-nov", bg, "vm", "hour", "5", "2026-11-30T23:00:00+09:00"),
			event("fresh", bg, "vm", "hour", "1", "2026-11-30T22:00:00+09:00"),
		}})
		if got := eventErrors(r); len(got) != 1 || got["last-of-nov"] != "events.eventId" {
			t.Fatalf("per-event errors = %v (%+v)", got, r.Errors)
		}
		// The same id on an event of the other month: another event.
		d = e.ok(feed, recordUsage, map[string]any{"e": []any{event("last-of-nov", bg, "vm", "hour", "3", "2026-12-01T00:01:00+09:00")}})
		if counts(d) != "1/0" {
			t.Fatalf("the id on a December event = %v, want accepted", d)
		}
		if events, micros := storedUsage(t, db, bg); events != 3 || micros != 6_000_000 {
			t.Fatalf("stored %d events, %d micro-hours; want 3 events, 1 + 2 + 3 hours", events, micros)
		}
	})
}

// Retention (PostgreSQL): raw events of a month more than 13 months before
// the current one are dropped with their partition once every billing group
// with usage in that month has its invoice — not before — while the
// rollups, the invoice and the usage view stay, and an event of the dropped
// month sent again is still refused (its month is invoiced): it never
// counts twice.
func TestUsagePartitionsRetention(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db) // 2026-11-20 10:00 KST
	e.ok(e.op, catalogSetup, nil)
	master, _ := e.signUp("retention@example.com")
	bg := e.mainGroup(master)
	feed := e.partner(master)
	e.ok(feed, recordUsage, map[string]any{"e": []any{event("n1", bg, "vm", "hour", "4", "2026-11-10T09:00:00+09:00")}})
	e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-11-20T10:00:00+09:00"}) { issued } }`, nil)
	ctx := context.Background()

	// 14 months on, before the jobs ran there: November 2026 is past the
	// horizon but not invoiced, so it stays; October 2026 (no usage) goes.
	jan28 := time.Date(2028, 1, 5, 9, 0, 0, 0, kst)
	dropped, waiting, err := db.RetainUsagePartitions(ctx, jan28, kst, 13)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(waiting, []string{"2026-11"}) || !slices.Contains(dropped, "2026-10") || slices.Contains(dropped, "2026-11") {
		t.Fatalf("dropped %v, waiting %v; want October 2026 dropped, November 2026 waiting for its invoice", dropped, waiting)
	}
	if got := eventPartitions(t, db, bg); got["n1@2026-11"] != "usage_events_2026_11" {
		t.Fatalf("November's event = %v, want kept in its partition", got)
	}
	before := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`, map[string]any{"bg": bg})

	// The jobs at that instant issue November (and every month since) and
	// then drop it.
	e.ok(e.op, `mutation { runBillingJobs(input: {at: "2028-01-05T09:00:00+09:00"}) { issued } }`, nil)
	months, err := db.UsagePartitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(months, "2026-11") || !slices.Contains(months, "2026-12") || !slices.Contains(months, "2028-04") {
		t.Fatalf("partitions after retention = %v; want 2026-11 dropped, 2026-12 (13 months back) kept, 2028-04 made", months)
	}
	if events, micros := storedUsage(t, db, bg); events != 0 || micros != 4_000_000 {
		t.Fatalf("stored %d events, %d micro-hours; want the events gone, the rollups (4 hours) kept", events, micros)
	}
	after := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } }
		invoice(month: "2026-11") { id usageAmount { amount } } } }`, map[string]any{"bg": bg})
	if str(after, "billingGroup.usage.usedAmount.amount") != str(before, "billingGroup.usage.usedAmount.amount") ||
		str(after, "billingGroup.invoice.usageAmount.amount") != "340" || str(after, "billingGroup.invoice.id") == "" {
		t.Fatalf("November after retention = %v (before: %v); want the same usage and its invoice of 4 h × 85", after, before)
	}
	// The dropped month's event again: refused as invoiced, not counted.
	r := e.fails("BAD_USER_INPUT", feed, recordUsage, map[string]any{"e": []any{event("n1", bg, "vm", "hour", "4", "2026-11-10T09:00:00+09:00")}})
	if got := eventErrors(r); got["n1"] != "events.occurredAt" {
		t.Fatalf("the dropped month's event again: %+v", r.Errors)
	}
	// Retention off keeps everything.
	if dropped, _, err := db.RetainUsagePartitions(ctx, jan28.AddDate(5, 0, 0), kst, 0); err != nil || dropped != nil {
		t.Fatalf("horizon 0 dropped %v (%v)", dropped, err)
	}
}
