package store

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/cloudbill/cloudbill/ent"
)

// revisionTables are the tables whose rows make up what the views of an
// organization show (see billing/readmodel/orgcache.go). A change to any of them
// changes organizations.revision in the same transaction. The list is
// written by `go generate` from the Revision annotations of ent/schema
// (schema.MovesRevision); the tables left out say why there
// (schema.CoveredBy, schema.OutsideRevision), and
// TestEveryTenantTableDecidesItsRevision fails for a table that says nothing.
var revisionTables = ent.RevisionTables

// PostgreSQL: a deferred constraint trigger sets the revision to the id of
// the writing transaction, once, at commit. At commit the transaction holds
// all its other locks already, so waiting for the organization's row there
// cannot close a deadlock cycle with the rows it wrote before; and the value
// of a transaction id never comes back, so a changed revision is always a
// different one.
const pgRevisionFunc = `CREATE OR REPLACE FUNCTION cloudbill_touch_org() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	o text;
	x bigint := txid_current();
BEGIN
	IF TG_OP = 'DELETE' THEN o := OLD.org_id; ELSE o := NEW.org_id; END IF;
	UPDATE organizations SET revision = x WHERE id = o AND revision <> x;
	IF TG_OP = 'UPDATE' AND OLD.org_id <> NEW.org_id THEN -- an account moved
		UPDATE organizations SET revision = x WHERE id = OLD.org_id AND revision <> x;
	END IF;
	RETURN NULL;
END $$`

// pgBumpUsageFunc moves the usage revision of the organizations ids names
// in one UPDATE that reads them through the primary key: a btree scan of
// id = ANY(…) visits the keys in the index's order, so every batch locks
// the organizations it names in that one order and two batches naming the
// same ones wait for each other and never deadlock. The function plans
// its statement with sequential and bitmap scans off: either would visit
// the rows in the order they lie in the table, which moves as rows are
// updated (TestBumpUsageNeverDeadlocks). Each row is locked as it is
// written. Measured on 10,000 organizations, 1,000 a bump, alone: 3.0 ms
// against 5.3 ms for the loop of one UPDATE per organization it replaces
// (4.7 ms against 7–10 ms on pages without room, where the organizations'
// fillfactor, store.go, does not yet apply) — and the rows stay locked
// until the batch commits, so a hot-key batch holds them that much less.
const pgBumpUsageFunc = `CREATE OR REPLACE FUNCTION cloudbill_bump_usage(ids text[]) RETURNS void LANGUAGE sql
SET enable_seqscan = off SET enable_bitmapscan = off AS $$
	UPDATE organizations SET usage_revision = usage_revision + 1 WHERE id = ANY(ids)
$$`

// installRevisionTriggers (re)creates the triggers after each migration
// (SQLite drops a table's triggers when the migration rebuilds the table).
func (d *DB) installRevisionTriggers(ctx context.Context) error {
	return d.installRevisionTriggersOn(ctx, revisionTables)
}

func (d *DB) installRevisionTriggersOn(ctx context.Context, revisionTables []string) error {
	var stmts []string
	if d.Dialect == dialect.Postgres {
		stmts = append(stmts, pgRevisionFunc, pgBumpUsageFunc)
		for _, t := range revisionTables {
			stmts = append(stmts,
				fmt.Sprintf(`DROP TRIGGER IF EXISTS cloudbill_revision ON %s`, t),
				fmt.Sprintf(`CREATE CONSTRAINT TRIGGER cloudbill_revision AFTER INSERT OR UPDATE OR DELETE ON %s
					DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cloudbill_touch_org()`, t))
		}
	} else {
		// SQLite has one writer at a time: a counter does.
		for _, t := range revisionTables {
			for _, ev := range []struct{ op, orgs string }{{"INSERT", "NEW.org_id"}, {"UPDATE", "NEW.org_id, OLD.org_id"}, {"DELETE", "OLD.org_id"}} {
				name := fmt.Sprintf("cloudbill_revision_%s_%s", t, strings.ToLower(ev.op))
				stmts = append(stmts, "DROP TRIGGER IF EXISTS "+name, fmt.Sprintf(`CREATE TRIGGER %s AFTER %s ON %s
					BEGIN UPDATE organizations SET revision = revision + 1 WHERE id IN (%s); END`, name, ev.op, t, ev.orgs))
			}
		}
	}
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			tx.Rollback()
			return fmt.Errorf("revision triggers: %w", err)
		}
	}
	return tx.Commit()
}
