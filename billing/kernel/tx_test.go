package kernel_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/server/testenv"
	"github.com/lib/pq"
)

// Serialization failures and deadlocks (SQLSTATE 40001, 40P01) are retried
// from the start of the transaction; other errors are not.
func TestWithTxRetriesSerializationFailures(t *testing.T) {
	db := testenv.SQLite(t)
	for _, c := range []struct {
		code     pq.ErrorCode
		attempts int
		ok       bool
	}{{"40001", 3, true}, {"40P01", 3, true}, {"23505", 1, false}} {
		attempts := 0
		err := kernel.WithTx(context.Background(), db.Client, func(tx *ent.Tx) error {
			attempts++
			if attempts < 3 {
				return &pq.Error{Code: c.code}
			}
			return nil
		})
		if (err == nil) != c.ok || attempts != c.attempts {
			t.Errorf("%s: %d attempts, err %v", c.code, attempts, err)
		}
	}
	// A connection found dead before the statement ran is retried too.
	attempts := 0
	err := kernel.WithTx(context.Background(), db.Client, func(tx *ent.Tx) error {
		if attempts++; attempts < 2 {
			return fmt.Errorf("reading: %w", driver.ErrBadConn)
		}
		return nil
	})
	if err != nil || attempts != 2 {
		t.Errorf("bad connection: %d attempts, err %v", attempts, err)
	}
	// A real deadlock on PostgreSQL: two transactions lock two rows in
	// opposite orders; the loser is retried and both commit.
	pg := testenv.Postgres(t)
	if _, err := pg.SQL.Exec(`CREATE TABLE dl (id int primary key, n int); INSERT INTO dl VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	arrived, proceed := make(chan struct{}, 2), make(chan struct{})
	errs := make(chan error, 2)
	for _, order := range [][2]int{{1, 2}, {2, 1}} {
		go func(a, b int) {
			tries := 0
			errs <- kernel.WithTx(context.Background(), pg.Client, func(tx *ent.Tx) error {
				tries++
				if _, err := tx.ExecContext(context.Background(), "UPDATE dl SET n = n + 1 WHERE id = $1", a); err != nil {
					return err
				}
				if tries == 1 { // both hold their first row before either takes its second
					arrived <- struct{}{}
					<-proceed
				}
				_, err := tx.ExecContext(context.Background(), "UPDATE dl SET n = n + 1 WHERE id = $1", b)
				return err
			})
		}(order[0], order[1])
	}
	<-arrived
	<-arrived
	close(proceed)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			var pe *pq.Error
			t.Fatalf("deadlocked transaction not retried: %v (%v)", err, errors.As(err, &pe))
		}
	}
	var sum int
	pg.SQL.QueryRow("SELECT sum(n) FROM dl").Scan(&sum)
	if sum != 4 {
		t.Fatalf("sum = %d, want 4: each transaction applied once", sum)
	}
}
