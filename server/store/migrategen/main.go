// Command migrategen writes the next versioned migration file for both
// databases from the ent schema:
//
//	go generate ./ent && go run ./server/store/migrategen NAME
//
// or rewrites both directories' atlas.sum after a file not yet released was
// edited by hand:
//
//	go run ./server/store/migrategen -hash
//
// It replays server/store/migrations/{postgres,sqlite} on empty development
// databases — an in-memory SQLite and a throwaway PostgreSQL cluster started
// from the server binaries, as the tests do (server/testenv) — and writes the
// difference to the ent schema as NAME's file in each directory, with
// atlas.sum updated. It writes nothing where the files and the schema agree.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	_ "modernc.org/sqlite"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "migrategen:", err)
		os.Exit(1)
	}
}

func run() error {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "migrations")
	if len(os.Args) == 2 && os.Args[1] == "-hash" {
		return rehash(root)
	}
	if len(os.Args) != 2 || !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(os.Args[1]) {
		return fmt.Errorf("usage: go run ./server/store/migrategen NAME (lower case, digits, _) | -hash")
	}
	name, version := os.Args[1], migrate.NewVersion()
	ctx := context.Background()

	dev, err := sql.Open("sqlite", "file:migrategen?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	dev.SetMaxOpenConns(1) // an in-memory database lives in its connection
	defer dev.Close()
	if err := diff(ctx, dev, dialect.SQLite, filepath.Join(root, "sqlite"), version, name); err != nil {
		return err
	}

	admin, stop, err := testenv.StartCluster()
	if err != nil {
		return err
	}
	defer stop()
	adm, err := sql.Open("postgres", admin)
	if err != nil {
		return err
	}
	defer adm.Close()
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE migrategen"); err != nil {
		return err
	}
	u, _ := url.Parse(admin)
	u.Path = "/migrategen"
	pg, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	defer pg.Close()
	return diff(ctx, pg, dialect.Postgres, filepath.Join(root, "postgres"), version, name)
}

func diff(ctx context.Context, dev *sql.DB, d, path, version, name string) error {
	dir, err := migrate.NewLocalDir(path)
	if err != nil {
		return err
	}
	before, err := dir.Files()
	if err != nil {
		return err
	}
	if err := store.DiffMigrations(ctx, dev, d, dir, version, name); err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	after, err := dir.Files()
	if err != nil {
		return err
	}
	if len(after) == len(before) {
		fmt.Printf("%s: the files match the ent schema; nothing written\n", d)
		return nil
	}
	fmt.Printf("%s: wrote %s\n", d, filepath.Join(path, after[len(after)-1].Name()))
	return nil
}

func rehash(root string) error {
	for _, d := range []string{"postgres", "sqlite"} {
		dir, err := migrate.NewLocalDir(filepath.Join(root, d))
		if err != nil {
			return err
		}
		sum, err := dir.Checksum()
		if err != nil {
			return err
		}
		if err := migrate.WriteSumFile(dir, sum); err != nil {
			return err
		}
	}
	return nil
}
