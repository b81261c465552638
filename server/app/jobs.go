package app

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing"
)

// Engine returns the billing engine on this app's database, policy and clock.
func (a *App) Engine() *billing.Engine {
	return &billing.Engine{Client: a.DB.Client, Policy: a.Config.Policy, Clock: a.Config.Clock,
		Postgres: a.DB.Dialect == "postgres", Gateway: a.sandbox, Events: a.hub}
}

// StartScheduler runs the billing jobs every minute in the background (on
// every replica: the jobs divide work through the database and never
// duplicate it). It returns a function that stops it.
func (a *App) StartScheduler(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			res, err := a.Engine().RunJobs(ctx, a.Config.Clock.Now())
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
