package credits

import (
	"cmp"
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/lib/pq"
)

// Spend writes each credit use as a USE history entry naming the
// invoice and takes it off the credit with a guarded update: the remainder
// can never go below zero. On PostgreSQL it is one statement
// for all of an invoice's credits (spendSQL): the month close runs it once
// per invoice, and each statement saved is a round trip on its path.
func Spend(ctx context.Context, tx *ent.Tx, postgres bool, orgID, currency, invoiceID string, uses []rating.CreditUse, at time.Time) error {
	perCredit := map[string]int64{}
	var order []string
	for _, u := range uses {
		if perCredit[u.CreditID] == 0 {
			order = append(order, u.CreditID)
		}
		perCredit[u.CreditID] += u.Amount
	}
	if len(order) == 0 {
		return nil
	}
	if postgres {
		return spendPostgres(ctx, tx, orgID, currency, invoiceID, order, perCredit, at)
	}
	entries := make([]*ent.CreditEntryCreate, len(order))
	for i, id := range order {
		entries[i] = tx.CreditEntry.Create().SetOrgID(orgID).SetCreditID(id).SetKind(creditentry.KindUSE).SetCurrency(currency).
			SetAmount(-perCredit[id]).SetInvoiceID(invoiceID).SetOccurredAt(at)
		if err := TakeFromCredit(ctx, tx, id, perCredit[id], false, at); err != nil {
			return err
		}
	}
	return tx.CreditEntry.CreateBulk(entries...).Exec(ctx)
}

// spendSQL is Spend on PostgreSQL: the guarded updates of TakeFromCredit
// (status and closed_at read the row as it was before the statement, as
// there) and the USE entries, written only when every credit had enough
// ($8 of them updated). The first column is how many were.
const spendSQL = `WITH want AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS w(credit_id, amount, entry_id)
), took AS (
	UPDATE credits c SET remaining = c.remaining - w.amount, used = c.used + w.amount,
		status = CASE WHEN c.remaining = w.amount THEN 'USED_UP' ELSE c.status END,
		closed_at = CASE WHEN c.remaining = w.amount THEN $4::timestamptz ELSE c.closed_at END
	FROM want w WHERE c.id = w.credit_id AND c.status = 'AVAILABLE' AND c.remaining >= w.amount
	RETURNING c.id
), entries AS (
	INSERT INTO credit_entries (id, org_id, kind, amount, invoice_id, occurred_at, currency, credit_id)
	SELECT w.entry_id, $5, 'USE', -w.amount, $6, $4::timestamptz, $7, w.credit_id FROM want w
	WHERE (SELECT count(*) FROM took) = $8
	RETURNING 1
)
SELECT (SELECT count(*) FROM took), (SELECT count(*) FROM entries)`

func spendPostgres(ctx context.Context, tx *ent.Tx, orgID, currency, invoiceID string, order []string, perCredit map[string]int64, at time.Time) error {
	amounts, entryIDs := make([]int64, len(order)), make([]string, len(order))
	for i, id := range order {
		amounts[i], entryIDs[i] = perCredit[id], xid.New("cre")
	}
	rows, err := tx.QueryContext(ctx, spendSQL, pq.StringArray(order), pq.Int64Array(amounts), pq.StringArray(entryIDs),
		at, orgID, invoiceID, currency, len(order))
	if err != nil {
		return err
	}
	var took, written int
	for rows.Next() {
		if err := rows.Scan(&took, &written); err != nil {
			rows.Close()
			return err
		}
	}
	if err := cmp.Or(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if took != len(order) || written != len(order) { // the transaction rolls back what was taken
		return kernel.Errorf(kernel.CodeInsufficientBalance, "the credit does not have that much left")
	}
	return nil
}

// TakeFromCredit lowers an AVAILABLE credit's remainder by amt (as use when
// used is set), atomically and only if enough remains; a credit left with
// nothing becomes USED_UP.
func TakeFromCredit(ctx context.Context, tx *ent.Tx, id string, amt int64, transfer bool, at time.Time) error {
	upd := tx.Credit.Update().
		Where(credit.ID(id), credit.StatusEQ(credit.StatusAVAILABLE), credit.RemainingGTE(amt)).
		AddRemaining(-amt).
		// One statement: emptied, the credit is USED_UP from now.
		Modify(func(u *sql.UpdateBuilder) {
			u.Set(credit.FieldStatus, sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("CASE WHEN ").Ident(credit.FieldRemaining).WriteString(" = ").Arg(amt).
					WriteString(" THEN ").Arg(string(credit.StatusUSED_UP)).WriteString(" ELSE ").Ident(credit.FieldStatus).WriteString(" END")
			}))
			u.Set(credit.FieldClosedAt, sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("CASE WHEN ").Ident(credit.FieldRemaining).WriteString(" = ").Arg(amt).
					WriteString(" THEN ").Arg(at).WriteString(" ELSE ").Ident(credit.FieldClosedAt).WriteString(" END")
			}))
		})
	if !transfer {
		upd = upd.AddUsed(amt)
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return err
	}
	if n != 1 {
		return kernel.Errorf(kernel.CodeInsufficientBalance, "the credit does not have that much left")
	}
	return nil
}
