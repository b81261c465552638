package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// TestRequestErrorsAreCodedAndCapped: whatever a client sends, the answer is
// a GraphQL error with extensions.code, small, and in the client's words —
// a malformed 200 KB body is not echoed back, a missing Content-Type is not
// a bare "transport not supported", a Month variable of the wrong type does
// not name Go types (issue 16, first hour).
func TestRequestErrorsAreCodedAndCapped(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	tok, _ := e.signUp("first-hour@example.com")
	big := strings.Repeat("a", 200_000)
	const monthQuery = `query($m: Month!) { viewer { billingGroups { invoice(month: $m) { id } } } }`
	withVars := func(query string, vars string) string {
		q, _ := json.Marshal(query)
		return `{"query": ` + string(q) + `, "variables": ` + vars + `}`
	}
	for _, c := range []struct {
		name, method, contentType, body string
		status                          int    // 0: any
		code, says                      string // the first error's code and a part of its message
	}{
		{"malformed 200 KB JSON", "POST", "application/json", `{"query": "{ __typename }", "x": "` + big, 400, "BAD_REQUEST", "not valid JSON"},
		{"JSON with a syntax error", "POST", "application/json", `{"query": "{ __typename }",, }`, 400, "BAD_REQUEST", "not valid JSON"},
		{"a list, not a request", "POST", "application/json", `[1, 2]`, 400, "BAD_REQUEST", "must be a JSON object"},
		{"variables of the wrong type", "POST", "application/json", `{"query": "{ __typename }", "variables": 5, "pad": "` + big + `"}`, 400, "BAD_REQUEST", `"variables" must be an object, not a number`},
		{"no Content-Type", "POST", "", `{"query": "{ __typename }"}`, 415, "BAD_REQUEST", "Content-Type: application/json"},
		{"text/plain", "POST", "text/plain", `{"query": "{ __typename }"}`, 415, "BAD_REQUEST", "Content-Type: application/json"},
		{"a form", "POST", "application/x-www-form-urlencoded", `query=%7B__typename%7D`, 415, "BAD_REQUEST", "Content-Type: application/json"},
		{"PUT", "PUT", "application/json", `{"query": "{ __typename }"}`, 405, "BAD_REQUEST", "GET and POST"},
		{"a 200 KB field name", "POST", "application/json", withVars("{ "+big+" }", "{}"), 0, "GRAPHQL_VALIDATION_FAILED", "Cannot query field"},
		{"a Month as a number", "POST", "application/json", withVars(monthQuery, `{"m": 202610}`), 200, "BAD_USER_INPUT", `Month must be a string such as "2026-10", not a number`},
		{"a Month as an object", "POST", "application/json", withVars(monthQuery, `{"m": {"year": 2026}}`), 200, "BAD_USER_INPUT", "not an object"},
		{"a Month as a list", "POST", "application/json", withVars(monthQuery, `{"m": ["2026-10"]}`), 200, "BAD_USER_INPUT", "not a list"},
		{"a Decimal as a number", "POST", "application/json", withVars(`mutation($a: Decimal!) { chargeCoins(input: {amount: $a, paymentMethodId: "pm_x", idempotencyKey: "k"}) { wallet { balance { amount } } } }`, `{"a": 1000}`), 200, "BAD_USER_INPUT", "not a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+"/graphql", bytes.NewReader([]byte(c.body)))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(raw) > 2048 {
				t.Fatalf("a %d-byte answer to a %d-byte request: %.300s…", len(raw), len(c.body), raw)
			}
			var r result
			if err := json.Unmarshal(raw, &r); err != nil || len(r.Errors) == 0 {
				t.Fatalf("not a GraphQL error: %d %s", resp.StatusCode, raw)
			}
			for _, ge := range r.Errors {
				if code, _ := ge.Extensions["code"].(string); code == "" {
					t.Errorf("an error without extensions.code: %s", raw)
				}
				for _, goWords := range []string{"json.Number", "interface {}", "map[", "RawParams", "Go struct", "Go value"} {
					if strings.Contains(ge.Message, goWords) {
						t.Errorf("the message names Go's types (%q): %s", goWords, ge.Message)
					}
				}
			}
			if c.status != 0 && resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			if r.code() != c.code || !strings.Contains(r.Errors[0].Message, c.says) {
				t.Errorf("got %s %q, want %s saying %q", r.code(), r.Errors[0].Message, c.code, c.says)
			}
		})
	}
}

// TestServerTokenRunsOnTheServersClock: a server started with
// CLOUDBILL_CLOCK leaves its clock in the data directory, and `server
// token` (app.MintToken) mints on it, so its tokens are accepted; a token
// minted on another clock is refused with a message that names the
// server's clock instead of "invalid or expired credentials".
func TestServerTokenRunsOnTheServersClock(t *testing.T) {
	db := testenv.SQLite(t)
	dir := t.TempDir()
	// A year and more from now: a token minted on the system's clock has
	// expired by the server's.
	serverNow := time.Now().Add(400 * 24 * time.Hour).Truncate(time.Second)
	e := newEnvConfigured(t, db, calendar.NewFixedClock(serverNow), func(c *app.Config) {
		c.DataDir, c.ClockSet = dir, true
	})
	if err := app.ShareClock(e.app.Config); err != nil {
		t.Fatal(err)
	}
	tokenCommand := func(env map[string]string) (string, string) {
		cfg, err := app.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		cfg.JWTSecret = e.app.Config.JWTSecret
		a, err := app.WithDB(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		tok, note, err := app.MintToken(context.Background(), cfg, a, "", 12*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok, note
	}
	const opQuery = `{ auditLog(first: 1) { totalCount } }`

	tok, note := tokenCommand(map[string]string{"CLOUDBILL_DATA_DIR": dir})
	if !strings.Contains(note, serverNow.Format("2006-01-02")) {
		t.Errorf("the token command does not say which clock it minted on: %q", note)
	}
	e.ok(tok, opQuery, nil)

	// Another data directory: no clock to adopt, the system's is used, and
	// the server says why it refuses the token.
	tok, _ = tokenCommand(map[string]string{"CLOUDBILL_DATA_DIR": t.TempDir()})
	r := e.fails("UNAUTHENTICATED", tok, opQuery, nil)
	if msg := r.Errors[0].Message; !strings.Contains(msg, "CLOUDBILL_CLOCK") || !strings.Contains(msg, serverNow.Format("2006-01-02")) {
		t.Errorf("a token of another clock is refused without naming the server's: %q", msg)
	}

	// The same CLOUDBILL_CLOCK as the server's works as before.
	tok, _ = tokenCommand(map[string]string{"CLOUDBILL_DATA_DIR": t.TempDir(), "CLOUDBILL_CLOCK": serverNow.Format(time.RFC3339)})
	e.ok(tok, opQuery, nil)

	// A server started without CLOUDBILL_CLOCK removes the record: tokens
	// are minted on the system's clock again.
	e.app.Config.ClockSet = false
	if err := app.ShareClock(e.app.Config); err != nil {
		t.Fatal(err)
	}
	if _, note := tokenCommand(map[string]string{"CLOUDBILL_DATA_DIR": dir}); note != "" {
		t.Errorf("a stale clock was adopted: %q", note)
	}
}

// TestStartupBannerSaysHowToUseThePlaygroundOffline: without
// CLOUDBILL_PLAYGROUND_ASSETS the playground needs unpkg.com; the startup
// log says how to do without it.
func TestStartupBannerSaysHowToUseThePlaygroundOffline(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	banner := app.StartupBanner(context.Background(), e.app, "127.0.0.1:8080")
	for _, want := range []string{"CLOUDBILL_PLAYGROUND_ASSETS=", "server/fetch-playground-assets.sh"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the startup log does not say %q:\n%s", want, banner)
		}
	}
	e.app.Config.AssetsDir = t.TempDir()
	if banner := app.StartupBanner(context.Background(), e.app, "127.0.0.1:8080"); strings.Contains(banner, "unpkg.com") {
		t.Errorf("with assets configured the banner still warns:\n%s", banner)
	}
}
