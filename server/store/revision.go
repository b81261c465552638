package store

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
)

// revisionTables are the tables whose rows make up what the views of an
// organization show (see billing/orgcache.go). A change to any of them
// changes organizations.revision in the same transaction.
//
// Left out on purpose: usage (recorded all day in bulk, read fresh by every
// view), invoice_lines (written only with their invoice, whose own row
// changes the revision), and bookkeeping that no view caches (audit events,
// the outbox, idempotency keys, refresh and API tokens).
var revisionTables = []string{
	"accounts", "billing_groups", "grants", "contracts", "discounts", "discount_uses",
	"credits", "credit_entries", "coupon_redemptions", "invoices", "payments",
	"payment_allocations", "payment_methods", "coin_charges", "coin_shares", "coin_usages",
	"tax_invoices",
}

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

// installRevisionTriggers (re)creates the triggers after each migration
// (SQLite drops a table's triggers when the migration rebuilds the table).
func (d *DB) installRevisionTriggers(ctx context.Context) error {
	var stmts []string
	if d.Dialect == dialect.Postgres {
		stmts = append(stmts, pgRevisionFunc)
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
