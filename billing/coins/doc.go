// Package coins holds prepaid coins: a coin purchase's
// reservation and, once paid, its charge with the policy's bonus; coins
// paying invoices before any method is charged (PayFirst), the master's
// sharing of a charge with members, and the wallet an account sees.
package coins

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/ent"
)

// Service owns the coins of one database.
type Service struct {
	domain.Base
	// MoneyIn refuses, in tx, a payment above the money-in limits
	// (payments.Service.CheckMoneyIn, handed in by the engine): a coin purchase
	// counts toward them.
	MoneyIn func(ctx context.Context, tx *ent.Tx, orgID, field, what string, amount int64) error
}
