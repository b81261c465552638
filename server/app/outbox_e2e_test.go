package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Issued invoices and payments reach a webhook receiver signed, at least
// once, retried with backoff after a failure; replicas draining the outbox
// together never send an event twice at once.
func TestOutboxWebhooks(t *testing.T) {
	e := newEnv(t, testenv.Postgres(t))
	var mu sync.Mutex
	got := map[string]int{}
	fail := true
	secret := []byte("hook-secret")
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("X-Cloudbill-Signature")
		ts, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(sig, ",")[0], "t="), 10, 64)
		if !strings.HasSuffix(sig, ",v1="+notify.SignWebhook(secret, ts, body)) {
			t.Errorf("bad signature %q", sig)
		}
		var ev struct{ ID, Type string }
		json.Unmarshal(body, &ev)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got[ev.Type+" "+ev.ID]++
	}))
	defer recv.Close()
	e.app.Config.WebhookURL = recv.URL
	e.app.Config.WebhookSecret = string(secret)

	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	e.octoberInvoice("hooks@example.com")
	e.runJobs("2026-11-03T00:00:00+09:00")
	ob := e.app.Outbox()
	if n, _ := ob.Deliver(t.Context(), 100); n != 1 { // the email goes (no SMS: the master has no verified phone, R-71); the webhook fails
		t.Fatalf("delivered %d", n)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if n, _ := ob.Deliver(t.Context(), 100); n != 0 {
		t.Fatalf("retried before its backoff: %d", n)
	}
	e.clock.Advance(31 * time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // four replicas draining at once
		wg.Add(1)
		go func() { defer wg.Done(); e.app.Outbox().Deliver(t.Context(), 100) }()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("webhooks received: %v", got)
	}
	for k, n := range got {
		if !strings.HasPrefix(k, "invoice.issued evt_") || n != 1 {
			t.Fatalf("webhooks received: %v", got)
		}
	}
	if d, _ := ob.Depth(t.Context()); d != 0 {
		t.Fatalf("outbox depth %d", d)
	}
}
