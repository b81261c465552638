package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// DashboardQuery is the query the load script sends too.
const DashboardQuery = dataset.DashboardQuery

// statements runs a GraphQL request in-process and counts its SQL statements.
func (e *env) statements(token, query string, vars map[string]any) (int64, map[string]any) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	ctx, n := store.WithStatementCounter(req.Context())
	ctx, log := store.WithStatementLog(ctx)
	defer func() {
		if testing.Verbose() {
			for _, q := range log.SQL {
				if len(q) > 110 {
					q = q[:110]
				}
				e.t.Log("  ", q)
			}
		}
	}()
	rec := httptest.NewRecorder()
	e.app.Handler().ServeHTTP(rec, req.WithContext(ctx))
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != http.StatusOK || out["errors"] != nil {
		e.t.Fatalf("dashboard: %d %v", rec.Code, out["errors"])
	}
	return n.Load(), out
}

// The dashboard issues a constant number of SQL statements, at most 10,
// whatever the page size: nothing is loaded per row (no N+1).
func TestDashboardStatements(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, bg := e.octoberInvoice("dash@example.com")
		pm := str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		for i := 0; i < 100; i++ {
			e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": fmt.Sprint("Promo ", i), "type": "FREE",
				"amount": "100", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2027-01-01T00:00:00+09:00"}})
		}
		e.runJobs("2026-11-03T00:00:00+09:00")
		e.at("2026-11-20T10:00:00+09:00")
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("n1", bg, "vm", "hour", "10", "2026-11-05T00:00:00+09:00")}})
		e.ok(tok, `mutation($pm: ID!) { chargeCoins(input: {amount: "1000", paymentMethodId: $pm, idempotencyKey: "d1"}) { payment { id } } }`, map[string]any{"pm": pm})
		// The first request of a replica fills its short caches (catalog,
		// contracts, discounts); the steady state is what every visit pays.
		cold, _ := e.statements(tok, DashboardQuery, map[string]any{"bg": bg, "n": 20})
		t.Logf("cold dashboard request: %d statements", cold)
		counts := map[int]int64{}
		for _, n := range []int{1, 20, 100} {
			c, out := e.statements(tok, DashboardQuery, map[string]any{"bg": bg, "n": n})
			if got := len(get(out, "data.billingGroup.credits.edges").([]any)); got != n {
				t.Fatalf("page %d returned %d credits", n, got)
			}
			counts[n] = c
		}
		t.Logf("statements per dashboard request by page size: %v", counts)
		if counts[1] != counts[20] || counts[20] != counts[100] || counts[100] > 10 {
			t.Fatalf("statements by page size %v: want the same count, at most 10", counts)
		}
	})
}
