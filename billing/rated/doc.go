// Package rated reads a billing group's usage and terms and prices them
// with billing/rating: the I/O half of rating. The dashboards (usage
// reports, the billing trend, channel usage, fee details) and the month
// close both rate through it, so a dashboard's estimate and the
// invoice agree line for line.
//
// The dashboards read through the caches in cache.go; the month close
// passes its transaction's client and reads exactly.
package rated

import (
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/domain"
)

// Service rates billing groups' usage on one database.
type Service struct {
	domain.Base
	// Catalog keeps the catalog between ratings (loaded on every read when
	// nil).
	Catalog *catalog.Cache
	// Terms keeps groups' contracts and discounts briefly for the
	// dashboards (read on every view when nil).
	Terms *Terms
}
