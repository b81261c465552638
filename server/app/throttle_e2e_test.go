package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// throttled is a replica with the login and sign-up throttles on, behind
// a reverse proxy at 127.0.0.1 (the test client) whose X-Forwarded-For it
// believes, so that a test can speak from many client addresses.
func throttled(t *testing.T, db *store.DB, clock *calendar.FixedClock) *env {
	return newEnvConfigured(t, db, clock, func(c *app.Config) {
		c.AuthThrottle = true
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
}

const loginMutation = `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }`

func loginVars(email, password string) map[string]any {
	return map[string]any{"e": email, "p": password}
}

// outcome reads the first error's code and retry time of a canonical answer
// ("" for success).
func outcome(t *testing.T, answer string) (code string, retryAfter int) {
	t.Helper()
	_, body, _ := strings.Cut(answer, " ")
	var v struct {
		Errors []struct {
			Extensions struct {
				Code              string `json:"code"`
				RetryAfterSeconds int    `json:"retryAfterSeconds"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %s", answer)
	}
	if len(v.Errors) == 0 {
		return "", 0
	}
	return v.Errors[0].Extensions.Code, v.Errors[0].Extensions.RetryAfterSeconds
}

// Issue 14, finding 4: password guessing against one account is held back
// with growing delays, in PostgreSQL, so two replicas count the same
// attempts; a lockout says nothing about whether the account exists (an
// unknown email gets byte-identical answers, delays included); the right
// password during a lockout is refused too; after the delay it works, and
// it starts the account's count over.
func TestLoginThrottledPerAccountAcrossReplicas(t *testing.T) {
	db := testenv.Postgres(t)
	a := throttled(t, db, calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)))
	b := throttled(t, db, a.clock)
	a.signUp("victim@example.com")
	replicas := []*env{a, b}

	// Each attempt from its own address: the account's count holds however
	// the guesses are spread.
	n := 0
	try := func(email, password string) string {
		n++
		return replicas[n%2].canonicalFrom(fmt.Sprintf("198.51.100.%d", n), "", loginMutation, loginVars(email, password))
	}
	// step tries the victim's email — and, while their counts run alike,
	// an email no account has, which must get the same answer.
	step := func(what string, want string, wantRetry int, password string) {
		t.Helper()
		known := try("Victim@Example.com ", password) // normalised as the login reads it
		if code, retry := outcome(t, known); code != want || retry != wantRetry {
			t.Fatalf("%s: got %s (retry %d), want %s (retry %d): %s", what, code, retry, want, wantRetry, known)
		}
		if want == "" || strings.Contains(what, "after a success") {
			return // the victim's count started over; the unknown email's did not
		}
		if unknown := try("nobody-here@example.com", password); known != unknown {
			t.Fatalf("%s: an existing and an unknown email answer differently:\n  known:   %s\n  unknown: %s", what, known, unknown)
		}
	}
	for i := 1; i <= 5; i++ {
		step(fmt.Sprintf("wrong password %d", i), "UNAUTHENTICATED", 0, "Wrong!pass1")
	}
	step("6th guess", "THROTTLED", 60, "Wrong!pass1")
	a.clock.Advance(20 * time.Second)
	step("the right password while locked", "THROTTLED", 40, "Secret!234")
	a.clock.Advance(40 * time.Second)
	step("6th guess after the first delay", "UNAUTHENTICATED", 0, "Wrong!pass1")
	step("7th guess", "THROTTLED", 120, "Wrong!pass1") // the delay doubles
	a.clock.Advance(2 * time.Minute)
	step("7th guess after the second delay", "UNAUTHENTICATED", 0, "Wrong!pass1")
	step("8th guess", "THROTTLED", 240, "Wrong!pass1")
	a.clock.Advance(4 * time.Minute)
	step("the right password after the delay", "", 0, "Secret!234")
	step("a wrong password after a success", "UNAUTHENTICATED", 0, "Wrong!pass1") // the count started over

	// 30 guesses at once, half on each replica, each from its own address:
	// exactly the 5 free ones are tried.
	a.clock.Advance(25 * time.Hour) // quiet long enough: the unknown email starts over too
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(e *env, i int) {
			defer wg.Done()
			code, _ := outcome(t, e.canonicalFrom(fmt.Sprintf("203.0.113.%d", i), "", loginMutation, loginVars("victim@example.com", "Wrong!pass2")))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}(replicas[i%2], i)
	}
	wg.Wait()
	if codes["UNAUTHENTICATED"] != 5 || codes["THROTTLED"] != 25 {
		t.Fatalf("30 concurrent guesses on two replicas: %v, want 5 UNAUTHENTICATED and 25 THROTTLED", codes)
	}
}

// Finding 4, per client address: a client guessing across many accounts
// (password spraying) is held back after 20 failures, whatever the emails;
// its successful logins are not counted against it; other addresses are not
// affected. The address is the connection's peer unless that peer is a
// trusted proxy: without CLOUDBILL_TRUSTED_PROXIES a forged
// X-Forwarded-For changes nothing.
func TestLoginThrottledPerAddress(t *testing.T) {
	db := testenv.Postgres(t)
	a := throttled(t, db, calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)))
	b := throttled(t, db, a.clock)
	a.signUp("sprayed@example.com")
	from := func(e *env, ip, email, password string) (string, int) {
		return outcome(t, e.canonicalFrom(ip, "", loginMutation, loginVars(email, password)))
	}
	const spray = "192.0.2.7"
	for i := 0; i < 19; i++ {
		if code, _ := from([]*env{a, b}[i%2], spray, fmt.Sprintf("user%d@example.com", i), "Wrong!pass1"); code != "UNAUTHENTICATED" {
			t.Fatalf("failure %d: %s", i+1, code)
		}
	}
	for i := 0; i < 3; i++ { // the right password is not a failure
		if code, _ := from(b, spray, "sprayed@example.com", "Secret!234"); code != "" {
			t.Fatalf("login %d: %s", i+1, code)
		}
	}
	if code, _ := from(a, spray, "user19@example.com", "Wrong!pass1"); code != "UNAUTHENTICATED" {
		t.Fatalf("failure 20: %s", code)
	}
	if code, retry := from(b, spray, "user20@example.com", "Wrong!pass1"); code != "THROTTLED" || retry != 60 {
		t.Fatalf("failure 21: %s (retry %d)", code, retry)
	}
	if code, _ := from(a, spray, "sprayed@example.com", "Secret!234"); code != "THROTTLED" {
		t.Fatalf("the right password from a locked address: %s", code)
	}
	// The rightmost address a trusted proxy added is the client; what the
	// client wrote to its left is not believed.
	if code, _ := from(a, "10.9.9.9, "+spray, "sprayed@example.com", "Secret!234"); code != "THROTTLED" {
		t.Fatalf("a forged leftmost X-Forwarded-For escaped the throttle: %s", code)
	}
	if code, _ := from(b, "192.0.2.8", "sprayed@example.com", "Secret!234"); code != "" {
		t.Fatalf("another address: %s", code)
	}

	// Without trusted proxies, X-Forwarded-For is the client's own word.
	c := newEnvConfigured(t, testenv.SQLite(t), calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)),
		func(c *app.Config) { c.AuthThrottle = true })
	codes := map[string]int{}
	for i := 0; i < 21; i++ {
		code, _ := from(c, fmt.Sprintf("100.64.0.%d", i), fmt.Sprintf("u%d@example.com", i), "Wrong!pass1")
		codes[code]++
	}
	if codes["UNAUTHENTICATED"] != 20 || codes["THROTTLED"] != 1 {
		t.Fatalf("21 failures with made-up X-Forwarded-For and no trusted proxy: %v", codes)
	}
}

// Issue 14, finding 5: sign-ups are counted per client address, successful
// or not (CONFLICT for a taken email included), across replicas: the 6th
// within the delays is THROTTLED with a retry time that grows, so taken
// emails cannot be told apart at scale; another address is not affected.
func TestSignUpThrottledPerAddress(t *testing.T) {
	db := testenv.Postgres(t)
	a := throttled(t, db, calendar.NewFixedClock(time.Date(2026, 11, 20, 10, 0, 0, 0, kst)))
	b := throttled(t, db, a.clock)
	signUp := func(e *env, ip, email string) (string, int) {
		return outcome(t, e.canonicalFrom(ip, "", signUpMutation, map[string]any{"in": map[string]any{
			"email": email, "password": "Secret!234", "memberType": "BUSINESS", "residenceCountry": "KR"}}))
	}
	const ip = "198.18.0.1"
	if code, _ := signUp(a, "198.18.0.9", "taken@example.com"); code != "" {
		t.Fatalf("the first sign-up: %s", code)
	}
	want := []string{"", "CONFLICT", "", "CONFLICT", ""}
	for i, w := range want {
		email := fmt.Sprintf("new%d@example.com", i)
		if w == "CONFLICT" {
			email = " TAKEN@example.com"
		}
		if code, _ := signUp([]*env{a, b}[i%2], ip, email); code != w {
			t.Fatalf("sign-up %d (%s): %s, want %q", i+1, email, code, w)
		}
	}
	if code, retry := signUp(b, ip, "taken@example.com"); code != "THROTTLED" || retry != 60 {
		t.Fatalf("6th sign-up: %s (retry %d), want THROTTLED after 60 s", code, retry)
	}
	if code, retry := signUp(a, ip, "fresh@example.com"); code != "THROTTLED" || retry != 60 {
		t.Fatalf("6th sign-up, a fresh email: %s (retry %d), want THROTTLED after 60 s", code, retry)
	}
	if code, _ := signUp(a, "198.18.0.2", "elsewhere@example.com"); code != "" {
		t.Fatalf("another address: %s", code)
	}
	a.clock.Advance(time.Minute)
	if code, _ := signUp(b, ip, "taken@example.com"); code != "CONFLICT" {
		t.Fatalf("after the delay: %s", code)
	}
	if code, retry := signUp(a, ip, "later@example.com"); code != "THROTTLED" || retry != 120 {
		t.Fatalf("7th sign-up: %s (retry %d), want THROTTLED after 120 s", code, retry)
	}

	// A day later the address starts over, and the scheduler's purge has
	// nothing left to remember of it.
	a.clock.Advance(25 * time.Hour)
	if n, err := a.app.PurgeThrottles(); err != nil || n == 0 {
		t.Fatalf("purge: %d rows, %v", n, err)
	}
	if n := db.Client.AuthThrottle.Query().CountX(context.Background()); n != 0 {
		t.Fatalf("%d throttle rows left after a quiet day", n)
	}
	if code, _ := signUp(b, ip, "next-day@example.com"); code != "" {
		t.Fatalf("the next day: %s", code)
	}
}
