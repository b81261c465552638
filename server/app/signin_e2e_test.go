package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// aliased repeats a sign-in mutation n times under aliases.
func aliased(n int, field func(i int) string) string {
	q := "mutation {"
	for i := 0; i < n; i++ {
		q += fmt.Sprintf(" a%d: %s", i, field(i))
	}
	return q + " }"
}

func loginField(email, password string) string {
	return fmt.Sprintf(`login(input: {email: %q, password: %q}) { accessToken }`, email, password)
}

// Issue 14, finding 3: an operation holds at most one of login, signUp and
// refreshToken — aliases (or fragments) cannot multiply password checks or
// create organizations in bulk — and 16 anonymous requests of 12 aliased
// logins no longer keep a normal query from an answer.
func TestOneSignInPerOperation(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.MaxInFlight = 4
		c.RequestTimeout = 2 * time.Second
	})
	tok, _ := e.signUp("one-sign-in@example.com")
	orgs := func() int {
		n, err := e.app.DB.Client.Organization.Query().Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := orgs()
	for name, q := range map[string]string{
		"30 aliased logins": aliased(30, func(int) string { return loginField("one-sign-in@example.com", "Wrong!234") }),
		"30 aliased signUps": aliased(30, func(i int) string {
			return fmt.Sprintf(`signUp(input: {email: "bulk-%d@example.com", password: "Secret!234", memberType: BUSINESS, residenceCountry: "KR"}) { accessToken }`, i)
		}),
		"login and refreshToken": `mutation { login(input: {email: "a@example.com", password: "x"}) { accessToken } refreshToken(input: {refreshToken: "x"}) { accessToken } }`,
		"two logins in fragments": `mutation { ...A ... on Mutation { b: login(input: {email: "b@example.com", password: "x"}) { accessToken } } }
			fragment A on Mutation { a: login(input: {email: "a@example.com", password: "x"}) { accessToken } }`,
	} {
		r := e.gql("", q, nil)
		if r.code() != "QUERY_TOO_COMPLEX" || r.Data != nil || !strings.Contains(r.Errors[0].Message, "at most one of login, signUp and refreshToken") {
			t.Errorf("%s: %+v %v", name, r.Errors, r.Data)
		}
	}
	if n := orgs(); n != before {
		t.Fatalf("aliased signUps created %d organizations", n-before)
	}
	// One sign-in still works.
	e.ok("", `mutation { login(input: {email: "one-sign-in@example.com", password: "Secret!234"}) { accessToken } }`, nil)

	// The red team's load: 16 anonymous requests of 12 aliased logins,
	// and a normal query among them.
	storm := aliased(12, func(i int) string { return loginField(fmt.Sprintf("storm-%d@example.com", i), "Wrong!234") })
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); e.gql("", storm, nil) }()
	}
	time.Sleep(50 * time.Millisecond) // the storm is in
	if r := e.gql(tok, `{ viewer { roles } }`, nil); len(r.Errors) > 0 {
		t.Errorf("a normal query during the storm: %+v", r.Errors)
	}
	wg.Wait()
}

// Issue 14, finding 3: a password mutation costs what its hashing costs
// (1,000 points, not 2) of the caller's budget — for a caller without an
// account, its client address's — so an address gets 20 sign-ins at once
// and then 2 a second at the default rate; the refusal says when to retry.
func TestSignInsArePriced(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) { c.RateLimit = 1 }) // 20,000 points, 1 restored a second
	tok, _ := e.signUp("priced@example.com")
	// A password longer than any accepted one: refused before any hashing
	// or counting, but priced like any login.
	login := `mutation($e: String!) { login(input: {email: $e, password: "` + strings.Repeat("x", 129) + `"}) { accessToken } }`
	first := e.gqlFull("", login, map[string]any{"e": "priced-0@example.com"})
	cost, _ := get(first, "extensions.cost.requestedQueryCost").(float64)
	if cost < 1000 {
		t.Fatalf("a login costs %v points", cost)
	}
	var r result
	throttledAt := 0
	for i := 1; i <= 25 && throttledAt == 0; i++ {
		if r = e.gql("", login, map[string]any{"e": fmt.Sprintf("priced-%d@example.com", i)}); r.code() == "THROTTLED" {
			throttledAt = i
		}
	}
	// What was left after the first pays for int(left/cost) more (the
	// sign-up above was paid from the same address's budget).
	left, _ := get(first, "extensions.cost.throttleStatus.currentlyAvailable").(float64)
	if want := int(left/cost) + 1; left < 10000 || throttledAt != want {
		t.Fatalf("the anonymous address was throttled at its login %d after the first, want %d", throttledAt, want)
	}
	if s, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); s < 1 {
		t.Fatalf("THROTTLED without retryAfterSeconds: %+v", r.Errors[0])
	}
	// A signed-in caller has its own budget.
	e.ok(tok, `{ viewer { roles } }`, nil)
}

// gqlFull posts a GraphQL request and returns the whole decoded response.
func (e *env) gqlFull(token, query string, vars map[string]any) map[string]any {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// Issue 14, finding 3: at most PasswordHashers password hashes run at once,
// however many sign-ins arrive; while HashBacklog more wait, further
// sign-ins are refused at once (THROTTLED, retry in a second) instead of
// queuing in the admission slots.
func TestPasswordHashingIsBounded(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) { c.PasswordHashers, c.HashBacklog = 1, 2 })
	login := func(i int) result {
		return e.gql("", `mutation($e: String!) { login(input: {email: $e, password: "Wrong!234"}) { accessToken } }`,
			map[string]any{"e": fmt.Sprintf("nobody-%d@example.com", i)})
	}
	// The hasher is busy (held): two sign-ins wait for their turn, which
	// fills the backlog. Holding it makes the test independent of how fast
	// this machine hashes and of how the sign-ins' requests interleave.
	release := auth.HoldHashing()
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	waiting := make(chan string, 2)
	for i := 0; i < 2; i++ {
		go func() { waiting <- login(i).code() }()
	}
	for deadline := time.Now().Add(30 * time.Second); auth.HashingBacklog() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d after 30 s, want 2 sign-ins waiting", auth.HashingBacklog())
		}
	}
	// A burst while the backlog is full: every sign-in is refused at once.
	const n = 16
	var wg sync.WaitGroup
	answers := make(chan result, n)
	for i := 2; i < 2+n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); answers <- login(i) }()
	}
	wg.Wait()
	close(answers)
	for r := range answers {
		if r.code() != "THROTTLED" {
			t.Fatalf("a sign-in while %d wait answered %q, want THROTTLED", auth.HashingBacklog(), r.code())
		}
		if s, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); s != 1 {
			t.Fatalf("THROTTLED with retryAfterSeconds %v, want 1", s)
		}
	}
	// Once the hasher is free, the waiting ones are answered, one at a time.
	release()
	released = true
	for i := 0; i < 2; i++ {
		if c := <-waiting; c != "UNAUTHENTICATED" {
			t.Fatalf("a waiting sign-in answered %q, want UNAUTHENTICATED", c)
		}
	}
	if p := auth.HashingPeak(); p != 1 {
		t.Fatalf("%d password hashes ran at once, want at most 1", p)
	}
	if !strings.Contains(e.metrics(), "cloudbill_password_hashing_peak 1") {
		t.Fatal("/metrics lacks the hashing peak")
	}
}
