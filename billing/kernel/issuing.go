package kernel

import (
	"context"
	"slices"

	"entgo.io/ent/dialect"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/predicate"
	"github.com/lib/pq"
)

// What every writer of a billing group's month shares with the month close
// an issued invoice never changes): the issuing lock, the predicate
// of the invoices that count, and the revision rating is cached by.

// IssueLockKey names the advisory lock of issuing a group's month: billing's issueOne
// takes its exclusive side; writers of the month (usage, contracts, credits,
// voids) take the shared side (WaitForIssuing).
func IssueLockKey(bgID, month string) string { return "issue:" + bgID + ":" + month }

// Live is the predicate of the invoices that are not void: every question
// "the invoice of this billing group and month" asks it.
func Live() predicate.Invoice { return invoice.StatusNEQ(invoice.StatusVOID) }

// WaitForIssuing takes the shared side of the issuing locks named by keys
// (IssueLockKey) for the rest of the transaction, on PostgreSQL: it waits
// for issuings in progress, and an issuer that comes later skips the group
// until the transaction ends (the next run issues it). SQLite needs none:
// its transactions take the one write lock first.
func WaitForIssuing(ctx context.Context, tx *ent.Tx, postgres bool, keys []string) error {
	if !postgres || len(keys) == 0 {
		return nil
	}
	slices.Sort(keys) // one order everywhere: no deadlock between two takers
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock_shared(hashtext(k)) FROM unnest($1::text[]) AS k", pq.StringArray(keys))
	return err
}

// TouchRating moves an organization's usage revision: what rating reads of
// it (usage, contracts, discounts) changed. Usage views are cached by it, and
// a month close that prefetched the organization reads its groups again.
func TouchRating(ctx context.Context, client *ent.Client, orgID string) error {
	return client.Organization.UpdateOneID(orgID).AddUsageRevision(1).Exec(ctx)
}

// Dialect is ent's name of the database: PostgreSQL or SQLite.
func Dialect(postgres bool) string {
	if postgres {
		return dialect.Postgres
	}
	return dialect.SQLite
}

// OpenMonth, in tx, waits for any issuing of billing group bgID's month m
// in progress (the shared side of its lock; SQLite's one writer waits
// anyway) and refuses, on field, a change to m when m is already invoiced
// an issued invoice never changes), so that nothing billable is
// kept in silence that no invoice will carry. The caller refuses months
// before the group's first (calendar.Policy.BeforeFirstMonth) and moves
// the usage revision with its change (TouchRating), so an issuer that read
// the group before the commit reads it again.
func OpenMonth(ctx context.Context, tx *ent.Tx, postgres bool, bgID, m, field string) error {
	if err := WaitForIssuing(ctx, tx, postgres, []string{IssueLockKey(bgID, m)}); err != nil {
		return err
	}
	invoiced, err := tx.Invoice.Query().Where(invoice.BillingGroupID(bgID), invoice.Month(m), Live()).Exist(ctx)
	if err != nil {
		return err
	}
	if invoiced {
		return FieldError(field, "the month %s is already invoiced for this billing group; its invoice cannot change", m)
	}
	return nil
}
