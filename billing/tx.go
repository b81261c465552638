package billing

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/lib/pq"
)

// WithTx runs fn in a transaction, committing when it returns nil. A
// serialization failure or deadlock (SQLSTATE 40001/40P01) on PostgreSQL is
// retried from the start: fn must only write through tx. So is a
// connection found dead (driver.ErrBadConn, which a driver returns only
// when the server cannot have done the statement): the transaction never
// committed, and a pooled connection the server had closed while idle
// must not fail the caller.
func WithTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = runTx(ctx, client, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func runTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "40001" || pqErr.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique constraint failure on
// either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if ent.IsConstraintError(err) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	return false
}
