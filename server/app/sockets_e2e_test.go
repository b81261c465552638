package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Issue 14, finding 1: a socket's credentials are resolved for every
// operation, exactly as an HTTP request's — a revoked API token, a revoked
// grant and a token expired past the leeway apply to the very next
// operation — and the socket is closed with 4403 when its credentials are
// no longer accepted.
func TestSocketCredentialsAreCheckedForEveryOperation(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, func(c *app.Config) { c.SocketCheckInterval = time.Hour }) // the operations notice, not the watcher
		master := e.cardPayers("sock-master@example.com")[0]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		{ // a revoked API token
			c := e.ok(master.token, `mutation { createApiToken(input: {name: "partner", scopes: ["usage:write"]}) { token apiToken { id } } }`, nil)
			partner := e.dial(ctx, str(c, "createApiToken.token"))
			usage := func(id string) map[string]any {
				return map[string]any{"e": []any{event(id, master.bg, "vm", "hour", "1", "2026-11-19T10:00:00+09:00")}}
			}
			if r := partner.do(recordUsage, usage("ws-usage-1")); get(r, "payload.data.recordUsage.accepted") != 1.0 {
				t.Fatalf("usage over the socket before revocation: %v", r)
			}
			e.ok(master.token, `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`,
				map[string]any{"id": str(c, "createApiToken.apiToken.id")})
			partner.send("2", recordUsage, usage("ws-usage-2"))
			if code := partner.closeCode(); code != 4403 {
				t.Fatalf("socket of a revoked token: close code %d, want 4403", code)
			}
			n, err := e.app.DB.Client.UsageEvent.Query().Count(ctx)
			if err != nil || n != 2 { // October's, and the one recorded before revocation
				t.Fatalf("usage events = %d (%v): a revoked token recorded usage", n, err)
			}
		}

		{ // a revoked grant
			member, memberID := e.teamMember(master.token, "sock-member@example.com")
			role := func(op string) {
				e.ok(master.token, fmt.Sprintf(`mutation($bg: ID!, $a: ID!) { %s(input: {billingGroupId: $bg, accountId: $a, role: BILLING_MANAGER}) { billingGroup { id } } }`, op),
					map[string]any{"bg": master.bg, "a": memberID})
			}
			role("grantBillingGroupRole")
			q := `query($bg: ID!) { billingGroup(id: $bg) { creditSummary { free { amount } } } }`
			vars := map[string]any{"bg": master.bg}
			s := e.dial(ctx, member)
			for i := 0; i < 2; i++ { // the second from the caches
				if r := s.do(q, vars); get(r, "payload.data.billingGroup.creditSummary") == nil {
					t.Fatalf("granted member over the socket: %v", r)
				}
			}
			role("revokeBillingGroupRole")
			viaHTTP := e.gql(member, q, vars)
			if viaHTTP.code() == "" {
				t.Fatal("the revoked grant still reads over HTTP")
			}
			r := s.do(q, vars)
			if get(r, "payload.data.billingGroup") != nil || str(r, "payload.errors.0.extensions.code") != viaHTTP.code() {
				t.Fatalf("revoked member over the socket: %v, want %s as over HTTP", r, viaHTTP.code())
			}
		}

		{ // a token expired past the leeway
			s := e.dial(ctx, e.shortToken(master.token, time.Hour))
			coins := `{ viewer { account { coins { balance { amount } } } } }`
			if r := s.do(coins, nil); str(r, "payload.data.viewer.account.coins.balance.amount") != "0" {
				t.Fatalf("coins before = %v", r)
			}
			e.clock.Advance(time.Hour + auth.Leeway + time.Second)
			defer e.clock.Advance(-(time.Hour + auth.Leeway + time.Second))
			s.send("2", `mutation($pm: ID!) { chargeCoins(input: {amount: "10000", paymentMethodId: $pm, idempotencyKey: "ws-expired"}) { wallet { balance { amount } } } }`,
				map[string]any{"pm": master.method})
			if code := s.closeCode(); code != 4403 {
				t.Fatalf("socket of an expired token: close code %d, want 4403", code)
			}
			if got := str(e.ok(master.token, coins, nil), "viewer.account.coins.balance.amount"); got != "0" {
				t.Fatalf("an expired token charged coins: balance %s", got)
			}
		}
	})
}

// Issue 14, finding 1: an active subscription ends as soon as its grant is
// revoked (an "error" message, as a query would be refused), with nothing
// delivered after; the master's subscription to the same group goes on.
// An idle socket whose token expires is closed with 4403.
func TestSubscriptionsEndWithTheirAccess(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, func(c *app.Config) { c.SocketCheckInterval = 50 * time.Millisecond })
		master := e.cardPayers("subs-master@example.com")[0]
		member, memberID := e.teamMember(master.token, "subs-member@example.com")
		grant := `mutation($bg: ID!, $a: ID!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: MEMBER}) { billingGroup { id } } }`
		e.ok(master.token, grant, map[string]any{"bg": master.bg, "a": memberID})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		sub := `subscription($bg: ID!) { paymentUpdated(billingGroupId: $bg) { status receiptId } }`
		vars := map[string]any{"bg": master.bg}
		ms, mm := e.dial(ctx, master.token), e.dial(ctx, member)
		ms.send("s", sub, vars)
		mm.send("s", sub, vars)
		time.Sleep(200 * time.Millisecond) // let the subscriptions register
		e.ok(master.token, strings.Replace(grant, "grantBillingGroupRole", "revokeBillingGroupRole", 1), map[string]any{"bg": master.bg, "a": memberID})
		end := mm.next("s")
		if end["type"] != "error" || str(end, "payload.0.extensions.code") != "FORBIDDEN" {
			t.Fatalf("the revoked member's subscription: %v, want an error FORBIDDEN", end)
		}
		pay := e.ok(master.token, `mutation($in: PayInstantlyInput!) { payInstantly(input: $in) { payment { receiptId } } }`,
			map[string]any{"in": map[string]any{"billingGroupId": master.bg, "paymentMethodId": master.method, "idempotencyKey": "subs-1"}})
		if got := ms.next("s"); str(got, "payload.data.paymentUpdated.receiptId") != str(pay, "payInstantly.payment.receiptId") {
			t.Fatalf("the master's subscription: %v", got)
		}
		if got := mm.pending(); len(got) > 0 {
			t.Fatalf("the revoked member got %v", got)
		}

		// Expiry, with nothing sent: the watcher closes the socket.
		idle := e.dial(ctx, e.shortToken(member, time.Minute))
		e.clock.Advance(time.Minute + auth.Leeway + time.Second)
		if code := idle.closeCode(); code != 4403 {
			t.Fatalf("idle socket of an expired token: close code %d, want 4403", code)
		}
	})
}

// Issue 14, finding 1: a paymentUpdated subscriber stays connected for as
// long as its token is valid — pinged, answering pongs — well past the
// request timeout that used to end every socket; a peer that stops
// answering pings is dropped.
func TestSubscribersStayConnected(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.RequestTimeout = time.Second
		c.SocketPingInterval = 200 * time.Millisecond
	})
	p := e.cardPayers("alive@example.com")[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := e.dial(ctx, p.token)
	s.send("s", `subscription($bg: ID!) { paymentUpdated(billingGroupId: $bg) { status } }`, map[string]any{"bg": p.bg})
	deaf := e.socket(ctx, p.token, false) // answers nothing
	time.Sleep(2500 * time.Millisecond)   // past two request timeouts, a dozen pings
	if n := s.pings.Load(); n < 5 {
		t.Fatalf("%d pings in 2.5 s at a 200 ms interval", n)
	}
	e.ok(p.token, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": p.bg, "paymentMethodId": p.method, "idempotencyKey": "alive-1"}})
	if got := s.next("s"); str(got, "payload.data.paymentUpdated.status") != "SUCCESSFUL" {
		t.Fatalf("after a second: %v", got)
	}
	// The deaf peer was dropped after two unanswered intervals (no close
	// frame: its connection is just cut).
	var err error
	for err == nil {
		var m map[string]any
		err = wsjson.Read(ctx, deaf, &m)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("a peer that answers no pings is kept")
	}
}

// Issue 14, finding 2: a socket must send connection_init within the init
// timeout (4408) and with credentials (4403).
func TestSocketInit(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) { c.SocketInitTimeout = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	silent := e.rawSocket(ctx)
	var m map[string]any
	if err := wsjson.Read(ctx, silent, &m); websocket.CloseStatus(err) != 4408 {
		t.Fatalf("a socket without connection_init: %v %v, want close 4408", m, err)
	}
	anonymous := e.rawSocket(ctx)
	wsjson.Write(ctx, anonymous, map[string]any{"type": "connection_init", "payload": map[string]any{}})
	if err := wsjson.Read(ctx, anonymous, &m); websocket.CloseStatus(err) != 4403 {
		t.Fatalf("connection_init without credentials: %v %v, want close 4403", m, err)
	}
	forged := e.rawSocket(ctx)
	wsjson.Write(ctx, forged, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer nope"}})
	if err := wsjson.Read(ctx, forged, &m); websocket.CloseStatus(err) != 4403 {
		t.Fatalf("connection_init with a bad token: %v %v, want close 4403", m, err)
	}
}

// Issue 14, finding 2: sockets per caller (4429 at connection_init), per
// address before connection_init (429) and in all (503) are bounded.
func TestSocketLimits(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.MaxSocketsPerCaller, c.MaxPendingSocketsPerAddress, c.MaxSockets = 2, 2, 5
	})
	a, _ := e.signUp("limits-a@example.com")
	b, _ := e.signUp("limits-b@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r1, r2 := e.rawSocket(ctx), e.rawSocket(ctx) // waiting for connection_init
	if status := e.refusedDial(ctx); status != http.StatusTooManyRequests {
		t.Fatalf("a third socket waiting for connection_init from one address: HTTP %d, want 429", status)
	}
	r1.Close(websocket.StatusNormalClosure, "")
	r2.Close(websocket.StatusNormalClosure, "")
	e.waitOpenSockets(0)
	e.socket(ctx, a, false)
	e.socket(ctx, a, false)
	third := e.rawSocket(ctx)
	wsjson.Write(ctx, third, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + a}})
	var m map[string]any
	if err := wsjson.Read(ctx, third, &m); websocket.CloseStatus(err) != 4429 {
		t.Fatalf("a caller's third socket: %v %v, want close 4429", m, err)
	}
	e.waitOpenSockets(2)
	e.socket(ctx, b, false) // another caller
	e.rawSocket(ctx)
	e.rawSocket(ctx) // 5 open
	if status := e.refusedDial(ctx); status != http.StatusServiceUnavailable {
		t.Fatalf("a sixth socket: HTTP %d, want 503", status)
	}
}

// Issue 14, finding 2: operations over a socket wait for admission like
// HTTP requests (and are told UNAVAILABLE past their deadline), and spend
// the caller's cost budget shared with HTTP.
func TestSocketOperationsAreAdmitted(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.MaxInFlight = 1
		c.RequestTimeout = 300 * time.Millisecond
		c.RateLimit = 1
	})
	tok, _ := e.signUp("admitted@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := e.dial(ctx, tok)
	q := `{ viewer { roles } }`
	release, ok := e.app.HoldAdmissionSlot(ctx) // the only slot
	if !ok {
		t.Fatal("no admission slot")
	}
	if r := s.do(q, nil); str(r, "payload.errors.0.extensions.code") != "UNAVAILABLE" {
		t.Fatalf("a socket operation while the only slot is held: %v, want UNAVAILABLE", r)
	}
	release()
	if r := s.do(q, nil); get(r, "payload.data.viewer.roles") == nil {
		t.Fatalf("once the slot is free: %v", r)
	}
	// Spend the budget over HTTP; the socket is throttled too.
	bg := e.mainGroup(tok)
	heavy := `query($id: ID!) { billingGroup(id: $id) { invoices(first: 100) { edges { node { id month status } } } } }`
	for i := 0; i < 60 && e.gql(tok, heavy, map[string]any{"id": bg}).code() != "THROTTLED"; i++ {
	}
	if r := s.do(heavy, map[string]any{"id": bg}); str(r, "payload.errors.0.extensions.code") != "THROTTLED" {
		t.Fatalf("a socket operation of a caller whose budget is spent over HTTP: %v", r)
	}
}

// Issue 14, finding 2: clients trickling their bodies do not hold the
// admission slots (the body is read first, within its deadline, then
// refused with 408); a client trickling its headers is cut off.
func TestSlowClientsHoldNoSlots(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.MaxInFlight = 2
		c.RequestTimeout = time.Second
		c.BodyTimeout = 1500 * time.Millisecond
		c.HeaderTimeout = 300 * time.Millisecond
	})
	tok, _ := e.signUp("slow@example.com")
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	var slow []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{", tok)
		slow = append(slow, c)
	}
	header, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer header.Close()
	fmt.Fprint(header, "POST /graphql HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(200 * time.Millisecond) // the slow requests are in
	if r := e.gql(tok, `{ viewer { roles } }`, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("a query while 4 bodies trickle: %d %+v", r.Status, r.Errors)
	}
	for _, c := range slow {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("a body never finished: %v %v, want 408", resp, err)
		}
	}
	header.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if _, err := header.Read(make([]byte, 512)); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("headers never finished: the connection is still open")
	}
}

// shortToken is an access token of token's account valid for ttl from now.
func (e *env) shortToken(token string, ttl time.Duration) string {
	e.t.Helper()
	id := str(e.ok(token, `{ viewer { account { id } } }`, nil), "viewer.account.id")
	acct, err := e.app.DB.Client.Account.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	short, _, err := e.app.Tokens.Mint(auth.TypeAccess, acct.ID, acct.OrgID, "jti-"+id, nil, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return short
}

// waitOpenSockets waits until /metrics counts n open sockets (a socket is
// forgotten just after its close handshake).
func (e *env) waitOpenSockets(n int) {
	e.t.Helper()
	want := fmt.Sprintf("cloudbill_websockets_open %d\n", n)
	for i := 0; i < 100; i++ {
		if strings.Contains(e.metrics(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("/metrics never counted %d open sockets", n)
}

// teamMember adds an account without rights to the master's organization
// (written directly: the test is about what its sockets may do, not how
// it joined) and returns its access token and id.
func (e *env) teamMember(masterToken, email string) (token, accountID string) {
	e.t.Helper()
	ctx := context.Background()
	masterID := str(e.ok(masterToken, `{ viewer { account { id } } }`, nil), "viewer.account.id")
	m, err := e.app.DB.Client.Account.Get(ctx, masterID)
	if err != nil {
		e.t.Fatal(err)
	}
	acct, err := e.app.DB.Client.Account.Create().SetOrgID(m.OrgID).SetEmail(email).SetBillingEmail(email).
		SetPasswordHash("-").SetMemberType("BUSINESS").SetResidenceCountry("KR").SetCreatedAt(e.clock.Now()).Save(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.app.Tokens.Issue(ctx, e.app.DB.Client, acct, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return s.AccessToken, acct.ID
}

// wsClient is a graphql-transport-ws client that answers pings (counting
// them) and keeps the other messages for the test.
type wsClient struct {
	t     *testing.T
	ctx   context.Context
	c     *websocket.Conn
	msgs  chan map[string]any
	err   error // why reading stopped, once msgs is closed
	pings atomic.Int64
}

// dial opens an initialised socket as token.
func (e *env) dial(ctx context.Context, token string) *wsClient {
	e.t.Helper()
	w := &wsClient{t: e.t, ctx: ctx, c: e.socket(ctx, token, false), msgs: make(chan map[string]any, 100)}
	e.t.Cleanup(func() { w.c.CloseNow() })
	go func() {
		defer close(w.msgs)
		for {
			var m map[string]any
			if w.err = wsjson.Read(ctx, w.c, &m); w.err != nil {
				return
			}
			if m["type"] == "ping" {
				w.pings.Add(1)
				wsjson.Write(ctx, w.c, map[string]any{"type": "pong"})
				continue
			}
			w.msgs <- m
		}
	}()
	return w
}

func (w *wsClient) send(id, query string, vars map[string]any) {
	if err := wsjson.Write(w.ctx, w.c, map[string]any{"id": id, "type": "subscribe",
		"payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		w.t.Fatal(err)
	}
}

var wsOps atomic.Int64

// do runs one query or mutation and returns its "next" (or "error") message.
func (w *wsClient) do(query string, vars map[string]any) map[string]any {
	w.t.Helper()
	id := fmt.Sprint("op-", wsOps.Add(1))
	w.send(id, query, vars)
	return w.next(id)
}

// next waits for the next message of operation id.
func (w *wsClient) next(id string) map[string]any {
	w.t.Helper()
	for m := range w.msgs {
		if m["id"] == id {
			return m
		}
	}
	w.t.Fatalf("the socket ended (%v) before a message of %s", w.err, id)
	return nil
}

// pending returns the messages received and not read yet.
func (w *wsClient) pending() []map[string]any {
	var out []map[string]any
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				return out
			}
			out = append(out, m)
		default:
			return out
		}
	}
}

// closeCode waits for the server to close the socket and returns its code.
func (w *wsClient) closeCode() int {
	w.t.Helper()
	for range w.msgs {
	}
	if errors.Is(w.err, context.DeadlineExceeded) {
		w.t.Fatal("the socket was never closed")
	}
	return int(websocket.CloseStatus(w.err))
}

// rawSocket opens a socket and sends nothing.
func (e *env) rawSocket(ctx context.Context) *websocket.Conn {
	e.t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// refusedDial opens a socket that must be refused and returns the status.
func (e *env) refusedDial(ctx context.Context) int {
	e.t.Helper()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err == nil {
		c.CloseNow()
		e.t.Fatal("the socket was accepted")
	}
	if resp == nil {
		e.t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode
}
