package credits

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
)

// Spend writes each credit use as a USE history entry naming the
// invoice and takes it off the credit with a guarded update: the remainder
// can never go below zero.
func Spend(ctx context.Context, tx *ent.Tx, orgID, currency, invoiceID string, uses []rating.CreditUse, at time.Time) error {
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
