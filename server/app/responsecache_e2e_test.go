package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// The response cache answers a repeated dashboard without executing it,
// and never past the instant its answer changes with no write: a credit
// period starting or ending, the month so far gaining a day
// a closed credit leaving the list after 3 months. Each is
// checked at the exact instant, after a warm answer from just before it.
func TestResponseCacheValidity(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-20T10:00:00+09:00")
		tok, _ := e.signUp("rc@example.com")
		bg := e.mainGroup(tok)
		grant := func(name, amount, starts, ends string) string {
			return str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": name, "type": "FREE",
				"amount": amount, "startsAt": starts, "endsAt": ends}}), "grantCredit.credit.id")
		}
		// dash asks the dashboard at instant at and says whether the
		// response cache answered it.
		dash := func(at string) (map[string]any, bool) {
			t.Helper()
			ts, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Set(ts)
			h0, _ := e.app.ResponseCacheCounts()
			n, out := e.statements(tok, DashboardQuery, map[string]any{"bg": bg, "n": 20})
			h1, _ := e.app.ResponseCacheCounts()
			if h1 > h0 && n != 1 {
				t.Fatalf("a cached response ran %d statements, want 1 (authentication)", n)
			}
			return out, h1 > h0
		}
		want := func(out map[string]any, path, v string) {
			t.Helper()
			if got := fmt.Sprint(get(out, path)); got != v {
				t.Fatalf("%s = %s, want %s", path, got, v)
			}
		}
		const free = "data.billingGroup.creditSummary.free.amount"

		grant("Base", "1000", "2026-11-01T00:00:00+09:00", "2027-06-01T00:00:00+09:00")
		grant("Later", "300", "2026-11-20T11:00:00+09:00", "2027-06-01T00:00:00+09:00")
		grant("Short", "200", "2026-11-01T00:00:00+09:00", "2026-11-20T12:00:00+09:00")
		if _, hit := dash("2026-11-20T10:00:00+09:00"); hit {
			t.Fatal("the first dashboard after a write was a cache hit")
		}
		out, hit := dash("2026-11-20T10:59:59.999+09:00")
		if !hit {
			t.Fatal("an unchanged dashboard was executed again, want a cache hit")
		}
		want(out, free, "1200")
		// Later starts at 11:00 exactly.
		out, hit = dash("2026-11-20T11:00:00+09:00")
		want(out, free, "1500")
		if hit {
			t.Fatal("served from the cache past a credit's start")
		}
		out, _ = dash("2026-11-20T11:59:59.999+09:00")
		want(out, free, "1500")
		// Short ends at 12:00 exactly.
		out, _ = dash("2026-11-20T12:00:00+09:00")
		want(out, free, "1300")

		// The month so far runs through yesterday: today's usage shows from
		// midnight (Asia/Seoul) on.
		e.at("2026-11-20T12:00:00+09:00") // a fresh operator token
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("rc-1", bg, "vm", "hour", "2", "2026-11-20T09:00:00+09:00")}})
		dash("2026-11-20T23:59:59+09:00")
		out, hit = dash("2026-11-20T23:59:59.999+09:00")
		want(out, "data.billingGroup.currentUsage.usedAmount.amount", "0")
		if !hit {
			t.Fatal("want a cache hit before midnight")
		}
		out, _ = dash("2026-11-21T00:00:00+09:00")
		want(out, "data.billingGroup.currentUsage.usedAmount.amount", "170")
		want(out, "data.billingGroup.billingTrend.months.5.usageAmount.amount", "170")

		// A recovered credit stays listed for 3 months after closing.
		base := str(get(out, "data.billingGroup.credits.edges.2.node"), "id")
		e.at("2026-11-21T09:00:00+09:00")
		e.ok(e.op, `mutation($id: ID!) { recoverCredit(input: {creditId: $id}) { credit { status } } }`, map[string]any{"id": base})
		listed := func(out map[string]any) bool {
			for _, ed := range get(out, "data.billingGroup.credits.edges").([]any) {
				if str(ed, "node.id") == base {
					return true
				}
			}
			return false
		}
		for _, at := range []string{"2026-11-21T09:00:00+09:00", "2027-02-21T08:59:00+09:00", "2027-02-21T08:59:59.999+09:00"} {
			if out, _ = dash(at); !listed(out) {
				t.Fatalf("the recovered credit is not listed at %s", at)
			}
		}
		if out, _ = dash("2027-02-21T09:00:00+09:00"); listed(out) {
			t.Fatal("the recovered credit is still listed 3 months after closing")
		}
	})
}

// Only documents of vetted fields are cached, per account; a catalog
// change is a miss.
func TestResponseCacheScope(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("rcs-master@example.com")
		bg := e.mainGroup(master)
		counts := func(tok, q string) (hits, misses int64) {
			t.Helper()
			h0, m0 := e.app.ResponseCacheCounts()
			e.ok(tok, q, map[string]any{"bg": bg})
			h1, m1 := e.app.ResponseCacheCounts()
			return h1 - h0, m1 - m0
		}
		summary := `query($bg: ID!) { billingGroup(id: $bg) { name creditSummary { total { amount } } } }`
		if h, m := counts(master, summary); h != 0 || m != 1 {
			t.Fatalf("first summary: %d hits, %d misses", h, m)
		}
		if h, m := counts(master, summary); h != 1 || m != 0 {
			t.Fatalf("second summary: %d hits, %d misses", h, m)
		}
		// A field not vetted (it reads the clock without noting a
		// validity) keeps the document out of the cache altogether.
		status := `query($bg: ID!) { billingGroup(id: $bg) { name serviceUsageStatus { serviceCode } } }`
		for i := 0; i < 2; i++ {
			if h, m := counts(master, status); h != 0 || m != 0 {
				t.Fatalf("an unvetted document was cached: %d hits, %d misses", h, m)
			}
		}
		// Another account of the organization gets its own answer.
		e.signUp("rcs-member@example.com")
		member := e.join(master, "rcs-member@example.com")
		e.ok(master, `mutation($bg: ID!, $a: ID!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: BILLING_MANAGER}) { billingGroup { id } } }`,
			map[string]any{"bg": bg, "a": member})
		other := e.login("rcs-member@example.com")
		if h, _ := counts(other, summary); h != 0 {
			t.Fatal("another account was answered from the master's cached response")
		}
		counts(master, summary)
		if h, _ := counts(master, summary); h != 1 {
			t.Fatal("want a hit")
		}
		// A catalog change (a new service) is a miss.
		e.ok(e.op, `mutation { createService(input: {code: "rcs", name: "RCS", kind: STANDARD, prices: [{metric: "x", model: PER_UNIT, unitPrice: "1"}]}) { service { code } } }`, nil)
		if h, m := counts(master, summary); h != 0 || m != 1 {
			t.Fatalf("after a catalog change: %d hits, %d misses", h, m)
		}
	})
}

// Queries over a websocket share the connection's context, opened long
// before: each sees the writes made since, both the cached views (the
// revision read at the upgrade is not used) and the dataloaders (one set
// per operation).
func TestWebsocketQueriesSeeWrites(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		tok, _ := e.signUp("ws-fresh@example.com")
		bg := e.mainGroup(tok)
		grant := func(name, amount string) {
			e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": name, "type": "FREE",
				"amount": amount, "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-06-01T00:00:00+09:00"}})
		}
		first := str(e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "First", "type": "FREE",
			"amount": "1000", "startsAt": "2026-11-01T00:00:00+09:00", "endsAt": "2027-06-01T00:00:00+09:00"}}), "grantCredit.credit.id")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := e.socket(ctx, tok, true) // the upgrade request authenticated too
		defer c.Close(websocket.StatusNormalClosure, "")
		n := 0
		ask := func() map[string]any {
			t.Helper()
			n++
			id := fmt.Sprint(n)
			wsjson.Write(ctx, c, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{
				"query":     `query($bg: ID!) { billingGroup(id: $bg) { creditSummary { free { amount } } credits(first: 5) { edges { node { name history(first: 1) { edges { node { amount { amount } } } } } } } } }`,
				"variables": map[string]any{"bg": bg}}})
			for {
				var msg map[string]any
				if err := wsjson.Read(ctx, c, &msg); err != nil {
					t.Fatal(err)
				}
				if msg["type"] == "next" && msg["id"] == id {
					return msg
				}
			}
		}
		ask()
		ask()
		grant("Second", "500")
		out := ask()
		if got := str(out, "payload.data.billingGroup.creditSummary.free.amount"); got != "1500" {
			t.Fatalf("over the socket after a grant: free = %s, want 1500 (%v)", got, out)
		}
		if got := str(out, "payload.data.billingGroup.credits.edges.0.node.history.edges.0.node.amount.amount"); got != "500" {
			t.Fatalf("newest credit's history over the socket = %s, want 500", got)
		}
		// A new history entry of a credit the socket has read before.
		e.ok(e.op, `mutation($id: ID!) { recoverCredit(input: {creditId: $id}) { credit { status } } }`, map[string]any{"id": first})
		out = ask()
		if got := str(out, "payload.data.billingGroup.credits.edges.1.node.history.edges.0.node.amount.amount"); got != "-1000" {
			t.Fatalf("recovered credit's newest history entry over the socket = %s, want -1000", got)
		}
	})
}
