package graph

import (
	"context"
	"log/slog"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/billing/documents"
	"github.com/cloudbill/cloudbill/billing/gateway"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/server/auth"
)

// Resolver carries the dependencies every resolver needs.
type Resolver struct {
	Client *ent.Client
	Tokens *auth.Tokens
	Clock  calendar.Clock
	Policy calendar.Policy
	Log    *slog.Logger
	// Postgres enables row locks in the billing engine.
	Postgres bool
	// Docs signs and serves document download URLs.
	Docs *documents.Signer
	// Guesses rate-limits wrong coupon codes per caller.
	Guesses *coupons.Guesses
	// Gateway charges payment methods; Sandbox signs its notifications.
	Gateway gateway.Gateway
	Sandbox *gateway.SandboxGateway
	// Hub carries payment updates to subscriptions.
	Hub *Hub
	// PublicURL is where this server is reached (sandbox notifications).
	PublicURL string
	// Production refuses sandbox-only operations.
	Production bool
	// Throttle holds back password guessing and mass sign-ups, across
	// replicas (nil: off, for functional tests).
	Throttle *auth.Throttle
	// RunJobs runs the billing calendar (the server's, with its rules and
	// metrics); the engine's when nil.
	RunJobs func(ctx context.Context, at time.Time) (billing.JobResult, error)
	// Catalog keeps the catalog between ratings (server/app makes one per
	// database).
	Catalog *catalog.Cache
	// Terms is the dashboards' short cache of contracts and discounts.
	Terms *rated.Terms
	// IngestGate bounds the usage batches this server records at once
	// (usage.Gate; none when nil).
	IngestGate *usage.Gate
}
