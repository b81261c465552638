// Package store opens cloudbill's database — PostgreSQL in production, embedded
// SQLite by default — and migrates its schema.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"github.com/lib/pq"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/cloudbill/cloudbill/ent"
)

// DB is an open database with its ent client.
type DB struct {
	SQL     *sql.DB
	Dialect string
	// URL is the PostgreSQL connection string (empty for SQLite), for
	// connections outside the pool (LISTEN): Options.DirectURL behind a
	// pooler.
	URL    string
	Client *ent.Client
	// Statements counts every SQL statement run through Client.
	Statements *atomic.Int64
	// router sends Client's reads to a replica where allowed (replica.go).
	router *router
	// pooled: behind a transaction pooler (Options.Pooler).
	pooled bool
}

// Close closes the database.
func (d *DB) Close() error { return d.Client.Close() }

// Options are how PostgreSQL is reached.
type Options struct {
	// Pooler is "transaction" behind a pooler in transaction pooling mode
	// (PgBouncer, CLOUDBILL_DATABASE_POOLER): consecutive transactions of
	// one connection may run on different server sessions, so nothing may
	// outlive a transaction — no named prepared statements, no session
	// advisory lock, no LISTEN through it, no startup options.
	Pooler string
	// DirectURL reaches the server itself, past the pooler, for the one
	// session-long connection a server replica keeps: LISTEN
	// (CLOUDBILL_DATABASE_DIRECT_URL; required with a pooler).
	DirectURL string
}

// PoolerTransaction is Options.Pooler for transaction pooling.
const PoolerTransaction = "transaction"

// OpenDB opens PostgreSQL when url is set, else the embedded SQLite file in dataDir.
func OpenDB(url, dataDir string) (*DB, error) { return OpenDBWith(url, dataDir, Options{}) }

// OpenDBWith is OpenDB reaching PostgreSQL as opt says.
func OpenDBWith(url, dataDir string, opt Options) (*DB, error) {
	if url != "" {
		if opt.Pooler != "" && opt.Pooler != PoolerTransaction {
			return nil, fmt.Errorf("unknown pooler mode %q (transaction, or none)", opt.Pooler)
		}
		if opt.Pooler != "" && opt.DirectURL == "" {
			return nil, errors.New("behind a transaction pooler, a direct URL to the server is needed for LISTEN")
		}
		d := &DB{pooled: opt.Pooler != ""}
		url = d.withSessionOptions(url)
		connector, err := pq.NewConnector(url)
		if err != nil {
			return nil, err
		}
		db := sql.OpenDB(d.connector(connector))
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		d.init(db, dialect.Postgres)
		d.URL = url
		if d.pooled {
			d.URL = withSessionOptions(opt.DirectURL)
		}
		return d, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "cloudbill.db")
	return OpenSQLite("file:" + path)
}

// withSessionOptions adds what every PostgreSQL connection needs: one round
// trip per parameterised statement instead of two (lib/pq otherwise
// prepares each one first), and no statement running longer than 30 s.
func withSessionOptions(url string) string {
	url = withOption(url, "binary_parameters", "yes")
	return withOption(url, "options", "-c%20statement_timeout%3D30000")
}

// withOption adds name=value to a postgres:// URL unless it has name.
func withOption(url, name, value string) string {
	if strings.Contains(url, name+"=") {
		return url
	}
	if strings.Contains(url, "?") {
		return url + "&" + name + "=" + value
	}
	return url + "?" + name + "=" + value
}

// connector wraps a PostgreSQL connector: its connections keep their
// statements prepared (prepare.go) — unless behind a transaction pooler,
// where the next transaction may run in a session that never prepared
// them. lib/pq then sends each parameterised statement as an unnamed one
// with its parameters in the same round trip (binary_parameters), which a
// transaction pooler passes through.
func (d *DB) connector(c driver.Connector) driver.Connector {
	if d.pooled {
		return c
	}
	return preparing{c}
}

// withSessionOptions is the package's withSessionOptions but for a pooled
// database, whose pooler refuses or ignores the options startup parameter:
// there statement_timeout is set on the role (ALTER ROLE … SET).
func (d *DB) withSessionOptions(url string) string {
	if d.pooled {
		return withOption(url, "binary_parameters", "yes")
	}
	return withSessionOptions(url)
}

// OpenSQLite opens an embedded SQLite database at dsn ("file:…").
// One connection serialises writers, which is what SQLite does anyway; WAL
// keeps reads cheap, and IMMEDIATE transactions avoid upgrade deadlocks.
// Every time parameter is stored as UTC text of one width (SQLiteTime).
func OpenSQLite(dsn string) (*DB, error) {
	// Times are written in one zone and width (sqlitetime.go).
	db := openSQLiteUTC(dsn + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite")
	db.SetMaxOpenConns(1)
	d := &DB{}
	d.init(db, dialect.SQLite)
	return d, nil
}

func (d *DB) init(db *sql.DB, dia string) {
	d.SQL, d.Dialect, d.Statements = db, dia, new(atomic.Int64)
	d.router = &router{primary: entsql.OpenDB(dia, db)}
	d.Client = ent.NewClient(ent.Driver(Counting{Driver: d.router, Total: d.Statements}))
}

// Migrate brings the schema up to date by applying the versioned migration
// files (migrations.go), then the steps that run on every start (below). On
// PostgreSQL an advisory lock makes replicas that start together migrate one
// after the other: the second finds the files applied.
func (d *DB) Migrate(ctx context.Context) error {
	if d.Dialect == dialect.Postgres {
		// Held by a transaction kept open meanwhile, not by the session: a
		// transaction pooler may hand the session to another client after
		// each transaction (and would keep a session lock held forever).
		lock, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer lock.Rollback()
		if _, err := lock.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7262010)"); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
	if err := d.applyMigrations(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Dropped from the schema (ent's migration adds indexes, never drops
	// them): usage rollups are not scanned by organization alone.
	if _, err := d.SQL.ExecContext(ctx, `DROP INDEX IF EXISTS usagedaily_org_id`); err != nil {
		return fmt.Errorf("dropping usagedaily_org_id: %w", err)
	}
	if d.Dialect == dialect.SQLite {
		if err := d.normalizeSQLiteTimes(ctx); err != nil {
			return fmt.Errorf("converting stored times to UTC: %w", err)
		}
	}
	if d.Dialect == dialect.Postgres {
		// Usage rollups are updated in place all day (recordUsage adds to
		// the day's row and to the month's amount ceiling), and so are the
		// organizations' revisions (every change of money, every batch of
		// usage): room left on each page lets PostgreSQL write the new
		// version beside the old one without touching the indexes (a HOT
		// update; measured on organizations: 16,000 of 16,000 updates HOT
		// against 2,135–2,835 on full pages). It applies to pages written
		// from now on.
		for _, table := range []string{"usage_dailies", "usage_months", "organizations"} {
			if _, err := d.SQL.ExecContext(ctx, `ALTER TABLE `+table+` SET (fillfactor = 50)`); err != nil {
				return fmt.Errorf("%s fillfactor: %w", table, err)
			}
		}
	}
	return d.installRevisionTriggers(ctx)
}
