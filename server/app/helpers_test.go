package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var kst = time.FixedZone("KST", 9*3600)

// env is a real cloudbill HTTP server on a test database.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	app   *app.App
	clock *calendar.FixedClock
	op    string // an operator token
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	return newEnvAt(t, db, calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)))
}

func newEnvAt(t *testing.T, db *store.DB, clock *calendar.FixedClock) *env {
	t.Helper()
	return newEnvConfigured(t, db, clock, nil)
}

// newEnvWith is newEnv with the configuration adjusted by set.
func newEnvWith(t *testing.T, db *store.DB, set func(*app.Config)) *env {
	t.Helper()
	return newEnvConfigured(t, db, calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)), set)
}

func newEnvConfigured(t *testing.T, db *store.DB, clock *calendar.FixedClock, set func(*app.Config)) *env {
	t.Helper()
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.JWTSecret = []byte("test-secret-test-secret-test-secret!")
	cfg.RateLimit = 0 // functional tests hammer the API; TestCostBudget tests the budget
	// Functional tests sign up hundreds of accounts from one address; the
	// throttle tests turn the throttle back on.
	cfg.AuthThrottle = false
	cfg.Clock = clock
	// The tests race billing runs of whole months on two replicas; on a CI
	// machine running every package at once they have taken over the
	// default 30 s. They assert what happens, not how fast (benchmarks and
	// the load script do); a run that hangs still fails, later.
	cfg.RequestTimeout = 3 * time.Minute
	if set != nil {
		set(cfg)
	}
	// The server's errors go to the test's log: shown when it fails (an
	// INTERNAL answer says only its request id).
	tw := &testLogWriter{t: t}
	t.Cleanup(tw.stop)
	var out io.Writer = tw
	if testing.Verbose() {
		out = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.WithDB(cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	// Tests move the clock by months: keep their sessions valid meanwhile.
	a.Tokens.AccessTTL = 10 * 365 * 24 * time.Hour
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	a.ConfigureServer(srv.Config) // the handler and the production server's read deadlines
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(a.StopListening)
	t.Cleanup(func() { noticesRender(t, db) })
	op, _, err := a.Tokens.Mint("access", "operator@test", "", "", []string{"OPERATOR"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, app: a, clock: clock, op: op}
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type result struct {
	Status int
	Data   map[string]any
	Errors []gqlError
}

// code is the first error's extensions.code, or "".
func (r result) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// gql posts a GraphQL request as a client would.
func (e *env) gql(token, query string, vars map[string]any) result {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{Errors: []gqlError{{Message: err.Error(), Extensions: map[string]any{"code": "NETWORK"}}}}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		// Not GraphQL's shape: a finding for the caller to assert on.
		return result{Status: resp.StatusCode, Errors: []gqlError{{Message: string(raw), Extensions: map[string]any{"code": "NOT_JSON"}}}}
	}
	r.Status = resp.StatusCode
	return r
}

// ok runs a request that must succeed and returns its data.
func (e *env) ok(token, query string, vars map[string]any) map[string]any {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if len(r.Errors) > 0 {
		e.t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	return r.Data
}

// fails runs a request that must fail with code.
func (e *env) fails(code, token, query string, vars map[string]any) result {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if r.code() != code {
		e.t.Fatalf("want error %s, got %+v (data %v)\nquery: %s", code, r.Errors, r.Data, query)
	}
	return r
}

// get walks a path like "viewer.billingGroups.0.id" through decoded JSON.
func get(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path string) string { s, _ := get(v, path).(string); return s }

const signUpMutation = `mutation($in: SignUpInput!) { signUp(input: $in) { accessToken refreshToken account { id email } } }`

// signUp creates a business account with its organization and returns its
// access token and account id.
func (e *env) signUp(email string) (token, accountID string) {
	e.t.Helper()
	d := e.ok("", signUpMutation, map[string]any{"in": map[string]any{
		"email": email, "password": "Secret!234", "memberType": "BUSINESS", "residenceCountry": "KR"}})
	return str(d, "signUp.accessToken"), str(d, "signUp.account.id")
}

// mainGroup returns the id of the caller's main billing group.
func (e *env) mainGroup(token string) string {
	e.t.Helper()
	d := e.ok(token, `{ viewer { billingGroups { id isMain } } }`, nil)
	for _, g := range get(d, "viewer.billingGroups").([]any) {
		if g.(map[string]any)["isMain"] == true {
			return g.(map[string]any)["id"].(string)
		}
	}
	e.t.Fatal("no main billing group")
	return ""
}

// member signs up email and makes it a member (no grant) of the
// organization whose master holds masterToken; it returns the member's token
// and account id.
func (e *env) member(masterToken, email string) (token, accountID string) {
	e.t.Helper()
	e.signUp(email)
	id := e.join(masterToken, email)
	return e.login(email), id
}

// join makes the account of email (signed up already, with the tests'
// password) a member of the organization whose master holds masterToken:
// invited, it accepts. It returns the account's id.
func (e *env) join(masterToken, email string) string {
	e.t.Helper()
	token := str(e.ok(masterToken, `mutation($e: String!) { inviteMember(input: {email: $e}) { token } }`, map[string]any{"e": email}), "inviteMember.token")
	return str(e.ok(e.login(email), `mutation($t: String!) { acceptInvitation(input: {token: $t}) { account { id } } }`,
		map[string]any{"t": token}), "acceptInvitation.account.id")
}

// grant gives an account a role on a billing group, as the master.
func (e *env) grant(masterToken, bg, accountID, role string) {
	e.t.Helper()
	e.ok(masterToken, `mutation($bg: ID!, $a: ID!, $r: BillingGroupRole!) { grantBillingGroupRole(input: {billingGroupId: $bg, accountId: $a, role: $r}) { billingGroup { id } } }`,
		map[string]any{"bg": bg, "a": accountID, "r": role})
}

// testLogWriter writes to t.Log until the test ends (goroutines of the
// server may log after it).
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
