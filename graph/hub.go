package graph

import (
	"sync"

	"github.com/cloudbill/cloudbill/ent"
)

// Hub fans payment status changes out to paymentUpdated subscribers of
// this replica. A change made on another replica reaches only that
// replica's subscribers (see the README's gaps).
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan *ent.Payment]struct{}
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan *ent.Payment]struct{}{}} }

// Publish implements billing.Broker; a slow subscriber misses updates
// rather than blocking payments.
func (h *Hub) Publish(p *ent.Payment) {
	if p == nil || p.BillingGroupID == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[p.BillingGroupID] {
		select {
		case ch <- p:
		default:
		}
	}
}

// Subscribe returns a channel of the group's payment changes and a cancel.
func (h *Hub) Subscribe(bgID string) (chan *ent.Payment, func()) {
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
	}
}
