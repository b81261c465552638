package billing

import (
	"context"
	"log/slog"
	"time"

	"github.com/cloudbill/cloudbill/billing/budgets"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/coins"
	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/domain"
	"github.com/cloudbill/cloudbill/billing/gateway"
	"github.com/cloudbill/cloudbill/billing/payments"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/billing/topics"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/couponguess"
)

// JobResult counts what a run of the billing jobs did.
type JobResult struct {
	Issued, Charged, Failed, Outstanding, LateFees, Expired int
	// CoinsPaid counts the billing groups whose invoices coins paid,
	// TaxInvoices the tax invoices issued, Reconciled the payments settled
	// by asking the gateway.
	CoinsPaid, TaxInvoices, Reconciled int
	// RanThrough is the instant the calendar has run through: the run's
	// instant, or a later one an earlier run reached (a run at an earlier
	// instant does nothing new).
	RanThrough time.Time
	// Steps counts the calendar instants run, in order: each instant a step
	// fell due since the last run, then the run's own.
	Steps int
	// Failures are the subjects a step failed for; the others went on.
	Failures []JobFailure
}

// Engine runs the billing calendar against the database.
type Engine struct {
	Client *ent.Client
	Policy calendar.Policy
	Clock  calendar.Clock
	// Postgres enables row locks (SELECT … FOR UPDATE); SQLite serialises
	// writers through one connection instead.
	Postgres bool
	// Gateway charges payment methods (the sandbox when nil).
	Gateway gateway.Gateway
	// Events receives payment status changes (none when nil).
	Events payments.Broker
	// Log receives the failures of job steps (none when nil).
	Log *slog.Logger
	// Catalog keeps the catalog between ratings (loaded on every read when
	// nil): one per database, shared by the server's engines.
	Catalog *catalog.Cache
	// Terms keeps groups' contracts and discounts briefly for the
	// dashboards (none when nil): one per database, like Catalog.
	Terms *rated.Terms
	// IngestGate bounds the usage batches this server records at once
	// (usage.Gate; none when nil): one per server, shared by its engines.
	IngestGate *usage.Gate
}

// base is what the engine hands every domain service: its database,
// policy and clock.
func (e *Engine) base() domain.Base {
	return domain.Base{Client: e.Client, Policy: e.Policy, Clock: e.Clock, Postgres: e.Postgres}
}

// Rated is the rating of usage on the engine's database, for the
// dashboards and the month close alike.
func (e *Engine) Rated() *rated.Service {
	return &rated.Service{Base: e.base(), Catalog: e.Catalog, Terms: e.Terms}
}

// Credits is the credits' service on the engine's database; paid credits'
// sales count toward the money-in limits.
func (e *Engine) Credits() *credits.Service {
	return &credits.Service{Base: e.base(), MoneyIn: e.limits().CheckMoneyIn}
}

// Coupons is the coupons' and discounts' service on the engine's
// database.
func (e *Engine) Coupons() *coupons.Service {
	return &coupons.Service{Base: e.base(), Credits: e.Credits(), Terms: e.Terms}
}

// Coins is the coins' service on the engine's database; coin purchases
// count toward the money-in limits.
func (e *Engine) Coins() *coins.Service {
	return &coins.Service{Base: e.base(), MoneyIn: e.limits().CheckMoneyIn}
}

// Payments is the payments' service on the engine's database: its
// gateway, its broker, and the credits and coins a payment may buy.
func (e *Engine) Payments() *payments.Service {
	return &payments.Service{Base: e.base(),
		Gateway: e.Gateway, Events: e.Events, Credits: e.Credits(), Coins: e.Coins()}
}

// limits is the money-in limits alone, which credits and coins check
// (payments builds on them).
func (e *Engine) limits() *payments.Service {
	return &payments.Service{Base: e.base()}
}

// CreditNotes is the credit notes' service on the engine's database.
func (e *Engine) CreditNotes() *creditnotes.Service {
	return &creditnotes.Service{Base: e.base(),
		Payments: e.Payments(), Log: e.Log}
}

// Ingestion is the usage service on the engine's database, telling the
// budget alerts of each batch it records.
func (e *Engine) Ingestion() *usage.Service {
	return &usage.Service{Base: e.base(), Catalog: e.Catalog, Gate: e.IngestGate,
		Recorded: e.Budgets().CheckBudgets}
}

// Budgets is the budget alerts' service on the engine's database:
// it rates the month so far with the engine, as the dashboards do, and
// queues its notices through the engine's outbox.
func (e *Engine) Budgets() *budgets.Service {
	return &budgets.Service{Base: e.base(),
		Spent: func(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, day int) (int64, error) {
			rep, err := e.Rated().UsageThrough(ctx, bg, m, day, "")
			if err != nil {
				return 0, err
			}
			return rep.Estimated, nil
		},
		Notify: topics.Notify, Log: e.Log}
}

// runAt runs every step of the billing jobs due at instant at, in the
// calendar's order: invoice issue, coins, reconciliation
// automatic payment, outstanding amounts, late fees
// tax invoices, credit expiry, credits ending within
// a week told. Each step does its
// subjects (billing groups, invoices, payments, credits) one by one: one
// that fails is recorded and retried by later runs while the others go on
// (jobfailures.go). Every step is idempotent and safe on several replicas
// at once.
func (e *Engine) runAt(ctx context.Context, at time.Time, res *JobResult) error {
	r, err := e.newJobRun(ctx, at, res)
	if err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{
		r.issueInvoices, r.payWithCoins, r.reconcile, r.autoPay, r.markOutstanding,
		r.chargeLateFees, r.issueTaxInvoices, r.expireCredits, r.noticeExpiringCredits,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	// Wrong coupon codes a day old count no more (a caller who comes back
	// clears its own; this clears those who never did).
	_, err = e.Client.CouponGuess.Delete().Where(couponguess.AtLT(at.Add(-24 * time.Hour))).Exec(ctx)
	return err
}

// runStep runs one step at instant at on its own (not through RunJobs):
// the subjects it failed for are its error (StepFailures), after it did
// the others.
func (e *Engine) runStep(ctx context.Context, at time.Time, step string, fn func(*jobRun, context.Context) error) (JobResult, error) {
	var res JobResult
	r, err := e.newJobRun(ctx, at, &res)
	if err != nil {
		return res, err
	}
	return res, r.stepErr(fn(r, ctx), step)
}
