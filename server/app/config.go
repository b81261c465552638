// Package app wires cloudbill together: configuration, database, GraphQL
// handler and HTTP server. The binary in server/ and the end-to-end tests
// both build the server through it.
package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/readmodel"

	"github.com/cloudbill/cloudbill/billing/accounts"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/documents"
	"github.com/cloudbill/cloudbill/billing/kernel"
)

// Config is read from the environment (README, "Configuration").
type Config struct {
	Addr        string
	DatabaseURL string // empty: embedded SQLite in DataDir
	DataDir     string
	JWTSecret   []byte
	JWTIssuer   string
	JWTAudience string
	JWKSFile    string
	Production  bool
	Demo        bool
	AssetsDir   string // CLOUDBILL_PLAYGROUND_ASSETS
	Clock       calendar.Clock
	// ClockSet: Clock was set by CLOUDBILL_CLOCK (ShareClock).
	ClockSet       bool
	Policy         calendar.Policy
	CORSOrigins    []string
	Introspection  bool
	Playground     bool
	RequestTimeout time.Duration
	// PublicURL is how clients reach this server, for signed document links.
	PublicURL string
	// WebhookURL receives signed event webhooks; SMTPAddr/SMTPFrom send email
	// (logged when unset).
	WebhookURL, WebhookSecret, SMTPAddr, SMTPFrom string
	// RateLimit is the query-cost points restored per caller a second
	// (CLOUDBILL_RATE_LIMIT); -1 keeps the default, 0 turns it off.
	RateLimit float64
	// ViewCache serves unchanged views of an organization from memory
	// (billing.CachedView; CLOUDBILL_VIEW_CACHE=0 turns it off).
	ViewCache bool
	// ViewCacheRows bounds that cache (CLOUDBILL_VIEW_CACHE_ROWS; a row is
	// an entity of some 430 bytes of heap, a dashboard about 40 rows).
	ViewCacheRows int64
	// MaxInFlight is how many GraphQL operations run at once, over HTTP
	// and websockets (CLOUDBILL_MAX_IN_FLIGHT; default 8 per CPU, 0 =
	// unlimited).
	MaxInFlight int
	// IngestConcurrency bounds the usage batches a replica records at
	// once on PostgreSQL (CLOUDBILL_INGEST_CONCURRENCY; default one per
	// CPU, 0 = unlimited): see usage.Gate.
	IngestConcurrency int
	// HeaderTimeout bounds reading a request's line and headers, and
	// BodyTimeout a GraphQL request's body (read whole before admission).
	HeaderTimeout, BodyTimeout time.Duration
	// MaxSockets bounds the open websockets of a replica
	// (CLOUDBILL_MAX_SOCKETS, default 1,000; 0 = unlimited);
	// MaxSocketsPerCaller those of one caller — an account, an API token
	// or an operator (CLOUDBILL_MAX_SOCKETS_PER_CALLER, default 16);
	// MaxPendingSocketsPerAddress those of one client address that have
	// not sent connection_init yet (default 8).
	MaxSockets, MaxSocketsPerCaller, MaxPendingSocketsPerAddress int
	// MaxSocketOperations bounds the operations (subscriptions included)
	// running at once on one socket (default 32).
	MaxSocketOperations int
	// SocketInitTimeout: a socket without connection_init by then is
	// closed (4408). SocketPingInterval: how often a socket is pinged (a
	// peer that does not answer within two intervals is dropped).
	// SocketCheckInterval: how often open sockets' credentials are checked
	// for expiry and revocation, and subscriptions' grants re-checked when
	// their organization's revision moved.
	SocketInitTimeout, SocketPingInterval, SocketCheckInterval time.Duration
	// Supplier is who issues the documents (CLOUDBILL_SUPPLIER_*); a
	// made-up demo company unless configured.
	Supplier documents.Supplier
	// SupplierConfigured is false while documents name the demo supplier.
	SupplierConfigured bool
	// PasswordHashers bounds the password hashes running at once
	// (CLOUDBILL_PASSWORD_HASHERS; default half the CPUs, at least one);
	// sign-ins are refused (THROTTLED) while HashBacklog more wait
	// (default 4 per hasher).
	PasswordHashers, HashBacklog int
	// AuthThrottle holds back failed logins and sign-ups in the database
	// (auth.Throttle). Always on when served; tests that sign up many
	// accounts from one address turn it off.
	AuthThrottle bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (CLOUDBILL_TRUSTED_PROXIES: addresses or CIDR prefixes).
	TrustedProxies []netip.Prefix
	// ReplicaURLs are PostgreSQL streaming replicas that serve read-only
	// queries once caught up (CLOUDBILL_DATABASE_REPLICA_URL, comma-separated).
	ReplicaURLs []string
	// Pooler is "transaction" when DATABASE_URL reaches PostgreSQL through
	// a transaction pooler such as PgBouncer (CLOUDBILL_DATABASE_POOLER);
	// DirectURL then reaches the server itself, for LISTEN
	// (CLOUDBILL_DATABASE_DIRECT_URL).
	Pooler, DirectURL string
	// UsageRetentionMonths is how many months before the current one raw
	// usage events are kept once their month is invoiced (PostgreSQL:
	// older months' partitions are dropped; CLOUDBILL_USAGE_RETENTION_MONTHS,
	// default 13, 0 keeps everything). Rollups and invoices stay.
	UsageRetentionMonths int
}

// Embedded reports whether the embedded SQLite database is used.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		Addr:           or(getenv("CLOUDBILL_ADDR"), "127.0.0.1:8080"),
		DatabaseURL:    getenv("DATABASE_URL"),
		DataDir:        or(getenv("CLOUDBILL_DATA_DIR"), "./data"),
		JWTIssuer:      or(getenv("CLOUDBILL_JWT_ISSUER"), "cloudbill"),
		JWTAudience:    or(getenv("CLOUDBILL_JWT_AUDIENCE"), "cloudbill-api"),
		JWKSFile:       getenv("CLOUDBILL_JWKS_FILE"),
		Production:     getenv("CLOUDBILL_ENV") == "production",
		AssetsDir:      getenv("CLOUDBILL_PLAYGROUND_ASSETS"),
		Clock:          calendar.SystemClock{},
		RequestTimeout: 30 * time.Second,
		HeaderTimeout:  10 * time.Second,
		BodyTimeout:    10 * time.Second,

		MaxSockets:                  1000,
		MaxSocketsPerCaller:         16,
		MaxPendingSocketsPerAddress: 8,
		MaxSocketOperations:         32,
		SocketInitTimeout:           5 * time.Second,
		SocketPingInterval:          15 * time.Second,
		SocketCheckInterval:         time.Second,
	}
	var err error
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return nil, errors.New("DATABASE_URL must be a postgres:// URL (unset it for the embedded database)")
	}
	if c.Pooler, c.DirectURL, err = poolerConfig(getenv, c.DatabaseURL); err != nil {
		return nil, err
	}
	if c.ReplicaURLs, err = replicaURLs(getenv("CLOUDBILL_DATABASE_REPLICA_URL"), c.DatabaseURL); err != nil {
		return nil, err
	}
	c.PublicURL = strings.TrimRight(or(getenv("CLOUDBILL_PUBLIC_URL"), "http://"+c.Addr), "/")
	c.RateLimit = -1
	if v := getenv("CLOUDBILL_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return nil, errors.New("CLOUDBILL_RATE_LIMIT must be a number of points a second (0 = off)")
		}
		c.RateLimit = f
	}
	c.WebhookURL = getenv("CLOUDBILL_WEBHOOK_URL")
	c.WebhookSecret = getenv("CLOUDBILL_WEBHOOK_SECRET")
	c.SMTPAddr = getenv("CLOUDBILL_SMTP_ADDR")
	c.SMTPFrom = or(getenv("CLOUDBILL_SMTP_FROM"), "billing@cloudbill.local")
	c.Demo = boolEnv(getenv("CLOUDBILL_DEMO"), c.Embedded() && !c.Production)
	c.Introspection = boolEnv(getenv("CLOUDBILL_INTROSPECTION"), !c.Production)
	c.Playground = boolEnv(getenv("CLOUDBILL_PLAYGROUND"), !c.Production)
	c.ViewCache = boolEnv(getenv("CLOUDBILL_VIEW_CACHE"), true)
	if err := c.loadCapacity(getenv); err != nil {
		return nil, err
	}
	if err := c.loadSupplier(getenv); err != nil {
		return nil, err
	}
	if c.Policy, err = calendar.PolicyByName(getenv("CLOUDBILL_BILLING_POLICY")); err != nil {
		return nil, err
	}
	if !accounts.ValidCurrency(c.Policy.Currency) {
		return nil, fmt.Errorf("the billing policy's currency %q is not an ISO 4217 currency the platform bills in", c.Policy.Currency)
	}
	if err := loadLimits(getenv, &c.Policy); err != nil {
		return nil, err
	}
	if v := getenv("CLOUDBILL_CORS_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.CORSOrigins = append(c.CORSOrigins, o)
			}
		}
	}
	c.AuthThrottle = true
	if c.TrustedProxies, err = parsePrefixes(getenv("CLOUDBILL_TRUSTED_PROXIES")); err != nil {
		return nil, fmt.Errorf("CLOUDBILL_TRUSTED_PROXIES: %w", err)
	}
	if err := c.loadClock(getenv); err != nil {
		return nil, err
	}
	if s := getenv("CLOUDBILL_JWT_SECRET"); s != "" {
		c.JWTSecret = []byte(s)
	}
	return c, nil
}

// loadCapacity reads the bounds of what one server holds: its caches,
// requests, sockets, password hashes at once and usage months kept.
func (c *Config) loadCapacity(getenv func(string) string) error {
	const unbounded = math.MaxInt
	var rows int
	var err error
	for _, v := range []struct {
		to       *int
		env      string
		def, min int
		max      int
		what     string
	}{
		{&rows, "CLOUDBILL_VIEW_CACHE_ROWS", readmodel.DefaultViewRows, 1, unbounded, "a positive number of rows"},
		{&c.MaxInFlight, "CLOUDBILL_MAX_IN_FLIGHT", 8 * runtime.GOMAXPROCS(0), 0, unbounded, "a number of requests (0 = unlimited)"},
		{&c.IngestConcurrency, "CLOUDBILL_INGEST_CONCURRENCY", runtime.GOMAXPROCS(0), 0, unbounded, "a number of usage batches at once (0 = unlimited)"},
		{&c.MaxSockets, "CLOUDBILL_MAX_SOCKETS", c.MaxSockets, 0, unbounded, "a number of sockets (0 = unlimited)"},
		{&c.MaxSocketsPerCaller, "CLOUDBILL_MAX_SOCKETS_PER_CALLER", c.MaxSocketsPerCaller, 0, unbounded, "a number of sockets (0 = unlimited)"},
		{&c.PasswordHashers, "CLOUDBILL_PASSWORD_HASHERS", max(1, runtime.GOMAXPROCS(0)/2), 1, unbounded, "a number of hashes at once (at least 1)"},
		{&c.UsageRetentionMonths, "CLOUDBILL_USAGE_RETENTION_MONTHS", 13, 0, 1200, "a number of months from 0 (keep everything) to 1200"},
	} {
		if *v.to, err = intEnv(getenv, v.env, v.def, v.min, v.max, v.what); err != nil {
			return err
		}
	}
	c.ViewCacheRows = int64(rows)
	c.HashBacklog = 4 * c.PasswordHashers
	return nil
}

// intEnv is the whole number in variable env, def when unset; one outside
// [lo, hi] is refused, saying it must be what.
func intEnv(getenv func(string) string, env string, def, lo, hi int, what string) (int, error) {
	v := getenv(env)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be %s", env, what)
	}
	return n, nil
}

// loadClock reads CLOUDBILL_CLOCK, an instant the server's clock starts
// at (demos and tests; refused in production).
func (c *Config) loadClock(getenv func(string) string) error {
	v := getenv("CLOUDBILL_CLOCK")
	if v == "" {
		return nil
	}
	if c.Production {
		return errors.New("CLOUDBILL_CLOCK is refused in production")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("CLOUDBILL_CLOCK: %w", err)
	}
	c.Clock = calendar.StartingAt(t)
	c.ClockSet = true
	return nil
}

// loadSupplier reads the documents' issuer from CLOUDBILL_SUPPLIER_*: each
// variable overrides one field of the demo supplier.
func (c *Config) loadSupplier(getenv func(string) string) error {
	s := documents.DemoSupplier()
	for _, v := range []struct {
		env string
		to  *string
	}{
		{"CLOUDBILL_SUPPLIER_NAME", &s.Name}, {"CLOUDBILL_SUPPLIER_NAME_EN", &s.NameEN},
		{"CLOUDBILL_SUPPLIER_REGISTRATION_NUMBER", &s.RegistrationNumber},
		{"CLOUDBILL_SUPPLIER_REPRESENTATIVE", &s.Representative}, {"CLOUDBILL_SUPPLIER_ADDRESS", &s.Address},
		{"CLOUDBILL_SUPPLIER_PHONE", &s.Phone}, {"CLOUDBILL_SUPPLIER_EMAIL", &s.Email},
		{"CLOUDBILL_SUPPLIER_BUSINESS_TYPE", &s.BusinessType}, {"CLOUDBILL_SUPPLIER_BUSINESS_ITEM", &s.BusinessItem},
	} {
		if val := strings.TrimSpace(getenv(v.env)); val != "" {
			*v.to = val
			c.SupplierConfigured = true
		}
	}
	if n := strings.ReplaceAll(s.RegistrationNumber, "-", ""); len(n) == 10 && strings.Trim(n, "0123456789") == "" {
		s.RegistrationNumber = n
	} else {
		return errors.New("CLOUDBILL_SUPPLIER_REGISTRATION_NUMBER must be a business registration number of 10 digits (123-45-67890)")
	}
	if v := getenv("CLOUDBILL_SUPPLIER_NAME"); v != "" && getenv("CLOUDBILL_SUPPLIER_NAME_EN") == "" {
		s.NameEN = "" // English documents then use the configured name
	}
	c.Supplier = s
	return nil
}

// EnsureSecret generates the JWT secret when none is configured: kept in the
// data directory in embedded mode, refused otherwise (replicas must share it).
func (c *Config) EnsureSecret() error {
	if len(c.JWTSecret) > 0 {
		if len(c.JWTSecret) < 32 {
			return errors.New("CLOUDBILL_JWT_SECRET must be at least 32 characters")
		}
		return nil
	}
	if !c.Embedded() {
		return errors.New("set CLOUDBILL_JWT_SECRET (at least 32 characters) when using PostgreSQL: every replica must share it")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.JWTSecret = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	c.JWTSecret = []byte(secret)
	return nil
}

// poolerConfig reads CLOUDBILL_DATABASE_POOLER and
// CLOUDBILL_DATABASE_DIRECT_URL.
func poolerConfig(getenv func(string) string, primary string) (pooler, direct string, err error) {
	pooler, direct = strings.ToLower(strings.TrimSpace(getenv("CLOUDBILL_DATABASE_POOLER"))), getenv("CLOUDBILL_DATABASE_DIRECT_URL")
	switch {
	case pooler == "" || pooler == "none":
		return "", "", nil
	case pooler != "transaction":
		return "", "", errors.New("CLOUDBILL_DATABASE_POOLER must be transaction (or none)")
	case primary == "":
		return "", "", errors.New("CLOUDBILL_DATABASE_POOLER needs DATABASE_URL (the pooler's address)")
	case !strings.HasPrefix(direct, "postgres://") && !strings.HasPrefix(direct, "postgresql://"):
		return "", "", errors.New("CLOUDBILL_DATABASE_POOLER=transaction needs CLOUDBILL_DATABASE_DIRECT_URL, a postgres:// URL of the server itself: subscriptions LISTEN on one session-long connection, which a transaction pooler cannot keep")
	}
	return pooler, direct, nil
}

// replicaURLs reads CLOUDBILL_DATABASE_REPLICA_URL: postgres:// URLs,
// comma-separated, only beside a PostgreSQL primary.
func replicaURLs(v, primary string) ([]string, error) {
	var out []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, errors.New("CLOUDBILL_DATABASE_REPLICA_URL must be postgres:// URLs, comma-separated")
		}
		out = append(out, u)
	}
	if len(out) > 0 && primary == "" {
		return nil, errors.New("CLOUDBILL_DATABASE_REPLICA_URL needs DATABASE_URL: replicas are PostgreSQL's")
	}
	return out, nil
}

// parsePrefixes reads comma-separated addresses ("10.0.0.7") and CIDR
// prefixes ("10.0.0.0/8", "fd00::/8").
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func boolEnv(v string, def bool) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}

// loadLimits reads the policy limits on amounts (billing.Limits), each in
// major units of the policy's currency; unset ones keep their defaults.
func loadLimits(getenv func(string) string, p *calendar.Policy) error {
	for _, l := range []struct {
		env string
		to  *int64
	}{
		{"CLOUDBILL_LIMIT_MONEY_IN", &p.Limits.MoneyIn},
		{"CLOUDBILL_LIMIT_MONEY_IN_DAILY", &p.Limits.DailyMoneyIn},
		{"CLOUDBILL_LIMIT_CREDIT", &p.Limits.Credit},
		{"CLOUDBILL_LIMIT_UNIT_PRICE", &p.Limits.UnitPrice},
	} {
		if v := getenv(l.env); v != "" {
			n, err := kernel.ParseAmount(v, p.Currency, l.env)
			if err != nil {
				return fmt.Errorf("%s must be a positive amount of %s: %w", l.env, p.Currency, err)
			}
			*l.to = n
		}
	}
	return nil
}
