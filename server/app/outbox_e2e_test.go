package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/ent/outboxevent"
	"github.com/cloudbill/cloudbill/server/store"
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

// An event that can never be sent — a topic with no wording, an SMS with no
// number (rows queued before R-71 required a verified phone) — is given up
// on at once with its error, not retried every hour forever; one that keeps
// failing is given up on after notify.MaxAttempts; the depth counts only
// what may still go, and Failed what an operator must look at.
func TestOutboxGivesUpOnWhatCannotBeSent(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		org := db.Client.Organization.Create().SetName("Outbox").SaveX(ctx)
		mk := func(topic, channel, to string) string {
			return db.Client.OutboxEvent.Create().SetOrgID(org.ID).SetTopic(topic).SetChannel(channel).SetRecipient(to).
				SetLanguage("KO").SetPayload([]byte(`{}`)).SaveX(ctx).ID
		}
		// Made by hand to be unsendable: gone before the environment's check
		// that every queued notice renders (noticesRender).
		t.Cleanup(func() { db.Client.OutboxEvent.Delete().Where(outboxevent.OrgID(org.ID)).ExecX(context.Background()) })
		unknown := mk("no.such.topic", topics.ChannelEmail, "x@example.com")
		noNumber := mk(topics.InvoiceIssued, topics.ChannelSMS, "")
		hook := mk(topics.InvoiceIssued, topics.ChannelWebhook, "")
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
		defer down.Close()
		e.app.Config.WebhookURL = down.URL
		ob := e.app.Outbox()
		if n, err := ob.Deliver(ctx, 100); err != nil || n != 0 {
			t.Fatalf("delivered %d (%v)", n, err)
		}
		for _, id := range []string{unknown, noNumber} {
			ev := db.Client.OutboxEvent.GetX(ctx, id)
			if ev.FailedAt == nil || ev.LastError == "" || ev.Attempts != 1 {
				t.Fatalf("%s %s: failed at %v, error %q after %d attempts; want given up on at once", ev.Topic, ev.Channel, ev.FailedAt, ev.LastError, ev.Attempts)
			}
		}
		if d, _ := ob.Depth(ctx); d != 1 {
			t.Fatalf("depth %d, want the webhook only", d)
		}
		for i := 1; i < notify.MaxAttempts; i++ {
			e.clock.Advance(time.Hour)
			ob.Deliver(ctx, 100)
		}
		ev := db.Client.OutboxEvent.GetX(ctx, hook)
		if ev.FailedAt == nil || ev.Attempts != notify.MaxAttempts || !strings.Contains(ev.LastError, "502") {
			t.Fatalf("the webhook after %d attempts: failed at %v, error %q", ev.Attempts, ev.FailedAt, ev.LastError)
		}
		e.clock.Advance(time.Hour)
		if n, _ := ob.Deliver(ctx, 100); n != 0 || db.Client.OutboxEvent.GetX(ctx, hook).Attempts != notify.MaxAttempts {
			t.Fatal("an event given up on was tried again")
		}
		if d, _ := ob.Depth(ctx); d != 0 {
			t.Fatalf("depth %d, want 0", d)
		}
		if f, _ := ob.Failed(ctx); f != 3 {
			t.Fatalf("failed %d, want 3", f)
		}
	})
}
