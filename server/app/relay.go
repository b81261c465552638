package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/server/store"
)

// paymentsChannel is the PostgreSQL notification channel of payment
// changes: "billing group id" SP "payment id".
const paymentsChannel = "cloudbill_payments"

// pgRelay carries payment changes between replicas through PostgreSQL's
// NOTIFY/LISTEN, so that a payment settled on one replica reaches the
// paymentUpdated subscribers of all of them (graph.Relay). A replica
// listens only once it has a subscriber, and reads a payment only for a
// billing group it has subscribers of. Notifications sent while its
// listening connection is being re-established are missed.
type pgRelay struct {
	db  *store.DB
	log *slog.Logger

	mu   sync.Mutex
	stop func()
}

func (r *pgRelay) Send(p *ent.Payment) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := r.db.SQL.ExecContext(ctx, "SELECT pg_notify($1, $2)", paymentsChannel, p.BillingGroupID+" "+p.ID)
	if err != nil {
		r.log.Warn("payment relay: notify", "err", err, "payment", p.ID)
	}
	return err
}

func (r *pgRelay) Listen(wanted func(string) bool, deliver func(*ent.Payment)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return nil
	}
	l := pq.NewListener(r.db.URL, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			r.log.Warn("payment relay: listening connection", "event", ev, "err", err)
		}
	})
	if err := l.Listen(paymentsChannel); err != nil {
		l.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case n, ok := <-l.Notify:
				if !ok {
					return
				}
				if n == nil { // reconnected: whatever came meanwhile is lost
					continue
				}
				bg, id, _ := strings.Cut(n.Extra, " ")
				if !wanted(bg) {
					continue
				}
				p, err := r.db.Client.Payment.Get(ctx, id)
				if err != nil {
					r.log.Warn("payment relay: reading a payment", "payment", id, "err", err)
					continue
				}
				deliver(p)
			}
		}
	}()
	r.stop = func() {
		cancel()
		l.Close()
		<-done
	}
	return nil
}

// Close stops listening.
func (r *pgRelay) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
}
