package kernel

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

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
		if attempt > 0 {
			// The transactions that collided would collide again if retried
			// in step: wait a random while, longer on each attempt.
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond)))):
			}
		}
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

// connectionLost reports whether err says the connection to the database
// was lost — the server closed or reset it, or shut down — rather than that
// a statement failed on its data. Nothing of an unfinished transaction was
// kept, and the work may be done again on another connection.
func ConnectionLost(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		// 08: connection exception; 57P01..03: the server is shutting
		// down or terminated the backend.
		return pqErr.Code.Class() == "08" || pqErr.Code == "57P01" || pqErr.Code == "57P02" || pqErr.Code == "57P03"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique key failure on either
// database — not a check or foreign key failure, which ent reports as
// constraint errors too.
func IsUniqueViolation(err error) bool {
	_, ok := uniqueViolation(err)
	return ok
}

// IsUniqueViolationOn reports whether err is the failure of the unique key
// over exactly these columns of table. A step that reads "already done"
// from a duplicate key (one invoice per group and month, one automatic
// attempt per invoice and day) must not read it from any other constraint.
func IsUniqueViolationOn(err error, table string, columns ...string) bool {
	k, ok := uniqueViolation(err)
	return ok && k.table == table && slices.Equal(k.columns, columns)
}

type uniqueKey struct {
	table   string
	columns []string
}

func uniqueViolation(err error) (uniqueKey, bool) {
	if err == nil {
		return uniqueKey{}, false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		// Detail: Key (billing_group_id, month)=(bg_…, 2026-10) already exists.
		if pqErr.Code != "23505" {
			return uniqueKey{}, false
		}
		k := uniqueKey{table: pqErr.Table}
		if _, rest, ok := strings.Cut(pqErr.Detail, "Key ("); ok {
			cols, _, _ := strings.Cut(rest, ")=")
			k.columns = strings.Split(cols, ", ")
		}
		return k, true
	}
	// SQLite: UNIQUE constraint failed: invoices.billing_group_id, invoices.month (2067)
	const prefix = "UNIQUE constraint failed: "
	_, rest, ok := strings.Cut(err.Error(), prefix)
	if !ok {
		return uniqueKey{}, false
	}
	rest, _, _ = strings.Cut(rest, " (")
	var k uniqueKey
	for _, tc := range strings.Split(rest, ", ") {
		t, c, _ := strings.Cut(tc, ".")
		k.table, k.columns = t, append(k.columns, c)
	}
	return k, true
}
