package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent/apitoken"
	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/graph"
	"github.com/cloudbill/cloudbill/server/auth"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Close codes of the graphql-transport-ws protocol this server uses (see
// the Security section of the README).
const (
	// closeForbidden: no credentials, or they are invalid, expired or
	// revoked. graphql-ws clients retry after it ("might grant access
	// after retry"), with fresh connection params — what a client whose
	// token expired must do. (4401 Unauthorized means "subscribed before
	// connection_ack" in the protocol, and clients treat it as fatal.)
	closeForbidden = 4403
	// closeInitTimeout: no connection_init within Config.SocketInitTimeout.
	closeInitTimeout = 4408
	// closeTooManySockets: the caller already holds
	// Config.MaxSocketsPerCaller sockets.
	closeTooManySockets = 4429
	// closeTryAgainLater (RFC 6455): the credentials could not be checked
	// (the database did not answer).
	closeTryAgainLater = 1013
)

// socketTransport is gqlgen's websocket transport with every socket held
// to the same rules as HTTP requests:
//
//   - connection_init must come within Config.SocketInitTimeout (4408),
//     with credentials (4403 without); a caller holds at most
//     Config.MaxSocketsPerCaller sockets (4429), the server at most
//     Config.MaxSockets, and one address at most
//     Config.MaxPendingSocketsPerAddress not yet initialised (both refused
//     before the upgrade);
//   - every operation resolves the socket's credentials afresh, exactly as
//     an HTTP request does (a revoked token or grant applies at once), and
//     runs under the same admission, timeout and cost budget;
//   - subscriptions re-check their authorization before each delivery and
//     when their organization's revision moves (graph.Session), and the
//     socket is closed (4403) when its credentials expire or are revoked;
//   - pings keep a subscriber connected for as long as its credentials
//     are valid; a peer that stops answering them is dropped.
type socketTransport struct {
	a  *App
	ws transport.Websocket
}

func (a *App) socketTransport() socketTransport {
	return socketTransport{a: a, ws: transport.Websocket{
		// graphql-transport-ws: a ping every interval, a pong expected
		// within two; the legacy graphql-ws protocol gets its "ka".
		PingPongInterval:      a.Config.SocketPingInterval,
		KeepAlivePingInterval: a.Config.SocketPingInterval,
		// Browsers may open the socket from this server's own pages and from
		// the SPA origins of the CORS allow-list, nowhere else.
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{
			OriginPatterns: a.corsHosts(),
		}},
	}}
}

func (t socketTransport) Supports(r *http.Request) bool { return t.ws.Supports(r) }

func (t socketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	s, refused := t.a.sockets.open(r)
	if refused != nil {
		refused(w)
		return
	}
	defer t.a.sockets.release(s)
	ws := t.ws
	ws.Implementation = acceptInto{WebsocketImplementation: ws.Implementation, s: s}
	ws.InitFunc = s.init
	ws.Do(w, r.WithContext(s.ctx), &socketExecutor{GraphExecutor: exec, s: s})
}

// acceptInto hands the accepted connection to its socket, which may close
// it (init timeout, expired credentials).
type acceptInto struct {
	transport.WebsocketImplementation
	s *socket
}

func (x acceptInto) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := x.WebsocketImplementation.Accept(w, r, o)
	if err == nil {
		x.s.accepted(c)
	}
	return c, err
}

// socket is one websocket connection and the credentials it was opened
// with (graph.Session).
type socket struct {
	reg    *socketRegistry
	addr   string
	header string // the upgrade request's bearer token, if any
	ctx    context.Context
	cancel context.CancelFunc
	ready  atomic.Bool // connection_init accepted

	// Set once by init, before any operation.
	bearer string
	caller string

	mu      sync.Mutex
	conn    transport.WebsocketConn
	closed  bool
	p       *auth.Principal // as last resolved
	changed chan struct{}   // closed when access may have changed
	ops     int             // operations running
	subs    int             // of which subscriptions
}

// accepted starts the init timeout once the connection is upgraded.
func (s *socket) accepted(c transport.WebsocketConn) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	time.AfterFunc(s.reg.a.Config.SocketInitTimeout, func() {
		if !s.ready.Load() {
			s.close(closeInitTimeout, "connection initialisation timeout")
		}
	})
}

// close ends the socket with a close code (the first one given wins).
func (s *socket) close(code int, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		_ = conn.WriteClose(code, reason)
		_ = conn.Close()
	}
	s.cancel()
}

// init accepts connection_init: credentials required (in its payload, as
// "Authorization": "Bearer …" or "authToken", or on the upgrade request),
// valid, and within the caller's socket limit. The socket's context keeps
// no principal: each operation resolves its own.
func (s *socket) init(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	refuse := func(code int, reason string) (context.Context, *transport.InitPayload, error) {
		return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason), nil, errors.New(reason)
	}
	bearer := bearerFromInit(payload)
	if bearer == "" {
		bearer = s.header
	}
	if bearer == "" {
		return refuse(closeForbidden, "credentials required: send Authorization in connection_init")
	}
	a := s.reg.a
	p, err := a.Tokens.Resolve(ctx, a.DB.Client, bearer)
	if err != nil {
		if _, ok := kernel.AsError(err); ok {
			return refuse(closeForbidden, "invalid or expired credentials")
		}
		a.Log.ErrorContext(ctx, "resolving socket credentials", "err", err, "request_id", graph.RequestID(ctx))
		return refuse(closeTryAgainLater, "credentials could not be checked, try again")
	}
	if !s.reg.initialised(s, bearer, p) {
		return refuse(closeTooManySockets, fmt.Sprintf("too many sockets for these credentials (at most %d)", a.Config.MaxSocketsPerCaller))
	}
	return ctx, nil, nil
}

func bearerFromInit(payload transport.InitPayload) string {
	if h := payload.Authorization(); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return strings.TrimSpace(h)
	}
	return payload.GetString("authToken")
}

// Principal resolves the socket's credentials now, as an HTTP request
// would; expired or revoked credentials close the socket (4403).
func (s *socket) Principal(ctx context.Context) (*auth.Principal, error) {
	a := s.reg.a
	p, err := a.Tokens.Resolve(ctx, a.DB.Client, s.bearer)
	if err != nil {
		if _, ok := kernel.AsError(err); ok {
			s.close(closeForbidden, "credentials expired or revoked")
		}
		return nil, err
	}
	s.mu.Lock()
	moved := s.p != nil && s.p.OrgRevision != p.OrgRevision
	s.p = p
	s.mu.Unlock()
	if moved { // whoever noticed first, the subscriptions re-check
		s.accessMayHaveChanged()
	}
	return p, nil
}

// Changed is closed when the socket's access may have changed.
func (s *socket) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// accessMayHaveChanged wakes the subscriptions to re-check.
func (s *socket) accessMayHaveChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// startOp counts an operation; false when the socket runs too many.
func (s *socket) startOp(subscription bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops >= s.reg.a.Config.MaxSocketOperations {
		return false
	}
	s.ops++
	if subscription {
		s.subs++
	}
	return true
}

func (s *socket) endOp(subscription bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops--
	if subscription {
		s.subs--
	}
}

// state is what the watcher looks at.
func (s *socket) state() (p *auth.Principal, subs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p, s.subs
}

// socketExecutor runs each operation of a socket as an HTTP request is
// run: with its principal resolved afresh, within the request timeout
// (subscriptions excepted) and once admitted.
type socketExecutor struct {
	graphql.GraphExecutor
	s *socket
	// principals carries each operation's principal from its creation
	// (where limits and the cost budget see it) to its dispatch.
	principals sync.Map // *graphql.OperationContext → *auth.Principal
}

func (x *socketExecutor) CreateOperationContext(ctx context.Context, params *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	p, err := x.s.Principal(ctx)
	if err != nil {
		return &graphql.OperationContext{}, gqlerror.List{x.operationError(ctx, err)}
	}
	rc, errs := x.GraphExecutor.CreateOperationContext(x.withPrincipal(ctx, p), params)
	if errs == nil {
		x.principals.Store(rc, p)
	}
	return rc, errs
}

func (x *socketExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	v, _ := x.principals.LoadAndDelete(rc)
	p, _ := v.(*auth.Principal)
	ctx = x.withPrincipal(ctx, p)
	sub := rc.Operation != nil && rc.Operation.Operation == ast.Subscription
	if !x.s.startOp(sub) {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{codedError(kernel.CodeRateLimited,
			fmt.Sprintf("too many operations at once on this socket (at most %d)", x.s.reg.a.Config.MaxSocketOperations))}}), ctx
	}
	cancel := func() {}
	if !sub {
		ctx, cancel = context.WithTimeout(ctx, x.s.reg.a.Config.RequestTimeout)
	}
	release, ok := x.s.reg.a.admission.enter(ctx)
	if !ok {
		x.s.endOp(sub)
		cancel()
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{codedError("UNAVAILABLE", busyMessage)}}), ctx
	}
	// A subscription's resolver runs (and authorizes it) in dispatch; a
	// query or mutation runs when its first response is asked for.
	h, ctx := x.GraphExecutor.DispatchOperation(ctx, rc)
	if sub {
		release()
		release = func() {}
	}
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		resp := h(ctx)
		once.Do(release)
		if resp == nil {
			x.s.endOp(sub)
			cancel()
		}
		return resp
	}, ctx
}

// withPrincipal is the operation's context: its principal and, for an
// account, the organization's revisions it read (the view cache serves
// queries while they are unchanged, as for HTTP requests).
func (x *socketExecutor) withPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	ctx = auth.WithPrincipal(ctx, p)
	if p != nil && p.Account != nil {
		ctx = x.s.reg.a.views.WithOrgRevision(ctx, p.OrgID, p.OrgRevision, p.OrgUsageRevision)
	}
	return ctx
}

// operationError answers an operation whose credentials could not be
// resolved: UNAUTHENTICATED (the socket is closing, 4403) or UNAVAILABLE.
func (x *socketExecutor) operationError(ctx context.Context, err error) *gqlerror.Error {
	if be, ok := kernel.AsError(err); ok {
		return codedError(be.Code, be.Message)
	}
	x.s.reg.a.Log.ErrorContext(ctx, "resolving socket credentials", "err", err, "request_id", graph.RequestID(ctx))
	return codedError("UNAVAILABLE", "service unavailable, try again")
}

func codedError(code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

// socketRegistry counts the open sockets for the limits, and watches the
// credentials of those initialised (watch).
type socketRegistry struct {
	a        *App
	mu       sync.Mutex
	all      map[*socket]struct{}
	pending  map[string]int // by client address: not yet initialised
	callers  map[string]int // initialised, by caller
	watching bool
}

func newSocketRegistry(a *App) *socketRegistry {
	return &socketRegistry{a: a, all: map[*socket]struct{}{}, pending: map[string]int{}, callers: map[string]int{}}
}

// open admits a new socket under the global and per-address limits; when
// refused, the answer is written with refused.
func (g *socketRegistry) open(r *http.Request) (s *socket, refused func(http.ResponseWriter)) {
	cfg := g.a.Config
	addr := clientIP(r, cfg.TrustedProxies)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case cfg.MaxSockets > 0 && len(g.all) >= cfg.MaxSockets:
		return nil, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "10")
			writeGraphQLError(w, http.StatusServiceUnavailable, "too many open sockets, try again later", "UNAVAILABLE")
		}
	case cfg.MaxPendingSocketsPerAddress > 0 && g.pending[addr] >= cfg.MaxPendingSocketsPerAddress:
		return nil, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "5")
			writeGraphQLError(w, http.StatusTooManyRequests, "too many sockets waiting for connection_init from this address", kernel.CodeRateLimited)
		}
	}
	s = &socket{reg: g, addr: addr}
	if scheme, bearer, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		s.header = strings.TrimSpace(bearer)
	}
	ctx := auth.WithPrincipal(r.Context(), nil) // each operation resolves its own
	ctx = graph.WithClientIP(ctx, addr)
	ctx = graph.WithSession(ctx, s)
	s.ctx, s.cancel = context.WithCancel(ctx)
	g.all[s] = struct{}{}
	g.pending[addr]++
	if !g.watching {
		g.watching = true
		go g.watch()
	}
	return s, nil
}

// initialised moves a socket from pending to its caller's count, unless
// the caller holds its limit already.
func (g *socketRegistry) initialised(s *socket, bearer string, p *auth.Principal) bool {
	caller := p.Caller()
	g.mu.Lock()
	defer g.mu.Unlock()
	if max := g.a.Config.MaxSocketsPerCaller; max > 0 && g.callers[caller] >= max {
		return false
	}
	g.decPending(s.addr)
	g.callers[caller]++
	s.bearer, s.caller = bearer, caller
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
	s.ready.Store(true)
	return true
}

// release forgets a socket once its connection ended.
func (g *socketRegistry) release(s *socket) {
	s.close(websocketGoingAway, "closed")
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.all, s)
	if s.ready.Load() {
		if g.callers[s.caller]--; g.callers[s.caller] <= 0 {
			delete(g.callers, s.caller)
		}
	} else {
		g.decPending(s.addr)
	}
}

const websocketGoingAway = 1001

func (g *socketRegistry) decPending(addr string) {
	if g.pending[addr]--; g.pending[addr] <= 0 {
		delete(g.pending, addr)
	}
}

// closeAll closes every socket as the server shuts down (net/http does not
// track upgraded connections); 1012 Service Restart tells clients to
// reconnect, to another replica.
func (g *socketRegistry) closeAll() {
	g.mu.Lock()
	socks := make([]*socket, 0, len(g.all))
	for s := range g.all {
		socks = append(socks, s)
	}
	g.mu.Unlock()
	for _, s := range socks {
		s.close(closeServiceRestart, "server shutting down")
	}
}

const closeServiceRestart = 1012

// Count is how many sockets are open (for /metrics).
func (g *socketRegistry) Count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.all)
}

// watch runs while sockets are open: every Config.SocketCheckInterval it
// checks the credentials of the initialised ones (check).
func (g *socketRegistry) watch() {
	t := time.NewTicker(g.a.Config.SocketCheckInterval)
	defer t.Stop()
	for range t.C {
		g.mu.Lock()
		socks := make([]*socket, 0, len(g.all))
		for s := range g.all {
			if s.ready.Load() {
				socks = append(socks, s)
			}
		}
		if len(g.all) == 0 {
			g.watching = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.check(socks)
	}
}

// check closes the sockets whose credentials expired (by the app's clock)
// or whose API token was revoked (4403), and wakes the subscriptions of an
// organization whose revision moved — grants, roles and accounts are among
// what moves it — to re-check their authorization. Two statements for all
// the sockets of the replica, whatever their number.
func (g *socketRegistry) check(socks []*socket) {
	now := g.a.Config.Clock.Now()
	orgs := map[string][]*socket{}
	tokens := map[string][]*socket{}
	for _, s := range socks {
		p, subs := s.state()
		switch {
		case p == nil:
		case !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt):
			s.close(closeForbidden, "credentials expired")
		case p.Partner:
			tokens[p.TokenID] = append(tokens[p.TokenID], s)
		case subs > 0 && p.Account != nil:
			orgs[p.OrgID] = append(orgs[p.OrgID], s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.a.Config.SocketCheckInterval+time.Second)
	defer cancel()
	client := g.a.DB.Client
	if len(tokens) > 0 {
		revoked, err := client.APIToken.Query().Where(apitoken.IDIn(keys(tokens)...), apitoken.RevokedAtNotNil()).IDs(ctx)
		if err != nil {
			g.a.Log.Warn("sockets: checking API tokens", "err", err)
		}
		for _, id := range revoked {
			for _, s := range tokens[id] {
				s.close(closeForbidden, "credentials revoked")
			}
		}
	}
	if len(orgs) > 0 {
		var revs []struct {
			ID       string `json:"id"`
			Revision int64  `json:"revision"`
		}
		err := client.Organization.Query().Where(organization.IDIn(keys(orgs)...)).
			Select(organization.FieldID, organization.FieldRevision).Scan(ctx, &revs)
		if err != nil {
			g.a.Log.Warn("sockets: checking organizations' revisions", "err", err)
		}
		for _, o := range revs {
			for _, s := range orgs[o.ID] {
				if p, _ := s.state(); p != nil && p.OrgRevision != o.Revision {
					s.accessMayHaveChanged()
				}
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
