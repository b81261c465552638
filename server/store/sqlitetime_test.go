package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/ent/organization"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// A database written before times were stored as UTC text of one width
// holds each time with its writer's offset (and Go's time.String form in
// older rows): the migration converts every one of them once, after which
// they compare as instants. Times written since are converted on the way in.
func TestSQLiteTimesConvertedByMigration(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	// As an older version stored them: 2027-01-01 05:00 KST is
	// 2026-12-31 20:00 UTC, and it sorts after "2027-01-01 00:00:00+09:00"
	// as text although it is later only by 5 hours.
	old := map[string]string{
		"org_kst":  "2027-01-01 05:00:00+09:00",
		"org_utc":  "2026-12-31 19:00:00.5+00:00",
		"org_str":  "2027-01-01 04:00:00 +0900 KST m=+0.000000001",
		"org_bare": "2026-12-31 21:00:00",
	}
	for id, at := range old {
		if _, err := db.SQL.Exec(`INSERT INTO organizations (id, created_at, name, revision, usage_revision) VALUES (?, ?, ?, 0, 0)`, id, at, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL.Exec(`PRAGMA user_version = 0`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"org_kst":  "2026-12-31 20:00:00.000000000+00:00",
		"org_utc":  "2026-12-31 19:00:00.500000000+00:00",
		"org_str":  "2026-12-31 19:00:00.000000000+00:00",
		"org_bare": "2026-12-31 21:00:00.000000000+00:00",
	}
	for id, w := range want {
		var got string
		if err := db.SQL.QueryRow(`SELECT CAST(created_at AS TEXT) FROM organizations WHERE id = ?`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("%s stored as %q, want %q", id, got, w)
		}
	}
	// January 2027 in KST starts at 2026-12-31 15:00 UTC: every row is in it,
	// whichever zone the bound is written in.
	kst := time.FixedZone("KST", 9*3600)
	for _, from := range []time.Time{time.Date(2027, 1, 1, 0, 0, 0, 0, kst), time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC)} {
		n, err := db.Client.Organization.Query().Where(organization.CreatedAtGTE(from), organization.CreatedAtLT(from.Add(7*time.Hour))).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("from %v: %d of 4 organizations", from, n)
		}
	}
	// Written now from a KST time: stored as UTC, read back as the same instant.
	at := time.Date(2027, 1, 1, 0, 0, 0, 1, kst)
	o, err := db.Client.Organization.Create().SetName("new").SetCreatedAt(at).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var raw string
	db.SQL.QueryRow(`SELECT CAST(created_at AS TEXT) FROM organizations WHERE id = ?`, o.ID).Scan(&raw)
	back, err := db.Client.Organization.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if raw != store.SQLiteTime(at) || raw != "2026-12-31 15:00:00.000000001+00:00" || !back.CreatedAt.Equal(at) {
		t.Fatalf("stored %q, read back %v; want %v", raw, back.CreatedAt, at)
	}
	// Migrating again changes nothing (the conversion ran once).
	var version int
	db.SQL.QueryRow(`PRAGMA user_version`).Scan(&version)
	if version != 1 {
		t.Fatalf("user_version = %d", version)
	}
}
