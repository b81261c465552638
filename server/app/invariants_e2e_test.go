package app_test

// TestMoneyInvariants (issue 13, "Invariant testing"): random, seeded
// sequences of operations across three organizations — usage with
// duplicates and conflicts, contracts, discounts, free and paid credits,
// coupons, transfers, coin charges and sharing, payment methods, instant
// payments, and the billing jobs at chosen instants (month ends, the 3rd at
// 13:59 and 14:00, the 10th–15th, far jumps) — sent through the GraphQL
// handler with the injectable clock, on SQLite and PostgreSQL. After every
// operation the API's view of every organization is compared with a
// reference model written from docs/rules.md (invariants_model_test.go):
//
//   - every accepted usage event is on exactly one invoice, at the price in
//     force, in the KST month of its occurredAt;
//   - invoice totals follow R-39 over their lines, and the lines add up;
//   - every credit's amounts are the sum of its history; no credit or coin
//     balance is negative;
//   - exactly one invoice per billing group and month; late fees only once
//     the regular payment days passed with their attempts;
//   - the jobs never fail because of another group's data.
//
// A failure prints the seed and the shortest operation sequence that still
// fails the same way (delta debugging, each try on a fresh database).
//
// CI runs invariantCISeeds. More: CLOUDBILL_INVARIANT_SEEDS=500 (seeds
// 1..500), CLOUDBILL_INVARIANT_SEED=42 (one seed), CLOUDBILL_INVARIANT_OPS
// (operations per seed), CLOUDBILL_INVARIANT_SHRINK (time to shrink, e.g.
// 5m), CLOUDBILL_INVARIANT_FIXED=5,101 or =all (treat those open defects as
// fixed, to see them found), CLOUDBILL_INVARIANT_TRACE=1 (log each run).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// openDefects are issue 13's named defects whose fixes have not landed yet.
// The model encodes the correct rules; while a defect is open, the harness
// does not provoke it, so that everything else is checked in CI meanwhile.
// Remove a number when its fix lands on main.
var openDefects = map[int]string{
	// Found by this test, not named in issue 13, are numbered from 101;
	// 101 (one event id in two organizations of a batch refused as a
	// conflict) and 102 (a repeat within a batch written differently
	// refused as a conflict) are fixed (TestRepeatsWithinABatchAreDuplicates).
}

// invariantCISeeds run in `go test ./...` on both databases.
var invariantCISeeds = []uint64{1, 2, 3}

const invariantOps = 90

func TestMoneyInvariants(t *testing.T) {
	seeds := invariantCISeeds
	if n, _ := strconv.Atoi(os.Getenv("CLOUDBILL_INVARIANT_SEEDS")); n > 0 {
		seeds = nil
		for s := 1; s <= n; s++ {
			seeds = append(seeds, uint64(s))
		}
	}
	if s, err := strconv.ParseUint(os.Getenv("CLOUDBILL_INVARIANT_SEED"), 10, 64); err == nil {
		seeds = []uint64{s}
	}
	length := invariantOps
	if n, _ := strconv.Atoi(os.Getenv("CLOUDBILL_INVARIANT_OPS")); n > 0 {
		length = n
	}
	for _, dbName := range []string{"sqlite", "postgres"} {
		t.Run(dbName, func(t *testing.T) {
			fresh := func() *store.DB {
				if dbName == "sqlite" {
					return testenv.SQLite(t)
				}
				return testenv.Postgres(t)
			}
			for _, seed := range seeds {
				ops := genOps(seed, length)
				f, trace, took := runInvariants(t, fresh, seed, ops)
				if testing.Verbose() {
					t.Logf("seed %d: %s; %s", seed, summarize(trace), took)
				}
				if os.Getenv("CLOUDBILL_INVARIANT_TRACE") == "1" {
					t.Logf("trace of seed %d:\n  %s", seed, strings.Join(trace, "\n  "))
				}
				if f == nil {
					continue
				}
				small, strace, sf := shrinkInvariants(t, fresh, seed, ops, f)
				t.Errorf("money invariant %q broken on %s, seed %d (CLOUDBILL_INVARIANT_SEED=%d):\n%s\n\n"+
					"shortest sequence found (%d of %d operations) fails with:\n%s\n\nits operations:\n%s\n\nwhat it did:\n  %s\n\n"+
					"(the full run's last steps:\n  %s)",
					f.Prop, dbName, seed, seed, f.Msg, len(small), len(ops), sf.Msg, goOps(small), strings.Join(strace, "\n  "),
					strings.Join(tail(trace, 12), "\n  "))
			}
		})
	}
}

// invFailure is a broken property at an operation.
type invFailure struct {
	Step      int
	Prop, Msg string
}

// invRun is one run of a sequence on a fresh database.
type invRun struct {
	d     *invDriver
	m     *mWorld
	fixed map[string]bool // open defects treated as fixed (CLOUDBILL_INVARIANT_FIXED)
	keyed []*keyed
	trace []string
	// touched: the organizations the current operation may have changed.
	touched map[*mOrg]bool
}

// checkScope is what to compare after operation o: every organization
// after the jobs ran, every 8th operation and at the end; otherwise the
// organizations o acted on (a change elsewhere is caught by the next full
// comparison).
func (r *invRun) checkScope(o invOp, last bool) map[*mOrg]bool {
	switch {
	case last || o.Kind == opAdvance || o.Kind == opJobs || o.N%8 == 7:
		return nil
	case o.Kind == opUsage || o.Kind == opReissue: // the groups they wrote to
		return r.touched
	case o.Kind == opCoupon:
		return map[*mOrg]bool{}
	}
	return map[*mOrg]bool{r.org(o): true}
}

func (r *invRun) fail(prop, format string, args ...any) *invFailure {
	return &invFailure{Prop: prop, Msg: fmt.Sprintf(format, args...)}
}

// open reports whether a defect of issue 13 is still open (see openDefects).
func (r *invRun) open(defect int) bool {
	return openDefects[defect] != "" && !r.fixed["all"] && !r.fixed[strconv.Itoa(defect)]
}

// timings says where a run's time went.
type timings struct{ db, setup, exec, check time.Duration }

func (t timings) String() string {
	return fmt.Sprintf("%v (database %v, setup %v, operations %v, comparisons %v)", (t.db + t.setup + t.exec + t.check).Round(time.Millisecond),
		t.db.Round(time.Millisecond), t.setup.Round(time.Millisecond), t.exec.Round(time.Millisecond), t.check.Round(time.Millisecond))
}

// runInvariants runs ops on a fresh database and returns the first broken
// property, the run's trace and its timings.
func runInvariants(t *testing.T, fresh func() *store.DB, seed uint64, ops []invOp) (*invFailure, []string, timings) {
	var took timings
	since := func(d *time.Duration, t0 time.Time) { *d += time.Since(t0) }
	t0 := time.Now()
	db := fresh()
	defer db.Close()
	since(&took.db, t0)
	t0 = time.Now()
	d := newInvDriver(t, db)
	r := &invRun{d: d, fixed: map[string]bool{}}
	for _, n := range strings.Split(os.Getenv("CLOUDBILL_INVARIANT_FIXED"), ",") {
		r.fixed[strings.TrimSpace(n)] = true
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, kst).Add(time.Duration(rng.IntN(40*24)) * time.Hour)
	f := r.setupWorld(start)
	since(&took.setup, t0)
	for i, o := range ops {
		if f != nil {
			break
		}
		r.trace = append(r.trace, fmt.Sprintf("— op %d (%s) at %s", o.N, o.Kind, r.m.now.Format(time.RFC3339)))
		t0 = time.Now()
		r.touched = map[*mOrg]bool{}
		f = r.exec(o)
		since(&took.exec, t0)
		if f == nil {
			t0 = time.Now()
			f = r.check(r.checkScope(o, i == len(ops)-1))
			since(&took.check, t0)
		}
		if f != nil {
			f.Step = i
		}
	}
	return f, r.trace, took
}

// shrinkInvariants looks for a shorter sequence that breaks the same
// property: the prefix up to the failure, then delta debugging (ddmin) over
// its operations, each candidate run on a fresh database, within a time
// budget.
func shrinkInvariants(t *testing.T, fresh func() *store.DB, seed uint64, ops []invOp, f *invFailure) ([]invOp, []string, *invFailure) {
	budget := time.Minute
	if d, err := time.ParseDuration(os.Getenv("CLOUDBILL_INVARIANT_SHRINK")); err == nil {
		budget = d
	}
	deadline := time.Now().Add(budget)
	best := append([]invOp(nil), ops[:f.Step+1]...)
	bestF, bestTrace := f, []string(nil)
	fails := func(c []invOp) bool {
		if time.Now().After(deadline) {
			return false
		}
		g, tr, _ := runInvariants(t, fresh, seed, c)
		if g != nil && g.Prop == f.Prop {
			best, bestF, bestTrace = c[:g.Step+1], g, tr
			return true
		}
		return false
	}
	if !fails(best) {
		return best, []string{"(the failure did not repeat on a fresh database)"}, f
	}
	n := 2
	for len(best) >= 2 && time.Now().Before(deadline) {
		chunk := (len(best) + n - 1) / n
		reduced := false
		for i := 0; i < len(best) && !reduced; i += chunk {
			// Try each complement: the sequence without one chunk.
			c := append(append([]invOp(nil), best[:i]...), best[min(i+chunk, len(best)):]...)
			if len(c) > 0 && fails(c) {
				n = max(n-1, 2)
				reduced = true
			}
		}
		if !reduced {
			if n >= len(best) {
				break
			}
			n = min(n*2, len(best))
		}
	}
	return best, bestTrace, bestF
}

// summarize counts what a run's requests answered.
func summarize(trace []string) string {
	count := map[string]int{}
	for _, l := range trace {
		switch {
		case strings.HasPrefix(l, "— op"):
			count["ops"]++
		case strings.HasPrefix(l, "clock → "):
			count["clock"]++
		case strings.Contains(l, " skipped: "):
			count["skipped"]++
		case strings.Contains(l, " → ok"):
			count["ok"]++
		case strings.Contains(l, " → "):
			code := l[strings.LastIndex(l, " → ")+len(" → "):]
			code, _, _ = strings.Cut(code, " ")
			count[code]++
		}
	}
	return fmt.Sprint(count)
}

func goOps(ops []invOp) string {
	var b strings.Builder
	b.WriteString("[]invOp{\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "\t%#v,\n", o)
	}
	b.WriteString("}")
	return b.String()
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// ---------------------------------------------------------------------------
// The driver: the real HTTP handler, called in-process (no sockets: the
// harness sends thousands of requests).

type invDriver struct {
	t     testing.TB
	app   *app.App
	h     http.Handler
	clock *calendar.FixedClock
	op    string // an operator's token
}

func newInvDriver(t testing.TB, db *store.DB) *invDriver {
	clock := calendar.NewFixedClock(time.Date(2026, 9, 1, 0, 0, 0, 0, kst))
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.JWTSecret = []byte("test-secret-test-secret-test-secret!")
	cfg.RateLimit = 0
	cfg.Clock = clock
	cfg.PublicURL = "http://invariants.test"
	a, err := app.WithDB(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.Tokens.AccessTTL = 10 * 365 * 24 * time.Hour // the run moves the clock by years
	op, _, err := a.Tokens.Mint("access", "operator@test", "", "", []string{"OPERATOR"}, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &invDriver{t: t, app: a, h: a.Handler(), clock: clock, op: op}
}

func (d *invDriver) do(token, query string, vars map[string]any) result {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	d.h.ServeHTTP(w, req)
	var r result
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		return result{Status: w.Code, Errors: []gqlError{{Message: w.Body.String(), Extensions: map[string]any{"code": "NOT_JSON"}}}}
	}
	r.Status = w.Code
	return r
}
