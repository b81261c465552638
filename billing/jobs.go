package billing

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/couponguess"
)

// JobResult counts what one run of the billing jobs did.
type JobResult struct {
	Issued, Charged, Failed, Outstanding, LateFees, Expired int
}

// Engine runs the billing calendar against the database.
type Engine struct {
	Client *ent.Client
	Policy Policy
	Clock  Clock
	// Postgres enables row locks (SELECT … FOR UPDATE); SQLite serialises
	// writers through one connection instead.
	Postgres bool
	// Gateway charges payment methods (the sandbox when nil).
	Gateway Gateway
	// Events receives payment status changes (none when nil).
	Events Broker
}

// RunJobs runs every job due at instant at: invoice issue, then the
// later steps of the calendar. Every job is idempotent and safe to run on
// several replicas at once; the scheduler and runBillingJobs(at) both call it.
func (e *Engine) RunJobs(ctx context.Context, at time.Time) (JobResult, error) {
	var res JobResult
	var err error
	if res.Issued, err = e.IssueInvoices(ctx, at); err != nil {
		return res, err
	}
	// Coins bought since an invoice was issued pay it before any method is
	// charged, an invoice becomes outstanding or a late fee accrues.
	if _, err = e.PayWithCoins(ctx); err != nil {
		return res, err
	}
	if _, err = e.Reconcile(ctx, at); err != nil {
		return res, err
	}
	if res.Charged, res.Failed, err = e.AutoPay(ctx, at); err != nil {
		return res, err
	}
	if res.Outstanding, err = e.MarkOutstanding(ctx, at); err != nil {
		return res, err
	}
	if res.LateFees, err = e.ChargeLateFees(ctx, at); err != nil {
		return res, err
	}
	if _, err = e.IssueTaxInvoices(ctx, at); err != nil {
		return res, err
	}
	if res.Expired, err = e.ExpireCredits(ctx, at); err != nil {
		return res, err
	}
	// Wrong coupon codes a day old count no more (a caller who comes back
	// clears its own; this clears those who never did).
	_, err = e.Client.CouponGuess.Delete().Where(couponguess.AtLT(at.Add(-24 * time.Hour))).Exec(ctx)
	return res, err
}
