package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// sqliteDev is an empty in-memory SQLite database to replay files on.
func sqliteDev(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", fmt.Sprintf("file:dev_%d?mode=memory&_pragma=foreign_keys(1)", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresDev(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// copyDir copies the embedded migration files into a writable directory.
func copyDir(t *testing.T, d string, files []migrate.File) *migrate.LocalDir {
	t.Helper()
	dir, err := migrate.NewLocalDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := dir.WriteFile(f.Name(), f.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
	return dir
}

func embeddedFiles(t *testing.T, d string) []migrate.File {
	t.Helper()
	dir, err := store.MigrationDir(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Validate(dir); err != nil {
		t.Fatalf("%s: the files do not match atlas.sum: %v", d, err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// missingChanges is the file that would bring files to the ent schema, ""
// when they agree.
func missingChanges(t *testing.T, dev *sql.DB, d string, files []migrate.File) string {
	t.Helper()
	dir := copyDir(t, d, files)
	if err := store.DiffMigrations(context.Background(), dev, d, dir, "99991231235959", "missing"); err != nil {
		t.Fatal(err)
	}
	after, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) == len(files) {
		return ""
	}
	return string(after[len(after)-1].Bytes())
}

// The migration files of each database make up exactly the ent schema, and
// atlas.sum matches them. When this fails, run
// go run ./server/store/migrategen NAME (README, Upgrading).
func TestMigrationsInSync(t *testing.T) {
	for _, c := range []struct {
		dialect string
		dev     func(*testing.T) *sql.DB
	}{{dialect.SQLite, sqliteDev}, {dialect.Postgres, postgresDev}} {
		t.Run(c.dialect, func(t *testing.T) {
			files := embeddedFiles(t, c.dialect)
			if missing := missingChanges(t, c.dev(t), c.dialect, files); missing != "" {
				t.Fatalf("the ent schema differs from server/store/migrations/%s; run go run ./server/store/migrategen NAME. Missing:\n%s", c.dialect, missing)
			}
			if c.dialect == dialect.SQLite && len(files) > 1 {
				// The check sees a difference: without the last file the
				// schema is short of what that file adds.
				if missingChanges(t, c.dev(t), c.dialect, files[:len(files)-1]) == "" {
					t.Fatal("dropping the last migration file went unnoticed")
				}
			}
		})
	}
}

func atlasDriver(t *testing.T, db *store.DB) migrate.Driver {
	t.Helper()
	var (
		drv migrate.Driver
		err error
	)
	if db.Dialect == dialect.Postgres {
		drv, err = postgres.Open(db.SQL)
	} else {
		drv, err = sqlite.Open(db.SQL)
	}
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// schemaDiff lists how a's schema differs from b's, the revisions table aside.
func schemaDiff(t *testing.T, a, b *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	da, db := atlasDriver(t, a), atlasDriver(t, b)
	sa, err := da.InspectSchema(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := db.InspectSchema(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.Name = sa.Name
	changes, err := da.SchemaDiff(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range changes {
		out = append(out, fmt.Sprintf("%T %+v", c, c))
	}
	return out
}

// openUnmigrated opens an empty database of the dialect without migrating it.
func openUnmigrated(t *testing.T, d string) *store.DB {
	t.Helper()
	url, dir := "", t.TempDir()
	if d == dialect.Postgres {
		url = testenv.PostgresURL(t)
	}
	db, err := store.OpenDB(url, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A database that release 7f470ce made (Schema.Create, before versioned
// migrations) is recognised as at the baseline file — the schema that
// release's Schema.Create produced, captured once from it — and upgraded by
// the files after it: its rows are kept, SQLite's stored times are
// converted as before, and the schema ends equal to a new database's.
func TestMigrationsUpgradeFromRelease7f470ce(t *testing.T) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			old := openUnmigrated(t, d)
			files := embeddedFiles(t, d)
			if files[0].Desc() != "baseline" {
				t.Fatalf("first file %s is not the baseline", files[0].Name())
			}
			// What 7f470ce's Migrate left: the baseline's tables, no
			// revisions table, its triggers; then rows of that release.
			stmts, err := files[0].Stmts()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stmts {
				if _, err := old.SQL.ExecContext(ctx, s); err != nil {
					t.Fatalf("%v\n%s", err, s)
				}
			}
			baseline := strings.Join(stmts, "\n")
			inBaseline := func(table string) bool {
				return strings.Contains(baseline, "TABLE `"+table+"`") || strings.Contains(baseline, `TABLE "`+table+`"`)
			}
			if err := old.InstallRevisionTriggers(ctx, inBaseline); err != nil {
				t.Fatal(err)
			}
			q := func(s string) string {
				if d == dialect.SQLite {
					return s
				}
				for i := 1; strings.Contains(s, "?"); i++ {
					s = strings.Replace(s, "?", fmt.Sprintf("$%d", i), 1)
				}
				return s
			}
			created := "2027-01-01 05:00:00+09:00" // as release 7f470ce stored a KST instant on SQLite
			for _, s := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO organizations (id, created_at, name, revision, usage_revision) VALUES (?, ?, 'acme', 0, 0)`, []any{"org1", created}},
				{`INSERT INTO payments (id, org_id, created_at, receipt_id, kind, currency, amount, status, billed_at) VALUES ('pay1', 'org1', ?, 'rcpt1', 'CARD', 'KRW', 11000, 'SUCCEEDED', ?)`, []any{created, created}},
				{`INSERT INTO payment_allocations (id, org_id, payment_id, invoice_id, amount) VALUES ('alloc1', 'org1', 'pay1', 'inv1', 11000)`, nil},
			} {
				if _, err := old.SQL.ExecContext(ctx, q(s.sql), s.args...); err != nil {
					t.Fatal(err)
				}
			}

			if err := old.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			revs, err := old.Revisions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) != len(files) || !strings.HasPrefix(revs[0].Description, "recognised") {
				t.Fatalf("revisions %+v, want %d with the baseline recognised", revs, len(files))
			}
			for i, f := range files {
				if revs[i].Version != f.Version() {
					t.Fatalf("revision %d is %s, want %s", i, revs[i].Version, f.Version())
				}
			}
			// The rows are there, read through ent (the current schema),
			// with the payment's new columns at their defaults.
			p, err := old.Client.Payment.Get(ctx, "pay1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Amount != 11000 || p.Description != "" || p.CreditID != "" {
				t.Fatalf("payment after the upgrade: %+v", p)
			}
			if n, err := old.Client.PaymentAllocation.Query().Count(ctx); err != nil || n != 1 {
				t.Fatalf("allocations %d, %v", n, err)
			}
			o, err := old.Client.Organization.Get(ctx, "org1")
			if err != nil {
				t.Fatal(err)
			}
			if want := time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC); !o.CreatedAt.Equal(want) {
				t.Fatalf("organization created %v, want %v", o.CreatedAt, want)
			}
			if d == dialect.SQLite {
				var raw string
				old.SQL.QueryRow(`SELECT CAST(created_at AS TEXT) FROM payments WHERE id = 'pay1'`).Scan(&raw)
				if raw != "2026-12-31 20:00:00.000000000+00:00" {
					t.Fatalf("the payment's time is stored as %q: SQLite's time conversion did not run after the upgrade", raw)
				}
			}
			// The revision triggers are back on the rebuilt tables.
			if _, err := old.Client.Payment.UpdateOneID("pay1").SetFailureReason("none").Save(ctx); err != nil {
				t.Fatal(err)
			}
			if o2, _ := old.Client.Organization.Get(ctx, "org1"); o2 == nil || o2.Revision == o.Revision {
				t.Fatal("changing a payment did not change its organization's revision")
			}
			// The same schema as a database made by the files.
			fresh := openUnmigrated(t, d)
			if err := fresh.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if diff := schemaDiff(t, old, fresh); len(diff) > 0 {
				t.Fatalf("the upgraded schema differs from a new database's:\n%s", strings.Join(diff, "\n"))
			}
			// Starting again applies nothing.
			if err := old.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if again, _ := old.Revisions(ctx); len(again) != len(files) {
				t.Fatalf("%d revisions after a second start", len(again))
			}
		})
	}
}

// Replicas that start together on a new database apply each file once: the
// advisory lock makes the others wait and then find the files applied.
func TestMigrationsReplicasStartingTogether(t *testing.T) {
	url := testenv.PostgresURL(t)
	const replicas = 3
	dbs := make([]*store.DB, replicas)
	for i := range dbs {
		db, err := store.OpenDB(url, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = db.Migrate(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	revs, err := dbs[0].Revisions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(embeddedFiles(t, dialect.Postgres)); len(revs) != want {
		t.Fatalf("%d revisions, want %d", len(revs), want)
	}
}

// A released file is never edited: one whose hash differs from the hash
// recorded when it was applied stops the start, and so does a file that
// atlas.sum does not match.
func TestMigrationsRefuseAnEditedFile(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	files := embeddedFiles(t, dialect.SQLite)
	last := files[len(files)-1]
	edited := append(files[:len(files)-1:len(files)-1], migrate.NewLocalFile(last.Name(), append(append([]byte{}, last.Bytes()...), "\n-- edited\n"...)))
	dir := copyDir(t, dialect.SQLite, edited)
	if err := db.ApplyDir(ctx, dir); err == nil || !strings.Contains(err.Error(), "edited after it was applied") {
		t.Fatalf("an edited applied file: %v", err)
	}
	if err := dir.WriteFile(last.Name(), append(append([]byte{}, last.Bytes()...), "\n-- again\n"...)); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyDir(ctx, dir); err == nil || !strings.Contains(err.Error(), "atlas.sum") {
		t.Fatalf("a file atlas.sum does not match: %v", err)
	}
}

// A file with Atlas's "-- atlas:txmode none" directive runs outside a
// transaction, which CREATE INDEX CONCURRENTLY (a large table's index
// without blocking its writers) requires; its revision is recorded.
func TestMigrationsWithoutTransaction(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	files := append(embeddedFiles(t, dialect.Postgres), migrate.NewLocalFile("99990101000000_concurrent.sql",
		[]byte("-- atlas:txmode none\n\n-- Create index \"organization_name\"\nCREATE INDEX CONCURRENTLY \"organization_name\" ON \"organizations\" (\"name\");\n")))
	if err := db.ApplyDir(ctx, copyDir(t, dialect.Postgres, files)); err != nil {
		t.Fatal(err)
	}
	revs, err := db.Revisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := revs[len(revs)-1]; last.Version != "99990101000000" || len(revs) != len(files) {
		t.Fatalf("revisions %+v", revs)
	}
	var n int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM pg_indexes WHERE indexname = 'organization_name'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("index: %d, %v", n, err)
	}
}
