package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/billing/gateway"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/readmodel"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/graph"
	"github.com/cloudbill/cloudbill/graph/generated"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/vektah/gqlparser/v2/ast"
)

// App is a configured cloudbill server.
type App struct {
	Config *Config
	DB     *store.DB
	Tokens *auth.Tokens
	Log    *slog.Logger
	// guesses: 10 wrong coupon codes a minute per caller.
	guesses *coupons.Guesses
	// sandbox is the payment gateway outside production.
	sandbox *gateway.SandboxGateway
	hub     *graph.Hub
	relay   *pgRelay // PostgreSQL: carries payment changes between replicas
	limits  *graph.Limits
	metrics *Metrics
	// catalog keeps the catalog between ratings, for every engine of this app.
	catalog *catalog.Cache
	// terms keeps groups' contracts and discounts briefly for the dashboards.
	terms *rated.Terms
	// ingestGate bounds the usage batches this replica records at once
	// (PostgreSQL; SQLite has one writer anyway).
	ingestGate *usage.Gate
	// views: this replica's cache of organizations' views, nil when off.
	views *readmodel.Views
	// responses: the whole-response cache over views (graph.ResponseCache).
	responses atomic.Pointer[graph.ResponseCache]
	// admission bounds the GraphQL operations running at once, over HTTP
	// and websockets.
	admission *admission
	sockets   *socketRegistry
}

// New opens the database, migrates it and prepares the token machinery.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	if err := cfg.EnsureSecret(); err != nil {
		return nil, err
	}
	db, err := store.OpenDBWith(cfg.DatabaseURL, cfg.DataDir, store.Options{Pooler: cfg.Pooler, DirectURL: cfg.DirectURL})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a, err := WithDB(cfg, db, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	// usage_months for usage recorded before it existed (once per
	// database; see billing/backfill.go).
	n, err := a.Engine().Ingestion().BackfillUsageMonths(ctx)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("backfilling usage_months: %w", err)
	}
	if n > 0 {
		log.Info("usage_months backfilled", "months", n)
	}
	return a, nil
}

// WithDB builds an app on an open, migrated database.
func WithDB(cfg *Config, db *store.DB, log *slog.Logger) (*App, error) {
	tokens, err := auth.NewTokens(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience)
	if err != nil {
		return nil, err
	}
	tokens.Now = cfg.Clock.Now
	tokens.SetClock = cfg.ClockSet
	auth.LimitHashing(cfg.PasswordHashers)
	if cfg.JWKSFile != "" {
		if err := tokens.LoadJWKS(cfg.JWKSFile); err != nil {
			return nil, fmt.Errorf("CLOUDBILL_JWKS_FILE: %w", err)
		}
	}
	if len(cfg.ReplicaURLs) > 0 {
		if err := db.UseReplicas(cfg.ReplicaURLs); err != nil {
			return nil, err
		}
	}
	a := &App{Config: cfg, DB: db, Tokens: tokens, Log: log, catalog: catalog.NewCache(), terms: rated.NewTerms(), guesses: coupons.NewGuesses(db.Client, db.Dialect == "postgres", 10, time.Minute),
		sandbox: &gateway.SandboxGateway{Secret: append([]byte("gateway-notifications:"), cfg.JWTSecret...)},
		hub:     graph.NewHub(), limits: limitsFrom(cfg), admission: newAdmission(cfg.MaxInFlight)}
	a.sockets = newSocketRegistry(a)
	if db.Dialect == "postgres" {
		a.ingestGate = usage.NewGate(cfg.IngestConcurrency)
	}
	if db.Dialect == "postgres" && db.URL != "" {
		a.relay = &pgRelay{db: db, log: log}
		a.hub.Relay = a.relay
	}
	a.metrics = newMetrics(a)
	if cfg.ViewCache {
		a.views = readmodel.NewViews(cfg.ViewCacheRows)
	}
	return a, nil
}

// Close releases the database.
func (a *App) Close() error {
	a.StopListening()
	return a.DB.Close()
}

// StopListening stops the payment relay's listening connection, if any.
func (a *App) StopListening() {
	if a.relay != nil {
		a.relay.Close()
	}
}

// Resolver builds the GraphQL root resolver.
func (a *App) Resolver() *graph.Resolver {
	return &graph.Resolver{Client: a.DB.Client, Tokens: a.Tokens, Clock: a.Config.Clock, Policy: a.Config.Policy,
		Log: a.Log, Postgres: a.DB.Dialect == "postgres", Docs: a.Docs(), Guesses: a.guesses,
		Gateway: a.sandbox, Sandbox: a.sandbox, Hub: a.hub, PublicURL: a.Config.PublicURL, Production: a.Config.Production,
		Throttle: a.throttle(), RunJobs: a.RunJobs, Catalog: a.catalog, Terms: a.terms, IngestGate: a.ingestGate}
}

// throttle is the database-held throttle of logins and sign-ups, nil when off.
func (a *App) throttle() *auth.Throttle {
	if !a.Config.AuthThrottle {
		return nil
	}
	return &auth.Throttle{Client: a.DB.Client, Postgres: a.DB.Dialect == "postgres", Now: a.Config.Clock.Now}
}

// GraphQL builds the GraphQL handler with its transports and limits.
func (a *App) GraphQL() http.Handler {
	r := a.Resolver()
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	srv.AddTransport(a.socketTransport())
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	// Only application/json POSTs: no form or text/plain bodies, which a
	// browser may send cross-site without a preflight (CSRF).
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	// Abuse limits: a bounded parser, no "did you mean" hints that map the
	// schema, depth/alias/field/directive/cost limits and a per-caller cost
	// budget (graph.Limits).
	srv.SetParserTokenLimit(15000)
	srv.SetDisableSuggestion(true)
	if a.Config.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetValidationRulesFn(graph.RulesWithoutIntrospection)
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(a.metrics.Extension())
	srv.Use(a.limits)
	srv.Use(graph.TextInput{}) // no NUL or invalid UTF-8 reaches a statement
	srv.Use(graph.SignInGate{MaxBacklog: a.Config.HashBacklog})
	srv.Use(graph.Audit{R: r, Anonymous: a.metrics.anonymousMutation})
	if len(a.Config.ReplicaURLs) > 0 {
		srv.Use(replicaReads{}) // before the operation's dataloaders are made
	}
	srv.Use(graph.ReadOnlyViews{Client: a.DB.Client})
	// Last, so that metrics, limits and audit see cached responses too.
	rc := graph.NewResponseCache(r)
	a.responses.Store(rc)
	srv.Use(rc)
	srv.SetErrorPresenter(graph.ErrorPresenter(a.Log))
	srv.SetRecoverFunc(graph.RecoverFunc(a.Log))
	return srv
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", a.graphqlEndpoint(a.GraphQL()))
	mux.HandleFunc("GET /documents/{token}", a.serveDocument)
	mux.HandleFunc("POST /webhooks/gateway", a.gatewayWebhook)
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.DB.SQL.PingContext(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if a.Config.Playground {
		var opts []playground.GraphiqlConfigOption
		if dir := a.Config.AssetsDir; dir != "" {
			// Same files as the CDN's (npm graphiql@4.1.2, react@18.2.0), so
			// gqlgen's subresource-integrity hashes still hold.
			mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServer(http.Dir(dir))))
			opts = append(opts,
				playground.WithGraphiqlVersion("/assets/graphiql.min.js", "/assets/graphiql.min.css",
					"sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs=", "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU="),
				playground.WithGraphiqlReactVersion("/assets/react.production.min.js", "/assets/react-dom.production.min.js",
					"sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY=", "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc="),
			)
		}
		mux.Handle("GET /{$}", playground.Handler("cloudbill", "/graphql", opts...))
	}
	return a.requestID(a.cors(mux))
}

// graphqlEndpoint serves /graphql: an HTTP request has its body read, is
// admitted and authenticated before it runs; a websocket upgrade goes
// straight to its transport (socketTransport), which authenticates and
// admits each of its operations.
func (a *App) graphqlEndpoint(gql http.Handler) http.Handler {
	viaHTTP := requestShape(a.readBody(a.admit(a.authenticate(gql))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" { // as gqlgen's websocket transport decides
			gql.ServeHTTP(w, r)
			return
		}
		viaHTTP.ServeHTTP(w, r)
	})
}

// authenticate resolves the bearer credential into the request's principal
// once. A present but invalid credential is refused at once with
// UNAUTHENTICATED; none at all leaves the request anonymous.
func (a *App) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.Config.RequestTimeout)
		defer cancel()
		ctx = graph.WithClientIP(ctx, clientIP(r, a.Config.TrustedProxies))
		ctx = graph.WithLoaders(ctx, a.DB.Client)
		ctx = rated.WithRequestMemo(ctx)
		h := r.Header.Get("Authorization")
		if h != "" {
			scheme, bearer, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || bearer == "" {
				writeAuthError(w, "use Authorization: Bearer <token>")
				return
			}
			p, err := a.Tokens.Resolve(ctx, a.DB.Client, strings.TrimSpace(bearer))
			if err != nil {
				if be, ok := kernel.AsError(err); ok {
					writeAuthError(w, be.Message)
					return
				}
				rid := graph.RequestID(ctx)
				a.Log.ErrorContext(ctx, "resolving credentials", "err", err, "request_id", rid)
				writeGraphQLError(w, http.StatusServiceUnavailable, "service unavailable, try again (request "+rid+")", "UNAVAILABLE")
				return
			}
			ctx = auth.WithPrincipal(ctx, p)
			if p.Account != nil {
				// Read with the principal just now: what this request reads
				// of the organization may come from the view cache while the
				// revision is unchanged (graph.ReadOnlyViews keeps it for
				// queries only).
				ctx = a.views.WithOrgRevision(ctx, p.OrgID, p.OrgRevision, p.OrgUsageRevision)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeAuthError(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeGraphQLError(w, http.StatusUnauthorized, msg, kernel.CodeUnauthenticated)
}

// writeGraphQLError answers outside GraphQL execution in its error shape.
func writeGraphQLError(w http.ResponseWriter, status int, msg, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"message": msg, "extensions": map[string]any{"code": code},
	}}})
}

// requestID tags each request with an id (the caller's X-Request-Id when
// sane) for logs and masked errors, and logs the request.
func (a *App) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		next.ServeHTTP(sw, r.WithContext(graph.WithRequestID(r.Context(), id)))
		a.Log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets the WebSocket upgrader reach the underlying connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *App) corsHosts() []string {
	var hosts []string
	for _, o := range a.Config.CORSOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// cors answers SPA origins from the allow-list (CLOUDBILL_CORS_ORIGINS).
func (a *App) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && a.allowedCORS(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) allowedCORS(origin string) bool {
	for _, o := range a.Config.CORSOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// Serve runs the HTTP server until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	srv := &http.Server{Addr: a.Config.Addr}
	a.ConfigureServer(srv)
	ln, err := listen(a.Config.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// limitsFrom applies CLOUDBILL_RATE_LIMIT (points restored a second; 0 turns
// the per-caller budget off, e.g. for load tests from one token).
func limitsFrom(cfg *Config) *graph.Limits {
	l := graph.DefaultLimits()
	if cfg.RateLimit >= 0 {
		l.Rate = cfg.RateLimit
		l.Capacity = max(l.Capacity, cfg.RateLimit*10)
	}
	return l
}

// clientIP is the address a request came from: the connection's peer
// (RemoteAddr), unless that peer is one of the trusted reverse proxies —
// then X-Forwarded-For is read from its right end (what the nearest proxy
// saw) leftwards, past further trusted proxies, to the first address that
// is not one. Entries a client wrote itself sit to the left of that and are
// never believed; an unreadable entry stops the walk at the last proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !isTrusted(peer, trusted) {
			break
		}
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
