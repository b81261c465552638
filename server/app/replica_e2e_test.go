package app_test

import (
	"database/sql"
	"net"
	"net/url"
	"strconv"
	"testing"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// replicaEnv is a server on a fresh PostgreSQL database that reads from
// the given replica URLs (the view cache off: every read reaches a server).
func replicaEnv(t *testing.T, db *store.DB, replicaURLs ...string) *env {
	t.Helper()
	return newEnvWith(t, db, func(c *app.Config) {
		c.DatabaseURL = db.URL
		c.ReplicaURLs = replicaURLs
		c.ViewCache = false
	})
}

// reads counts the statements each server ran for e's data layer during f.
func reads(e *env, f func()) (primary, replica int64) {
	p0, r0 := e.app.DB.ReadStatements()
	f()
	p1, r1 := e.app.DB.ReadStatements()
	for i := range r1 {
		replica += r1[i] - r0[i]
	}
	return p1 - p0, replica
}

// behindTheRevision changes a billing group's name on the primary without
// moving its organization's revision (triggers off for the session), so
// that only a reply read from the paused replica shows the old name.
func behindTheRevision(t *testing.T, primaryURL, bg, name string) {
	t.Helper()
	db, err := sql.Open("postgres", primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"SET session_replication_role = replica", "UPDATE billing_groups SET name = '" + name + "' WHERE id = '" + bg + "'"} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
}

const groupName = `query($bg: ID!) { billingGroup(id: $bg) { name } }`

// A caught-up replica serves an account's queries: the primary runs only
// the credential check, the replica the revision check and the reads. What
// it serves is the replica's copy: a change made on the primary behind the
// revision's back stays unseen while the replica's replay is paused.
func TestReadReplicaServesQueries(t *testing.T) {
	db := testenv.Postgres(t)
	rep := testenv.StartedReplica(t)
	e := replicaEnv(t, db, rep.URL(db.URL))
	master, _ := e.signUp("replica-reads@example.com")
	bg := e.mainGroup(master)
	rep.CatchUp(t)

	primary, replica := reads(e, func() {
		e.ok(master, `query($bg: ID!) { viewer { account { email } billingGroups { id name } } billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`, map[string]any{"bg": bg})
	})
	// The primary: the credential check and the catalog (services and
	// regions, which no organization's revision covers).
	if primary > 3 || replica < 4 {
		t.Fatalf("a dashboard ran %d statements on the primary and %d on the replica; want the credential check and the catalog on the primary (≤ 3), the rest on the replica", primary, replica)
	}

	rep.Pause(t)
	behindTheRevision(t, db.URL, bg, "changed on the primary")
	if got := str(e.ok(master, groupName, map[string]any{"bg": bg}), "billingGroup.name"); got == "changed on the primary" {
		t.Fatalf("a paused replica at the caller's revision should have answered, but the name read was the primary's")
	}
	rep.Resume(t)
	rep.CatchUp(t)
	if got := str(e.ok(master, groupName, map[string]any{"bg": bg}), "billingGroup.name"); got != "changed on the primary" {
		t.Fatalf("after catching up the replica shows %q", got)
	}
}

// A write is never invisible to its writer's next read: with the replica's
// replay paused, every write moves the organization's revision (or usage
// revision) past the replica's copy and the primary answers — on the same
// server and on another server (stateless: nothing is remembered between
// requests). Reads of tables the revisions do not cover (API tokens, the
// audit log) never go to a replica.
func TestReadReplicaReadsYourWrites(t *testing.T) {
	db := testenv.Postgres(t)
	rep := testenv.StartedReplica(t)
	e := replicaEnv(t, db, rep.URL(db.URL))
	other, err := store.OpenDB(db.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	e2 := replicaEnv(t, other, rep.URL(db.URL))
	e.ok(e.op, catalogSetup, nil)
	master, _ := e.signUp("replica-writes@example.com")
	bg := e.mainGroup(master)
	feed := e.partner(master)
	rep.CatchUp(t)
	rep.Pause(t)

	// Tables outside the revisions (first, while the revision is still the
	// replica's): a new API token and its audit event.
	e.ok(master, `mutation { createApiToken(input: {name: "second", scopes: ["billing:read"]}) { token } }`, nil)
	for _, s := range []*env{e, e2} {
		d := s.ok(master, `{ viewer { account { apiTokens { id } } } auditLog(first: 20) { edges { node { action } } } }`, nil)
		if n := len(get(d, "viewer.account.apiTokens").([]any)); n != 2 {
			t.Fatalf("the caller sees %d API tokens after creating its second", n)
		}
		created := 0
		for _, ed := range get(d, "auditLog.edges").([]any) {
			if str(ed, "node.action") == "createApiToken" {
				created++
			}
		}
		if created != 2 {
			t.Fatalf("the audit log shows %d createApiToken of the caller's 2: %v", created, get(d, "auditLog"))
		}
	}

	// A revision table: a new billing group.
	team := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Team"}) { billingGroup { id } } }`, nil), "createBillingGroup.billingGroup.id")
	for _, s := range []*env{e, e2} {
		primary, replica := reads(s, func() {
			if got := str(s.ok(master, groupName, map[string]any{"bg": team}), "billingGroup.name"); got != "Team" {
				t.Fatalf("the writer's next read shows the new group as %q", got)
			}
		})
		if replica > 1 || primary < 2 {
			t.Fatalf("a lagging replica ran %d statements (only its revision check expected), the primary %d", replica, primary)
		}
	}

	// Usage: the usage revision (the report runs to yesterday).
	e.ok(feed, recordUsage, map[string]any{"e": []any{event("r1", bg, "vm", "hour", "10", "2026-11-19T09:00:00+09:00")}})
	usage := `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`
	for _, s := range []*env{e, e2} {
		if got := str(s.ok(master, usage, map[string]any{"bg": bg}), "billingGroup.usage.usedAmount.amount"); got == "0" || got == "" {
			t.Fatalf("the usage just recorded is invisible: %q", got)
		}
	}

}

// A dead replica (nothing listening) and a lagging one leave the primary to
// answer, and a caught-up one beside the dead one is still used.
func TestReadReplicaFallsBack(t *testing.T) {
	db := testenv.Postgres(t)
	rep := testenv.StartedReplica(t)
	dead := deadURL(t, db.URL)
	e := replicaEnv(t, db, dead)
	master, _ := e.signUp("replica-dead@example.com")
	bg := e.mainGroup(master)
	primary, replica := reads(e, func() { e.ok(master, groupName, map[string]any{"bg": bg}) })
	if primary < 2 || replica > 1 {
		t.Fatalf("with a dead replica the primary ran %d statements, the replica %d", primary, replica)
	}

	both := replicaEnv(t, db, dead, rep.URL(db.URL))
	rep.CatchUp(t)
	for range 2 { // round robin starts at each in turn
		primary, replica = reads(both, func() { both.ok(master, groupName, map[string]any{"bg": bg}) })
		if replica < 2 || primary > 1 {
			t.Fatalf("beside a dead replica the live one ran %d statements, the primary %d", replica, primary)
		}
	}
}

// deadURL is primaryURL on a port nothing listens on.
func deadURL(t *testing.T, primaryURL string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(port)
	return u.String()
}
