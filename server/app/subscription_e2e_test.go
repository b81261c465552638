package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// paymentUpdated over graphql-transport-ws: a client subscribed to its
// billing group sees its instant payment settle; a foreign caller cannot
// subscribe to that group.
func TestPaymentUpdatedSubscription(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	payers := e.cardPayers("subscriber@example.com")
	tok, bg, pm := payers[0].token, payers[0].bg, payers[0].method
	foreign, _ := e.signUp("spy@example.com")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subscribe := func(token string) (*websocket.Conn, map[string]any) {
		c := e.socket(ctx, token, false)
		wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query":     `subscription($bg: ID!) { paymentUpdated(billingGroupId: $bg) { status amount { amount } receiptId } }`,
			"variables": map[string]any{"bg": bg}}})
		return c, nil
	}
	spy, _ := subscribe(foreign)
	var refused map[string]any
	if err := wsjson.Read(ctx, spy, &refused); err != nil {
		t.Fatal(err)
	}
	// gqlgen sends a failed subscription as "next" with errors and no data.
	if b, _ := json.Marshal(refused); !strings.Contains(string(b), "NOT_FOUND") || get(refused, "payload.data.paymentUpdated") != nil {
		t.Fatalf("a foreign subscriber got %s", b)
	}
	spy.Close(websocket.StatusNormalClosure, "")

	c, _ := subscribe(tok)
	defer c.Close(websocket.StatusNormalClosure, "")
	time.Sleep(100 * time.Millisecond) // let the subscription register
	pay := e.ok(tok, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": bg, "paymentMethodId": pm, "idempotencyKey": "ws-1"}})
	var next map[string]any
	if err := wsjson.Read(ctx, c, &next); err != nil {
		t.Fatal(err)
	}
	if next["type"] != "next" || str(next, "payload.data.paymentUpdated.status") != "SUCCESSFUL" ||
		str(next, "payload.data.paymentUpdated.amount.amount") != str(pay, "payInstantly.payment.amount.amount") {
		t.Fatalf("subscription message = %v", next)
	}
}

// On PostgreSQL a payment settled through one replica reaches the
// paymentUpdated subscribers of another (NOTIFY/LISTEN), and only those of
// its billing group.
func TestPaymentUpdatedAcrossReplicas(t *testing.T) {
	paymentUpdatedAcrossReplicas(t, testenv.Postgres(t))
}

func paymentUpdatedAcrossReplicas(t *testing.T, db *store.DB) {
	a := newEnv(t, db)
	b := newEnvAt(t, db, a.clock) // another replica
	payers := a.cardPayers("relay@example.com", "relay-other@example.com")
	tok, bg, pm := payers[0].token, payers[0].bg, payers[0].method
	other, otherBG, otherPM := payers[1].token, payers[1].bg, payers[1].method

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subscribe := func(e *env) *websocket.Conn {
		c := e.socket(ctx, tok, false)
		wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query":     `subscription($bg: ID!) { paymentUpdated(billingGroupId: $bg) { status amount { amount } receiptId } }`,
			"variables": map[string]any{"bg": bg}}})
		return c
	}
	// A subscriber on the other replica and one on the paying replica.
	subs := map[string]*websocket.Conn{"other replica": subscribe(b), "same replica": subscribe(a)}
	for _, c := range subs {
		defer c.Close(websocket.StatusNormalClosure, "")
	}
	time.Sleep(200 * time.Millisecond) // let the subscriptions register
	// Another group's payment first: not for these subscribers.
	a.ok(other, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": otherBG, "paymentMethodId": otherPM, "idempotencyKey": "relay-0"}})
	pay := a.ok(tok, `mutation($in: PayInstantlyInput!) { payInstantly(input: $in) { payment { receiptId } } }`,
		map[string]any{"in": map[string]any{"billingGroupId": bg, "paymentMethodId": pm, "idempotencyKey": "relay-1"}})
	for where, c := range subs {
		var next map[string]any
		if err := wsjson.Read(ctx, c, &next); err != nil {
			t.Fatalf("no update reached the subscriber on the %s: %v", where, err)
		}
		if next["type"] != "next" || str(next, "payload.data.paymentUpdated.status") != "SUCCESSFUL" ||
			str(next, "payload.data.paymentUpdated.receiptId") != str(pay, "payInstantly.payment.receiptId") {
			t.Fatalf("%s: subscription message = %v", where, next)
		}
	}
}

// the channel-SaaS preset issues on the 1st and charges the card
// automatically on the 5th (and not on the 10th).
func TestChannelSaaSPresetChargesOnThe5th(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, func(c *app.Config) { c.Policy = calendar.ChannelSaaSPolicy() })
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-10-20T10:00:00+09:00")
		tok, bg := e.octoberInvoice("saas@example.com")
		e.ok(tok, registerMethod, card("tok_visa"))
		if got := e.runJobs("2026-11-01T00:00:00+09:00"); get(got, "runBillingJobs.issued") != 1.0 {
			t.Fatalf("1st = %v", got)
		}
		if got := e.runJobs("2026-11-04T12:00:00+09:00"); get(got, "runBillingJobs.charged") != 0.0 {
			t.Fatalf("4th = %v", got)
		}
		if got := e.runJobs("2026-11-05T09:00:00+09:00"); get(got, "runBillingJobs.charged") != 1.0 {
			t.Fatalf("5th = %v", got)
		}
		e.at("2026-11-06T10:00:00+09:00")
		inv := e.ok(tok, invoiceQuery, map[string]any{"bg": bg, "m": "2026-10"})
		if str(inv, "billingGroup.invoice.status") != "PAID" {
			t.Fatalf("invoice = %v", inv)
		}
		p := e.ok(tok, `{ billingPolicy { name issueDay regularPaymentFirstDay regularPaymentLastDay } }`, nil)
		if str(p, "billingPolicy.name") != "CHANNEL_SAAS" || get(p, "billingPolicy.regularPaymentFirstDay") != 5.0 {
			t.Fatalf("policy = %v", p)
		}
	})
}

// payer is a master with an October invoice due and a card registered.
type payer struct{ token, bg, method string }

// cardPayers sets up the catalog and, for each email, a master whose main
// group has an issued October invoice and a registered card; the clock
// ends on 2026-11-20, inside the payment window.
func (e *env) cardPayers(emails ...string) []payer {
	e.t.Helper()
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	var out []payer
	for _, email := range emails {
		tok, bg := e.octoberInvoice(email)
		pm := str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		out = append(out, payer{tok, bg, pm})
	}
	e.runJobs("2026-11-03T00:00:00+09:00")
	e.at("2026-11-20T10:00:00+09:00")
	return out
}

// socket opens a graphql-transport-ws connection to e as token (sent in
// connection_init, and also on the upgrade request when header is set)
// and waits for its connection_ack.
func (e *env) socket(ctx context.Context, token string, header bool) *websocket.Conn {
	e.t.Helper()
	opts := &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}}
	if header {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/graphql", opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	wsjson.Write(ctx, c, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	var ack map[string]any
	if err := wsjson.Read(ctx, c, &ack); err != nil || ack["type"] != "connection_ack" {
		e.t.Fatalf("connection_ack: %v %v", ack, err)
	}
	return c
}

// A replica whose listening connection drops still tells its subscribers
// about payments settled elsewhere meanwhile: once it reconnects it gives
// them what changed since shortly before the loss. The replica listens
// through a TCP relay the test cuts (connections closed, new ones refused)
// while the other replica takes a payment, so that payment's notification
// is lost on the way for certain.
func TestPaymentUpdatedSurvivesAListenerReconnect(t *testing.T) {
	db := testenv.Postgres(t)
	a := newEnv(t, db)
	p := newCuttableProxy(t, db.URL)
	viaProxy := *db
	viaProxy.URL = p.url(db.URL)
	b := newEnvAt(t, &viaProxy, a.clock) // listens through the proxy
	payers := a.cardPayers("reconnect@example.com")
	tok, bg, pm := payers[0].token, payers[0].bg, payers[0].method

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := b.socket(ctx, tok, false)
	defer c.Close(websocket.StatusNormalClosure, "")
	wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($bg: ID!) { paymentUpdated(billingGroupId: $bg) { status receiptId } }`,
		"variables": map[string]any{"bg": bg}}})
	time.Sleep(300 * time.Millisecond) // the subscription registers; b listens

	p.cut() // b's listening connection is gone and cannot come back yet
	time.Sleep(300 * time.Millisecond)
	pay := a.ok(tok, `mutation($in: PayInstantlyInput!) { payInstantly(input: $in) { payment { receiptId } } }`,
		map[string]any{"in": map[string]any{"billingGroupId": bg, "paymentMethodId": pm, "idempotencyKey": "reconnect-1"}})
	time.Sleep(300 * time.Millisecond) // the notification is sent and lost
	p.restore()

	var next map[string]any
	if err := wsjson.Read(ctx, c, &next); err != nil {
		t.Fatalf("the payment settled while the listener was away never reached the subscriber: %v", err)
	}
	if next["type"] != "next" || str(next, "payload.data.paymentUpdated.status") != "SUCCESSFUL" ||
		str(next, "payload.data.paymentUpdated.receiptId") != str(pay, "payInstantly.payment.receiptId") {
		t.Fatalf("subscription message = %v", next)
	}
	if p.accepted.Load() < 2 {
		t.Fatalf("the listener connected %d times through the proxy: the reconnect was not exercised", p.accepted.Load())
	}
}

// cuttableProxy forwards TCP connections to PostgreSQL until cut: then it
// closes them and refuses new ones until restored.
type cuttableProxy struct {
	t        *testing.T
	ln       net.Listener
	target   string
	mu       sync.Mutex
	down     bool
	conns    []net.Conn
	accepted atomic.Int64
}

func newCuttableProxy(t *testing.T, dbURL string) *cuttableProxy {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{t: t, ln: ln, target: u.Host}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				p.mu.Unlock()
				in.Close()
				continue
			}
			p.conns = append(p.conns, in, out)
			p.accepted.Add(1)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// url is dbURL with the proxy's address as its host.
func (p *cuttableProxy) url(dbURL string) string {
	u, _ := url.Parse(dbURL)
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cuttableProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
