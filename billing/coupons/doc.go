// Package coupons holds coupons and discounts: operators
// create coupons, customers redeem them for a credit or a discount on an
// open month, and wrong codes are counted (Guesses) so nobody can guess
// them; discounts take a percentage off a billing group's month.
package coupons

import (
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/rated"
)

// Service owns coupons and discounts on one database.
type Service struct {
	domain.Base
	// Credits opens the credit a coupon gives.
	Credits *credits.Service
	// Terms is the dashboards' cache of discounts, dropped for a group
	// whose discounts change.
	Terms *rated.Terms
}
