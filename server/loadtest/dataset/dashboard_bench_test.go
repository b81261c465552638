package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// BenchmarkDashboard answers the dashboard query through the server's
// handler (no network) on PostgreSQL, the data set's 100 groups in turn
// with October invoiced and November used so far: "uncached" on a
// replica without the view cache (every statement, every field), "warm"
// with it after one round. ns/op is per dashboard, server and database
// together on this goroutine.
//
//	go test -run '^$' -bench Dashboard ./server/loadtest/dataset
func BenchmarkDashboard(b *testing.B) {
	db := testenv.Postgres(b)
	ctx := context.Background()
	oct := calendar.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 100, Month: oct, Credits: 2})
	if err != nil {
		b.Fatal(err)
	}
	kst := calendar.NCPPolicy().Location()
	issue := time.Date(2026, 11, 3, 1, 0, 0, 0, kst)
	e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(issue), Postgres: true}
	if _, err := e.IssueInvoices(ctx, issue); err != nil {
		b.Fatal(err)
	}
	if err := dataset.MonthToDate(ctx, db.Client, orgs, oct.Next(), 4, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL.Exec("VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		name := map[bool]string{false: "uncached", true: "warm"}[cached]
		b.Run(name, func(b *testing.B) {
			cfg, err := app.LoadConfig(func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			cfg.JWTSecret = []byte("bench-secret-bench-secret-bench-secret!")
			cfg.RateLimit = 0
			cfg.ViewCache = cached
			cfg.Clock = calendar.NewFixedClock(time.Date(2026, 11, 5, 10, 0, 0, 0, kst))
			a, err := app.WithDB(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			h := a.Handler()
			type req struct {
				body  []byte
				token string
			}
			var reqs []req
			for _, o := range orgs {
				tok, _, err := a.Tokens.Mint(auth.TypeAccess, o.MasterID, o.ID, "", nil, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				for _, g := range o.Groups {
					body, _ := json.Marshal(map[string]any{"query": dataset.DashboardQuery, "variables": map[string]any{"bg": g, "n": 20}})
					reqs = append(reqs, req{body, tok})
				}
			}
			ask := func(r req) {
				hr := httptest.NewRequest("POST", "/graphql", bytes.NewReader(r.body))
				hr.Header.Set("Content-Type", "application/json")
				hr.Header.Set("Authorization", "Bearer "+r.token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, hr)
				if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) {
					b.Fatalf("dashboard: %d %s", w.Code, w.Body.String())
				}
			}
			if cached {
				for _, r := range reqs {
					ask(r)
				}
			}
			i := 0
			for b.Loop() {
				ask(reqs[i%len(reqs)])
				i++
			}
		})
	}
}
