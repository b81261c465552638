package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
)

// jobs runs the billing jobs due at one instant, the same code the
// in-process scheduler and runBillingJobs(at) run.
func jobs(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	at := fs.String("at", "", "RFC 3339 instant to run the calendar at (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	when := cfg.Clock.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return errors.New("--at must be an RFC 3339 instant such as 2026-11-03T00:00:00+09:00")
		}
		when = t
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.RunJobs(ctx, when)
	if err != nil {
		return err
	}
	fmt.Printf("ranThrough=%s steps=%d issued=%d charged=%d failed=%d outstanding=%d lateFees=%d expired=%d stepFailures=%d\n",
		res.RanThrough.Format(time.RFC3339), res.Steps, res.Issued, res.Charged, res.Failed, res.Outstanding, res.LateFees, res.Expired, len(res.Failures))
	for _, f := range res.Failures {
		fmt.Printf("  %s failed for %s (billing group %s, %s %s, %d attempts): %s\n", f.Step, f.SubjectID, f.BillingGroupID, f.Month, f.Key, f.Attempts, f.Error)
	}
	return nil
}
