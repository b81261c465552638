package app_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/testenv"
)

// Faults on PostgreSQL: database connections are killed at
// random during a stream of coin purchases. Clients retry with their
// idempotency keys; after reconciliation every purchase happened exactly
// once and the balance is exactly what was bought.
func TestConnectionsKilledDuringPayments(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	tok, _ := e.signUp("faults@example.com")
	pm := str(e.ok(tok, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	charge := `mutation($k: String!, $pm: ID!) { chargeCoins(input: {amount: "1000", paymentMethodId: $pm, idempotencyKey: $k}) { payment { id status } } }`

	stop := make(chan struct{})
	var kills atomic.Int64
	go func() { // the fault: terminate every other backend, often
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
				res, err := db.SQL.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
				if err == nil {
					n, _ := res.RowsAffected()
					kills.Add(n)
				}
			}
		}
	}()
	const clients, each = 6, 15
	var wg sync.WaitGroup
	var failures atomic.Int64
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("k-%d-%d", c, i)
				// A client retries the same key until it gets an answer.
				for attempt := 0; ; attempt++ {
					r := e.gql(tok, charge, map[string]any{"k": key, "pm": pm})
					if len(r.Errors) == 0 {
						break
					}
					failures.Add(1)
					if attempt > 50 {
						t.Errorf("%s never succeeded: %+v", key, r.Errors)
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}(c)
	}
	wg.Wait()
	close(stop)
	time.Sleep(50 * time.Millisecond)
	// Reconcile anything left PENDING by a cut between the steps.
	e.clock.Advance(2 * time.Minute)
	e.op, _, _ = e.app.Tokens.Mint("access", "operator@test", "", "", []string{"OPERATOR"}, time.Hour)
	e.runJobs(e.clock.Now().Format(time.RFC3339))

	var payments, pending, successful, coins, balance int64
	db.SQL.QueryRow(`SELECT count(*) FROM payments WHERE kind = 'COIN_CHARGE'`).Scan(&payments)
	db.SQL.QueryRow(`SELECT count(*) FROM payments WHERE status = 'PENDING'`).Scan(&pending)
	db.SQL.QueryRow(`SELECT count(*) FROM payments WHERE status = 'SUCCESSFUL'`).Scan(&successful)
	db.SQL.QueryRow(`SELECT count(*), coalesce(sum(charged_remaining), 0) FROM coin_charges`).Scan(&coins, &balance)
	t.Logf("%d backends killed, %d failed requests retried; %d payments, %d coin charges", kills.Load(), failures.Load(), payments, coins)
	if payments != clients*each || pending != 0 || successful != payments || coins != payments || balance != 1000*payments {
		t.Fatalf("payments %d (want %d), pending %d, successful %d, coin charges %d, balance %d",
			payments, clients*each, pending, successful, coins, balance)
	}
	if kills.Load() == 0 {
		t.Fatal("the fault never struck")
	}
}

// A PostgreSQL restart under load: requests fail meanwhile with errors, and
// the server recovers by itself without a restart of its own.
func TestPostgresRestartUnderLoad(t *testing.T) {
	db := testenv.Postgres(t)
	e := newEnv(t, db)
	tok, _ := e.signUp("restart@example.com")
	done := make(chan struct{})
	var ok, failed, shapeless atomic.Int64
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if r := e.gql(tok, `{ viewer { billingGroups { id } } }`, nil); len(r.Errors) == 0 {
				ok.Add(1)
			} else {
				failed.Add(1)
				if c := r.code(); c == "NOT_JSON" || c == "" {
					shapeless.Add(1)
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	testenv.RestartPostgres(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.gql(tok, `{ viewer { billingGroups { id } } }`, nil)
		resp, err := http.Get(e.srv.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		if len(r.Errors) == 0 && err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 20 s after the restart: %+v", r.Errors)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(done)
	t.Logf("during the restart: %d answered, %d failed with errors", ok.Load(), failed.Load())
	if shapeless.Load() > 0 {
		t.Fatalf("%d failures were not GraphQL errors with a code", shapeless.Load())
	}
}
