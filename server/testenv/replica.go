package testenv

import (
	"database/sql"
	"fmt"
	"net/url"

	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Replica is a PostgreSQL streaming replica of the throwaway cluster
// (pg_basebackup, then a hot standby), started once per test binary.
type Replica struct {
	port     int
	adminURL string // its "postgres" database
}

var (
	replicaOnce sync.Once
	replicaSrv  *Replica
	replicaErr  error
	// startReplicaFn starts a replica of the throwaway cluster; nil with
	// DATABASE_URL (a server this harness does not own).
	startReplicaFn func() (*Replica, error)
)

// StartedReplica returns the streaming replica of the throwaway cluster,
// starting it on first use. PostgreSQL tests must have run setup (any
// PostgresURL call) first; it skips like PostgresURL where PostgreSQL is
// missing, and where DATABASE_URL names a server this harness cannot copy.
func StartedReplica(t testing.TB) *Replica {
	t.Helper()
	PostgresURL(t) // the cluster, or the skip
	if startReplicaFn == nil {
		t.Skip("DATABASE_URL is set: no replica of a server this harness does not own")
	}
	replicaOnce.Do(func() { replicaSrv, replicaErr = startReplicaFn() })
	if replicaErr != nil {
		t.Fatalf("starting a streaming replica: %v", replicaErr)
	}
	return replicaSrv
}

// StartReplica starts a streaming replica of the cluster StartCluster
// started (outside tests: the load script); it stops with the cluster.
func StartReplica() (*Replica, error) {
	if startReplicaFn == nil {
		return nil, fmt.Errorf("no throwaway cluster started")
	}
	return startReplicaFn()
}

// replicaStarter is the start function of a replica of the cluster in dir
// (data directory data, primary on port), run by run.
func replicaStarter(dir string, primaryPort int, opts func(port int) string, run func(string, ...string) error) func() (*Replica, error) {
	return func() (*Replica, error) {
		data := filepath.Join(dir, "replica")
		// -R writes standby.signal and primary_conninfo; -X stream copies
		// the WAL written meanwhile. initdb's pg_hba trusts local
		// replication connections.
		if err := run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres",
			"-D", data, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := run("pg_ctl", "-D", data, "-o", opts(port), "-l", filepath.Join(dir, "replica.log"), "-w", "-t", "60", "start"); err != nil {
			return nil, err
		}
		stopFns = append(stopFns, func() { run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
		return &Replica{port: port, adminURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}, nil
	}
}

// URL is the replica's copy of the database at primaryURL.
func (r *Replica) URL(primaryURL string) string {
	u, err := url.Parse(primaryURL)
	if err != nil {
		panic(err)
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(r.port)
	return u.String()
}

func (r *Replica) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("postgres", r.adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("replica: %s: %v", query, err)
	}
}

// CatchUp waits until the replica has replayed everything the primary has
// written so far.
func (r *Replica) CatchUp(t testing.TB) {
	t.Helper()
	if err := r.WaitCaughtUp(); err != nil {
		t.Fatal(err)
	}
}

// WaitCaughtUp waits until the replica has replayed everything the primary
// has written so far (outside tests: the load script).
func (r *Replica) WaitCaughtUp() error {
	primary, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer primary.Close()
	var lsn string
	if err := primary.QueryRow("SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		return err
	}
	return r.waitUntil("replayed "+lsn, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn)
}

// Pause stops the replica's replay (pg_wal_replay_pause) until Resume or
// the end of the test: what the primary commits meanwhile is not visible
// on the replica.
func (r *Replica) Pause(t testing.TB) {
	t.Helper()
	r.exec(t, "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { r.exec(t, "SELECT pg_wal_replay_resume()") })
	// The request takes effect at the next record replayed or at once
	// when idle.
	r.waitFor(t, "paused", "SELECT pg_get_wal_replay_pause_state() = 'paused'")
}

// Resume restarts the replica's replay.
func (r *Replica) Resume(t testing.TB) {
	t.Helper()
	r.exec(t, "SELECT pg_wal_replay_resume()")
}

// waitFor polls the replica until query answers true (a state to reach,
// not a speed asserted: the bound only ends a test that would hang).
func (r *Replica) waitFor(t testing.TB, what, query string, args ...any) {
	t.Helper()
	if err := r.waitUntil(what, query, args...); err != nil {
		t.Fatal(err)
	}
}

func (r *Replica) waitUntil(what, query string, args ...any) error {
	db, err := sql.Open("postgres", r.adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var ok bool
		err := db.QueryRow(query, args...).Scan(&ok)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica never %s (last error: %w)", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
