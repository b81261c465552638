package graph

import (
	"sync"

	"github.com/cloudbill/cloudbill/ent"
)

// Hub fans payment status changes out to paymentUpdated subscribers of
// this replica. With a Relay (PostgreSQL) a change published on any
// replica reaches every replica's subscribers.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan *ent.Payment]struct{}
	// Relay, when set, carries published changes to every replica's hub.
	// It starts listening with this replica's first subscription.
	Relay     Relay
	listening bool // under mu
}

// Relay carries payment changes between replicas.
type Relay interface {
	// Send announces p to every replica listening, this one included.
	Send(p *ent.Payment) error
	// Listen starts handing what any replica sends to deliver, for the
	// billing groups this replica has subscribers of; it returns once
	// listening.
	Listen(subs Subscriptions, deliver func(*ent.Payment)) error
}

// Subscriptions is what a relay asks of a replica's subscribers (the Hub).
type Subscriptions interface {
	Subscribed(billingGroupID string) bool
	// Groups lists the billing groups that have subscribers.
	Groups() []string
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan *ent.Payment]struct{}{}} }

// Publish implements payments.Broker. Through a listening relay the change
// reaches this replica's subscribers the same way as everyone else's;
// otherwise (no relay, or it is not listening here) they get it directly.
func (h *Hub) Publish(p *ent.Payment) {
	if p == nil || p.BillingGroupID == "" {
		return
	}
	h.mu.Lock()
	listening := h.listening
	h.mu.Unlock()
	if h.Relay != nil {
		if err := h.Relay.Send(p); err == nil && listening {
			return
		}
	}
	h.Deliver(p)
}

// Deliver hands p to this replica's subscribers of its billing group; a
// slow subscriber misses updates rather than blocking payments.
func (h *Hub) Deliver(p *ent.Payment) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[p.BillingGroupID] {
		select {
		case ch <- p:
		default:
		}
	}
}

// Subscribed tells whether this replica has subscribers of the group.
func (h *Hub) Subscribed(bgID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[bgID]) > 0
}

// Groups lists the billing groups this replica has subscribers of.
func (h *Hub) Groups() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.subs))
	for bg := range h.subs {
		out = append(out, bg)
	}
	return out
}

// Subscribe returns a channel of the group's payment changes and a cancel.
// The first subscription starts the relay listening; if it cannot, the
// subscription fails (and the next one tries again).
func (h *Hub) Subscribe(bgID string) (chan *ent.Payment, func(), error) {
	h.mu.Lock()
	start := h.Relay != nil && !h.listening
	h.mu.Unlock()
	if start {
		if err := h.Relay.Listen(h, h.Deliver); err != nil {
			return nil, nil, err
		}
		h.mu.Lock()
		h.listening = true
		h.mu.Unlock()
	}
	ch := make(chan *ent.Payment, 16)
	h.mu.Lock()
	if h.subs[bgID] == nil {
		h.subs[bgID] = map[chan *ent.Payment]struct{}{}
	}
	h.subs[bgID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[bgID], ch)
		if len(h.subs[bgID]) == 0 {
			delete(h.subs, bgID)
		}
		h.mu.Unlock()
	}, nil
}
