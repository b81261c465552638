// Package credits holds the billing groups' credits (R-20..R-28): opening
// one from any source (grant, sale, welcome credit, coupon, transfer,
// refund), spending, transferring, recovering and expiring it, the paid
// credits' sale and refund, and the summary the dashboards show.
// Every change is a history entry (creditentry), so a credit's remainder
// is always the sum of its history.
package credits

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/ent"
)

// Service owns the credits of one database.
type Service struct {
	domain.Base
	// MoneyIn refuses, in tx, a payment above the money-in limits
	// (payments.Service.CheckMoneyIn, handed in by the engine): a paid credit's sale
	// counts toward them.
	MoneyIn func(ctx context.Context, tx *ent.Tx, orgID, field, what string, amount int64) error
}
