// Package creditnotes holds credit notes: an issued invoice's
// amount taken back, in part or in whole, its VAT with it, and the money
// given back where it came from — off what is still due, refunded to the
// payments that paid it, back to the coins and the free credits that paid
// it — with the customer told. A credit note of a business's invoice
// is an amended tax invoice (billing/documents).
package creditnotes

import (
	"log/slog"

	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/payments"
)

// Service owns credit notes on one database.
type Service struct {
	domain.Base
	// Payments refunds what the note gives back to a payment.
	Payments *payments.Service
	// Log receives the refunds that could not be sent (none when nil).
	Log *slog.Logger
}
