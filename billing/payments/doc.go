// Package payments holds how money moves through a payment method
// (R-33..R-46, R-50..R-53): registering and changing methods, the money-in
// limits, reserving a payment over a group's unpaid invoices, charging the
// gateway outside any transaction, settling its answer exactly once,
// deposits into virtual accounts, and the cash receipts a settled payment
// gets. Coins pay before any method (billing/coins); a paid credit's
// purchase opens its credit (billing/credits).
package payments

import (
	"github.com/cloudbill/cloudbill/billing/coins"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/gateway"
)

// Service owns payments and payment methods on one database.
type Service struct {
	domain.Base
	// Gateway charges payment methods (the sandbox when nil).
	Gateway gateway.Gateway
	// Events receives payment status changes (none when nil).
	Events Broker
	// Credits and Coins are what a settled payment may buy.
	Credits *credits.Service
	Coins   *coins.Service
}
