package app

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/notify"
)

// Engine returns the billing engine on this app's database, policy and clock.
func (a *App) Engine() *billing.Engine {
	return &billing.Engine{Client: a.DB.Client, Policy: a.Config.Policy, Clock: a.Config.Clock,
		Postgres: a.DB.Dialect == "postgres", Gateway: a.sandbox, Events: a.hub}
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
			start := time.Now()
			res, err := a.Engine().RunJobs(ctx, a.Config.Clock.Now())
			if err == nil {
				_, err = a.throttle().Purge(ctx) // login and sign-up counts nobody remembers
			}
			a.metrics.observeJob("billing", start, err)
			if err != nil && ctx.Err() == nil {
				a.Log.Error("billing jobs", "err", err)
			} else if res != (billing.JobResult{}) {
				a.Log.Info("billing jobs", "issued", res.Issued, "charged", res.Charged, "failed", res.Failed,
					"outstanding", res.Outstanding, "late_fees", res.LateFees, "expired", res.Expired)
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
