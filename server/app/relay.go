package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/graph"
	"github.com/cloudbill/cloudbill/server/store"
)

// paymentsChannel is the PostgreSQL notification channel of payment
// changes: "billing group id" SP "payment id".
const paymentsChannel = "cloudbill_payments"

// catchUpMargin is how far before a lost connection was noticed a
// replica looks for changes it may have missed: the loss is noticed late,
// and replicas' clocks differ a little.
const catchUpMargin = time.Minute

// pgRelay carries payment changes between replicas through PostgreSQL's
// NOTIFY/LISTEN, so that a payment settled on one replica reaches the
// paymentUpdated subscribers of all of them (graph.Relay). A replica
// listens only once it has a subscriber, and reads a payment only for a
// billing group it has subscribers of. Notifications sent while its
// listening connection is down are lost on the way; once it is back, the
// payments of its subscribers' groups that changed since shortly before
// the loss (payments.changed_at) are delivered again, so a subscriber sees
// each change at least once — some twice, which a status update allows.
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

func (r *pgRelay) Listen(subs graph.Subscriptions, deliver func(*ent.Payment)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return nil
	}
	var lost atomic.Int64 // when the connection was found lost (unix ns), 0 while up
	l := pq.NewListener(r.db.URL, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if ev == pq.ListenerEventDisconnected || ev == pq.ListenerEventConnectionAttemptFailed {
			lost.CompareAndSwap(0, time.Now().UnixNano())
		}
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
				if n == nil { // reconnected: catch up on what came meanwhile
					if at := lost.Swap(0); at != 0 {
						r.catchUp(ctx, subs, deliver, time.Unix(0, at).Add(-catchUpMargin))
					}
					continue
				}
				bg, id, _ := strings.Cut(n.Extra, " ")
				if !subs.Subscribed(bg) {
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

// catchUpLimit bounds what one reconnection delivers again.
const catchUpLimit = 1000

// catchUp delivers the payments of the subscribed groups changed since.
func (r *pgRelay) catchUp(ctx context.Context, subs graph.Subscriptions, deliver func(*ent.Payment), since time.Time) {
	groups := subs.Groups()
	if len(groups) == 0 {
		return
	}
	// The latest changes when there are more than the bound, delivered in
	// the order they happened.
	ps, err := r.db.Client.Payment.Query().Where(payment.BillingGroupIDIn(groups...), payment.ChangedAtGTE(since)).
		Order(ent.Desc(payment.FieldChangedAt), ent.Desc(payment.FieldID)).Limit(catchUpLimit).All(ctx)
	if err != nil {
		r.log.Warn("payment relay: catching up after reconnecting", "err", err)
		return
	}
	r.log.Info("payment relay: reconnected", "since", since, "redelivered", len(ps))
	for i := len(ps) - 1; i >= 0; i-- {
		deliver(ps[i])
	}
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
