// Package domain holds what every domain service of billing runs on: one
// database, the billing policy and the clock. Each service embeds a Base,
// so the engine hands the same four things to all of them in one value.
package domain

import (
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/ent"
)

// Base is a domain service's database, policy and clock.
type Base struct {
	Client *ent.Client
	Policy calendar.Policy
	Clock  calendar.Clock
	// Postgres enables row locks (SELECT … FOR UPDATE) and advisory
	// locks; SQLite serialises writers through one connection instead.
	Postgres bool
}
