package app

import (
	"context"
	"errors"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/notify"
)

// Engine returns the billing engine on this app's database, policy and clock.
func (a *App) Engine() *billing.Engine {
	return &billing.Engine{Client: a.DB.Client, Policy: a.Config.Policy, Clock: a.Config.Clock,
		Postgres: a.DB.Dialect == "postgres", Gateway: a.sandbox, Events: a.hub, Log: a.Log, Catalog: a.catalog, Terms: a.terms,
		IngestGate: a.ingestGate}
}

// RunJobs runs the billing calendar up to instant at — what the scheduler,
// runBillingJobs(at) and `server jobs --at` do. In production an instant
// ahead of the server's clock is refused: the calendar is replayed only
// up to now. Each failure of a step for one billing group, invoice,
// payment or credit is counted in /metrics (the engine logs it and records
// it for the next runs to retry).
func (a *App) RunJobs(ctx context.Context, at time.Time) (billing.JobResult, error) {
	if now := a.Config.Clock.Now(); a.Config.Production && at.After(now) {
		return billing.JobResult{RanThrough: now}, kernel.FieldError("at",
			"%s is ahead of the server's clock (%s): in production the billing jobs run only at instants that have come",
			at.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	start := time.Now()
	res, err := a.Engine().RunJobs(ctx, at)
	a.metrics.observeJob("billing", start, err)
	a.maintainUsagePartitions(ctx, at)
	for _, f := range res.Failures {
		a.metrics.jobFailures.WithLabelValues(f.Step).Inc()
	}
	var be *kernel.Error
	switch {
	case err != nil && ctx.Err() == nil && !errors.As(err, &be):
		a.Log.Error("billing jobs", "at", at, "err", err)
	case err == nil && (res.Issued+res.Charged+res.Failed+res.Outstanding+res.LateFees+res.Expired > 0 || len(res.Failures) > 0 || res.Steps > 1):
		a.Log.Info("billing jobs", "at", at, "steps", res.Steps, "issued", res.Issued, "charged", res.Charged, "failed", res.Failed,
			"outstanding", res.Outstanding, "late_fees", res.LateFees, "expired", res.Expired, "step_failures", len(res.Failures))
	}
	return res, err
}

// usagePartitionsAhead is how many months ahead of the current one
// usage_events' partitions are made: a quarter of runs failing in a row
// would still leave the next month's ready.
const usagePartitionsAhead = 3

// maintainUsagePartitions makes usage_events' partitions of the months
// around instant at and drops those past the retention horizon whose
// invoices are issued (PostgreSQL; server/store/partitions.go). A failure
// is logged and counted, and the next run tries again: the DEFAULT
// partition takes a month's events meanwhile.
func (a *App) maintainUsagePartitions(ctx context.Context, at time.Time) {
	start := time.Now()
	loc := a.Config.Policy.Location()
	made, err := a.DB.EnsureUsagePartitions(ctx, at, loc, usagePartitionsAhead)
	if err == nil {
		var dropped, waiting []string
		dropped, waiting, err = a.DB.RetainUsagePartitions(ctx, at, loc, a.Config.UsageRetentionMonths)
		if len(dropped) > 0 || len(waiting) > 0 {
			a.Log.Info("usage retention", "dropped_months", dropped, "months_waiting_for_invoices", waiting)
		}
	}
	a.metrics.observeJob("usage_partitions", start, err)
	if len(made) > 0 {
		a.Log.Info("usage partitions made", "months", made)
	}
	if err != nil && ctx.Err() == nil {
		a.Log.Error("usage partitions", "err", err)
	}
}

// Outbox delivers notifications: email over SMTP when configured (else to
// the log), SMS to the log, webhooks to CLOUDBILL_WEBHOOK_URL.
func (a *App) Outbox() *notify.Outbox {
	o := &notify.Outbox{Client: a.DB.Client, Clock: a.Config.Clock, Email: notify.LogSender{Log: a.Log},
		SMS: notify.LogSender{Log: a.Log}, WebhookURL: a.Config.WebhookURL, Secret: []byte(a.Config.WebhookSecret)}
	if a.Config.SMTPAddr != "" {
		o.Email = notify.SMTPSender{Addr: a.Config.SMTPAddr, From: a.Config.SMTPFrom}
	}
	if len(o.Secret) == 0 {
		o.Secret = append([]byte("webhooks:"), a.Config.JWTSecret...)
	}
	return o
}

// StartScheduler runs the billing jobs every minute in the background (on
// every replica: the jobs divide work through the database and never
// duplicate it). It returns a function that stops it.
func (a *App) StartScheduler(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		// The outbox drains every few seconds, beside the minute jobs.
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			start := time.Now()
			_, err := a.Outbox().Deliver(ctx, 100)
			a.metrics.observeJob("outbox", start, err)
			if err != nil && ctx.Err() == nil {
				a.Log.Error("outbox", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			if _, err := a.RunJobs(ctx, a.Config.Clock.Now()); err == nil {
				// Login and sign-up counts nobody remembers.
				if _, err := a.throttle().Purge(ctx); err != nil && ctx.Err() == nil {
					a.Log.Error("purging the sign-in throttle", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
