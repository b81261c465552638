package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"text/template"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/cloudbill/cloudbill/ent/migrate"
)

// The schema is changed by versioned migrations in Atlas's format: one
// directory per database (migrations/postgres, migrations/sqlite), each file
// applied once, in order, and recorded in schema_revisions. Files are
// generated from the ent schema (go run ./server/store/migrategen NAME) and
// never edited once released: atlas.sum holds their hashes, and a file
// whose hash differs from the one recorded when it was applied stops the
// start (README, Upgrading).
//
//go:embed migrations/postgres/*.sql migrations/postgres/atlas.sum migrations/sqlite/*.sql migrations/sqlite/atlas.sum
var migrationFS embed.FS

// RevisionsTable records the migration files applied to a database.
const RevisionsTable = "schema_revisions"

// baselineTable is a table every release has had: a database that has it
// but no revisions table was made by Schema.Create of the release before
// versioned migrations (7f470ce), whose schema the first file (the
// baseline) is.
const baselineTable = "organizations"

// MigrationDir is the embedded migration directory of a dialect
// (dialect.Postgres or dialect.SQLite), read-only.
func MigrationDir(d string) (migrate.Dir, error) {
	name, err := dirName(d)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrationFS, path.Join("migrations", name))
	if err != nil {
		return nil, err
	}
	return embeddedDir{sub}, nil
}

func dirName(d string) (string, error) {
	switch d {
	case dialect.Postgres:
		return "postgres", nil
	case dialect.SQLite:
		return "sqlite", nil
	}
	return "", fmt.Errorf("no migrations for dialect %q", d)
}

// embeddedDir is a migration directory compiled into the binary.
type embeddedDir struct{ fs.FS }

var _ migrate.Dir = embeddedDir{}

func (d embeddedDir) WriteFile(string, []byte) error {
	return errors.New("the embedded migration directory is read-only")
}

func (d embeddedDir) Files() ([]migrate.File, error) {
	names, err := fs.Glob(d.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // versions are timestamps: name order is version order
	files := make([]migrate.File, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(d.FS, n)
		if err != nil {
			return nil, err
		}
		files = append(files, migrate.NewLocalFile(n, b))
	}
	return files, nil
}

func (d embeddedDir) Checksum() (migrate.HashFile, error) {
	files, err := d.Files()
	if err != nil {
		return nil, err
	}
	return migrate.NewHashFile(files)
}

// DiffMigrations writes to dir a migration file VERSION_NAME.sql with the
// changes that bring the schema its files make up to the ent schema, and
// nothing when they agree. dev is an empty database of the dialect that the
// files are replayed on (and left empty again).
func DiffMigrations(ctx context.Context, dev *sql.DB, d string, dir migrate.Dir, version, name string) error {
	if err := migrate.CheckVersion(version); err != nil {
		return err
	}
	// The default format, with one version for both databases' files.
	format, err := migrate.NewTemplateFormatter(
		template.Must(template.New("name").Parse(version+"_{{ .Name }}.sql")),
		migrate.DefaultFormatter[0].C)
	if err != nil {
		return err
	}
	m, err := schema.NewMigrate(entsql.OpenDB(d, dev), append(diffHooks(d),
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(d),
		schema.WithFormatter(format),
		// The files are reviewed: what the ent schema no longer has is
		// dropped by a file too (expand/contract decides when, README).
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)...)
	if err != nil {
		return err
	}
	return m.NamedDiff(ctx, name, entmigrate.Tables...)
}

// Revision is one applied migration file.
type Revision struct {
	Version     string
	Description string
	Hash        string
	AppliedAt   time.Time
}

// Revisions lists the migration files applied to the database, in order.
func (d *DB) Revisions(ctx context.Context) ([]Revision, error) {
	rows, err := d.SQL.QueryContext(ctx, `SELECT version, description, hash, applied_at FROM `+RevisionsTable+` ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Revision
	for rows.Next() {
		var r Revision
		if err := rows.Scan(&r.Version, &r.Description, &r.Hash, &r.AppliedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// applyMigrations applies the embedded files the database has not had yet,
// each in its own transaction with its revision row, so that a failing file
// leaves the database at the revision before it. The caller holds the
// migration lock.
func (d *DB) applyMigrations(ctx context.Context) error {
	dir, err := MigrationDir(d.Dialect)
	if err != nil {
		return err
	}
	return d.applyDir(ctx, dir)
}

func (d *DB) applyDir(ctx context.Context, dir migrate.Dir) error {
	if err := migrate.Validate(dir); err != nil {
		return fmt.Errorf("migration files do not match atlas.sum (a released file was edited?): %w", err)
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("no migration files")
	}
	if err := d.ensureRevisions(ctx, files[0]); err != nil {
		return err
	}
	applied, err := d.Revisions(ctx)
	if err != nil {
		return err
	}
	pending, err := pendingFiles(files, applied)
	if err != nil {
		return err
	}
	for _, f := range pending {
		if err := d.applyFile(ctx, f); err != nil {
			return fmt.Errorf("migration %s: %w", f.Name(), err)
		}
	}
	return nil
}

// ensureRevisions creates the revisions table. A database made before
// versioned migrations (its tables exist, the revisions table does not) is
// recorded at the baseline file, whose schema is the one Schema.Create of
// release 7f470ce made: the files after it upgrade it.
func (d *DB) ensureRevisions(ctx context.Context, baseline migrate.File) error {
	hasRevisions, err := d.tableExists(ctx, RevisionsTable)
	if err != nil || hasRevisions {
		return err
	}
	legacy, err := d.tableExists(ctx, baselineTable)
	if err != nil {
		return err
	}
	timeType := "timestamptz"
	if d.Dialect == dialect.SQLite {
		timeType = "DATETIME"
	}
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE `+RevisionsTable+` (version varchar NOT NULL PRIMARY KEY,
		description varchar NOT NULL, hash varchar NOT NULL, applied_at `+timeType+` NOT NULL)`); err != nil {
		return fmt.Errorf("creating %s: %w", RevisionsTable, err)
	}
	if legacy {
		if err := insertRevision(ctx, tx, d.Dialect, baseline, "recognised: made by Schema.Create before versioned migrations"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (d *DB) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	if d.Dialect == dialect.SQLite {
		q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	}
	var n int
	err := d.SQL.QueryRowContext(ctx, q, name).Scan(&n)
	return n > 0, err
}

// pendingFiles are the files after the last applied one. An applied file
// must be unchanged; revisions newer than every file are those of a newer
// release (this binary is an older replica during a rolling upgrade, or a
// rollback): its schema is a superset, and there is nothing to apply.
func pendingFiles(files []migrate.File, applied []Revision) ([]migrate.File, error) {
	byVersion := map[string]migrate.File{}
	for _, f := range files {
		byVersion[f.Version()] = f
	}
	last := ""
	for _, r := range applied {
		if r.Version > last {
			last = r.Version
		}
		f, ok := byVersion[r.Version]
		if !ok {
			continue
		}
		if h := fileHash(f); h != r.Hash {
			return nil, fmt.Errorf("migration %s was edited after it was applied (hash %s, applied %s): released files are never edited; add a new one", f.Name(), h, r.Hash)
		}
	}
	done := map[string]bool{}
	for _, r := range applied {
		done[r.Version] = true
	}
	var pending []migrate.File
	for _, f := range files {
		if done[f.Version()] {
			continue
		}
		if f.Version() < last {
			return nil, fmt.Errorf("migration %s is older than the applied revision %s: rename it to a newer version", f.Name(), last)
		}
		pending = append(pending, f)
	}
	return pending, nil
}

func fileHash(f migrate.File) string {
	h, err := migrate.NewHashFile([]migrate.File{f})
	if err != nil || len(h) == 0 {
		return ""
	}
	return h[0].H
}

func insertRevision(ctx context.Context, tx *sql.Tx, d string, f migrate.File, desc string) error {
	q := `INSERT INTO ` + RevisionsTable + ` (version, description, hash, applied_at) VALUES ($1, $2, $3, $4)`
	if d == dialect.SQLite {
		q = `INSERT INTO ` + RevisionsTable + ` (version, description, hash, applied_at) VALUES (?, ?, ?, ?)`
	}
	if desc == "" {
		desc = f.Desc()
	}
	_, err := tx.ExecContext(ctx, q, f.Version(), desc, fileHash(f), time.Now().UTC())
	return err
}

// applyFile runs one file and records it, in one transaction.
//
// SQLite changes a table by copying it into a new one; foreign keys must be
// off for that, which SQLite allows only outside a transaction, so they are
// turned off on the connection around the transaction and checked with
// foreign_key_check before it commits (SQLite's documented procedure).
func (d *DB) applyFile(ctx context.Context, f migrate.File) error {
	stmts, err := f.Stmts()
	if err != nil {
		return err
	}
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.Dialect == dialect.SQLite {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = off`); err != nil {
			return err
		}
		defer func() {
			// The connection goes back to the pool: it must not keep
			// foreign keys off (a failure here closes it instead).
			if _, err := conn.ExecContext(context.Background(), `PRAGMA foreign_keys = on`); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	if noTx(f) {
		// CREATE INDEX CONCURRENTLY and the like refuse a transaction: the
		// file's statements run one by one, its revision after the last.
		for _, s := range stmts {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%w\n\tin: %s (a file without a transaction: the statements before it stay applied)", err, s)
			}
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := insertRevision(ctx, tx, d.Dialect, f, ""); err != nil {
			return err
		}
		return tx.Commit()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w\n\tin: %s", err, s)
		}
	}
	if d.Dialect == dialect.SQLite {
		if err := foreignKeyViolations(ctx, tx); err != nil {
			return err
		}
	}
	if err := insertRevision(ctx, tx, d.Dialect, f, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// noTx reports Atlas's directive "-- atlas:txmode none" at a file's top.
func noTx(f migrate.File) bool {
	lf, ok := f.(*migrate.LocalFile)
	if !ok {
		return false
	}
	for _, m := range lf.Directive("txmode") {
		if m == "none" {
			return true
		}
	}
	return false
}

func foreignKeyViolations(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("foreign key violated: %s row %d references a missing %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}
