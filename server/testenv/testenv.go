// Package testenv gives tests real databases: a throwaway PostgreSQL cluster
// started from the server binaries (initdb, pg_ctl, postgres) when
// DATABASE_URL is unset, and embedded SQLite files. Each test gets a fresh
// database; the cluster is removed when the test binary ends.
//
// Where no PostgreSQL binaries are found the PostgreSQL tests are skipped
// with a message — unless CLOUDBILL_REQUIRE_POSTGRES=1, when they fail.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/cloudbill/cloudbill/server/store"
)

// ExtraOptions are added to the throwaway cluster's postgres options (the
// load script uses them to load pg_stat_statements).
var ExtraOptions string

var (
	restartFn func() error // restarts the throwaway cluster; nil with DATABASE_URL
	once      sync.Once
	adminURL  string // a superuser URL of the cluster (its "postgres" database)
	setupErr  error
	skipWhy   string
	stopFns   []func()
	createdMu sync.Mutex
	created   []string
)

// Main runs a test binary and removes the throwaway cluster afterwards:
// call it from TestMain as os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	cleanup()
	return code
}

// PostgresURL returns the URL of a fresh, empty PostgreSQL database for t.
func PostgresURL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if skipWhy != "" {
		if os.Getenv("CLOUDBILL_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL is required (CLOUDBILL_REQUIRE_POSTGRES=1) but unavailable: %s", skipWhy)
		}
		t.Skipf("skipping PostgreSQL test: %s", skipWhy)
	}
	if setupErr != nil {
		t.Fatalf("starting PostgreSQL for tests: %v", setupErr)
	}
	name := "cbtest_" + randHex(6)
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	createdMu.Lock()
	created = append(created, name)
	createdMu.Unlock()
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a fresh, migrated PostgreSQL database for t: a copy of a
// template database migrated once per test binary (applying every migration
// file to each test's database took seconds), migrated again on opening as
// a server start would (nothing left to apply).
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	PostgresURL(t) // starts the cluster, or skips
	pgTemplateOnce.Do(makePGTemplate)
	if pgTemplateErr != nil {
		t.Fatalf("migrating the template database: %v", pgTemplateErr)
	}
	name := "cbtest_" + randHex(6)
	// FILE_COPY (PostgreSQL 15+) copies the template's files instead of
	// writing every block through the WAL.
	if err := createDatabase(name, "TEMPLATE "+pgTemplate+" STRATEGY FILE_COPY"); err != nil {
		if err := createDatabase(name, "TEMPLATE "+pgTemplate); err != nil {
			t.Fatalf("create test database: %v", err)
		}
	}
	db, err := store.OpenDB(databaseURL(name), "")
	if err != nil {
		t.Fatal(err)
	}
	migrate(t, db)
	return db
}

var (
	pgTemplateOnce, sqliteTemplateOnce sync.Once
	pgTemplate                         string
	pgTemplateErr, sqliteTemplateErr   error
	sqliteTemplate                     []byte
)

func makePGTemplate() {
	pgTemplate = "cbtemplate_" + randHex(6)
	if pgTemplateErr = createDatabase(pgTemplate, ""); pgTemplateErr != nil {
		return
	}
	db, err := store.OpenDB(databaseURL(pgTemplate), "")
	if err != nil {
		pgTemplateErr = err
		return
	}
	defer db.Close() // a template is copied only with no one connected to it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pgTemplateErr = db.Migrate(ctx)
}

func createDatabase(name, with string) error {
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " " + with); err != nil {
		return err
	}
	createdMu.Lock()
	created = append(created, name)
	createdMu.Unlock()
	return nil
}

func databaseURL(name string) string {
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String()
}

// SQLite opens a fresh, migrated embedded database in a temporary folder:
// a copy of a database file migrated once per test binary, migrated again on
// opening.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	sqliteTemplateOnce.Do(makeSQLiteTemplate)
	if sqliteTemplateErr != nil {
		t.Fatalf("migrating the template database: %v", sqliteTemplateErr)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cloudbill.db"), sqliteTemplate, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenDB("", dir)
	if err != nil {
		t.Fatal(err)
	}
	migrate(t, db)
	return db
}

func makeSQLiteTemplate() {
	dir, err := os.MkdirTemp("", "cloudbill-sqlite-template-")
	if err != nil {
		sqliteTemplateErr = err
		return
	}
	defer os.RemoveAll(dir)
	db, err := store.OpenDB("", dir)
	if err != nil {
		sqliteTemplateErr = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if sqliteTemplateErr = db.Migrate(ctx); sqliteTemplateErr != nil {
		db.Close()
		return
	}
	// The whole database in its main file: the write-ahead log folded in.
	if _, sqliteTemplateErr = db.SQL.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); sqliteTemplateErr != nil {
		db.Close()
		return
	}
	db.Close()
	sqliteTemplate, sqliteTemplateErr = os.ReadFile(filepath.Join(dir, "cloudbill.db"))
}

// RestartPostgres restarts the throwaway cluster (fault tests); it skips the
// test when the database was given by DATABASE_URL.
func RestartPostgres(t testing.TB) {
	t.Helper()
	if restartFn == nil {
		t.Skip("DATABASE_URL is set: not restarting a server this harness does not own")
	}
	if err := restartFn(); err != nil {
		t.Fatal(err)
	}
}

// Each runs f as a subtest on each database: SQLite and PostgreSQL.
func Each(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

func migrate(t testing.TB, db *store.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
}

func setup() {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		adminURL = u
		return
	}
	bin, err := findBinaries()
	if err != nil {
		skipWhy = err.Error()
		return
	}
	setupErr = startCluster(bin)
}

// findBinaries looks on PATH, then in Debian's /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Where it really lives: its siblings (pg_basebackup) are there.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if fileExists(filepath.Join(dir, "pg_ctl")) && fileExists(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) && fileExists(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) or set DATABASE_URL")
}

// StartCluster starts a throwaway PostgreSQL cluster outside tests (the
// load script uses it) and returns its superuser URL and a stop function.
func StartCluster() (string, func(), error) {
	bin, err := findBinaries()
	if err != nil {
		return "", nil, err
	}
	if err := startCluster(bin); err != nil {
		cleanup()
		return "", nil, err
	}
	return adminURL, cleanup, nil
}

func startCluster(bin string) error {
	dir, err := os.MkdirTemp("", "cloudbill-pg-")
	if err != nil {
		return err
	}
	stopFns = append(stopFns, func() { os.RemoveAll(dir) })
	// Before anything starts: an owner interrupted during initdb or
	// pg_ctl start leaves nothing behind either.
	if err := watchOwner(dir); err != nil {
		return err
	}
	cred, err := unprivileged()
	if err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		return nil
	}
	if err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	// Durability is traded for speed: this cluster lives for one test run.
	// A replica (replica.go) runs with the same options on its own port.
	optsAt := func(port int) string {
		return fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s' -c fsync=off "+
			"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB %s", port, dir, ExtraOptions)
	}
	opts := optsAt(port)
	if err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return err
	}
	stopFns = append(stopFns, func() { run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
	restartFn = func() error {
		return run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-m", "fast", "-w", "-t", "60", "restart")
	}
	adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	startReplicaFn = replicaStarter(dir, port, optsAt, run)
	startBouncerFn = bouncerStarter(dir, port, cred)
	return nil
}

// ownerGoneScript waits until process $1 (the test binary or the load
// script) is gone, then stops what lives in directory $2 — the cluster,
// its replica, PgBouncer — and removes it. cleanup does the same when the
// process ends normally; this covers the other ends (Ctrl-C, a test
// timeout's panic, SIGKILL, a closed pipe), which left clusters running
// and their directories behind for good. It signals by the pid files
// (SIGQUIT: PostgreSQL's immediate shutdown), so it needs no pg_ctl and
// works for the unprivileged user's processes when the owner is root. It
// runs as the owner's user, who may signal the owner (kill -0: POSIX, no
// /proc needed).
const ownerGoneScript = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
stop() { # signal $1 to the pid in file $2: digits only, never 0 or 1 (the files are another user's when root)
	[ -f "$2" ] || return 0
	read -r p < "$2" || return 0
	case "$p" in ''|*[!0-9]*|0|1) return 0 ;; esac
	kill "$1" "$p" 2>/dev/null
}
for pass in 1 2 3 4 5; do # a process still starting may write its pid file or its files late
	stop -QUIT "$2/data/postmaster.pid"
	stop -QUIT "$2/replica/postmaster.pid"
	stop -TERM "$2/pgbouncer.pid"
	sleep 2
	rm -rf "$2" 2>/dev/null
	[ -e "$2" ] || exit 0
done`

// watchOwner starts the watchdog of dir (ownerGoneScript) in a process
// group of its own, so that a terminal's Ctrl-C, which ends this process,
// leaves it to clean up; it holds none of this process's output open.
func watchOwner(dir string) error {
	cmd := exec.Command("sh", "-c", ownerGoneScript, "sh", strconv.Itoa(os.Getpid()), dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the cluster's watchdog: %w", err)
	}
	return cmd.Process.Release()
}

// unprivileged returns the credentials to run PostgreSQL with when root
// (it refuses to run as root): the postgres user if it exists, else nobody.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and found no unprivileged user (postgres or nobody) to run PostgreSQL")
}

func cleanup() {
	if adminURL != "" && os.Getenv("DATABASE_URL") != "" {
		// A provided server: drop what we created there.
		if db, err := sql.Open("postgres", adminURL); err == nil {
			for _, name := range created {
				db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			}
			db.Close()
		}
	}
	for i := len(stopFns) - 1; i >= 0; i-- {
		stopFns[i]()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
