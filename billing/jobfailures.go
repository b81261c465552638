package billing

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/jobfailure"
)

// The steps of the billing jobs, in the order a run takes them; job
// failures and metrics name them.
const (
	StepIssue        = "issue"         // a billing group's month
	StepCoins        = "coins"         // a billing group's unpaid invoices paid with coins
	StepReconcile    = "reconcile"     // a PENDING payment
	StepAutoPay      = "autopay"       // an invoice's automatic payment of a day
	StepOutstanding  = "outstanding"   // an invoice turning outstanding
	StepLateFee      = "late_fee"      // an outstanding invoice's late fees
	StepTaxInvoice   = "tax_invoice"   // a business's tax invoice
	StepExpiry       = "expiry"        // a credit's expiry
	StepExpiryNotice = "expiry_notice" // a credit ending within a week told
)

// JobFailure is a step of the billing jobs that failed for one subject —
// a billing group's month, an invoice, a payment, a credit — while the
// step went on with the others. It is recorded (job_failures), logged,
// counted in /metrics, and retried by later runs until it succeeds.
type JobFailure struct {
	Step           string
	OrgID          string
	BillingGroupID string
	SubjectID      string    // the billing group, invoice, payment or credit
	Month          string    // the month concerned, when there is one
	Key            string    // tells attempts apart: the month issued, the day of an automatic payment
	Error          string    // what went wrong
	Attempts       int       // runs it has failed in so far
	At             time.Time // the calendar instant of the failing run
}

type failureKey struct{ step, subject, key string }

func (f JobFailure) key() failureKey { return failureKey{f.Step, f.SubjectID, f.Key} }

// StepFailures is the error of a step run on its own (IssueInvoices,
// AutoPay) that failed for some subjects; the others were done. RunJobs
// reports failures in its result instead.
type StepFailures []JobFailure

func (fs StepFailures) Error() string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s of %s (%s %s): %s", f.Step, f.SubjectID, f.BillingGroupID, f.Month, f.Error)
	}
	return fmt.Sprintf("%d billing job step(s) failed: %s", len(fs), strings.Join(parts, "; "))
}

// jobRun is one run of the billing jobs' steps at one calendar instant.
// Every write of a step is dated by that instant (or by the instant its
// rule took effect), never by the wall clock.
type jobRun struct {
	e   *Engine
	at  time.Time
	res *JobResult
	mu  sync.Mutex // issuing workers report concurrently
	// open are the failures not yet resolved when the run began, by key:
	// their subjects are retried, and resolved when they succeed.
	open map[failureKey]*ent.JobFailure
}

func (e *Engine) newJobRun(ctx context.Context, at time.Time, res *JobResult) (*jobRun, error) {
	open, err := e.Client.JobFailure.Query().Where(jobfailure.ResolvedAtIsNil()).
		Order(ent.Asc(jobfailure.FieldFirstFailedAt), ent.Asc(jobfailure.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	r := &jobRun{e: e, at: at, res: res, open: map[failureKey]*ent.JobFailure{}}
	for _, f := range open {
		r.open[failureKey{f.Step, f.SubjectID, f.Key}] = f
	}
	return r, nil
}

// retries lists the unresolved failures of a step, oldest first.
func (r *jobRun) retries(step string) []*ent.JobFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*ent.JobFailure
	for _, f := range r.open {
		if f.Step == step {
			out = append(out, f)
		}
	}
	sortFailures(out)
	return out
}

// failing reports whether a step is failing for a subject (any key).
func (r *jobRun) failing(step, subject string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.open {
		if k.step == step && k.subject == subject {
			return true
		}
	}
	return false
}

// isolate runs one subject's work of a step. A failure is recorded and
// reported, and the step goes on with its other subjects; only a cancelled
// run, a lost database connection, or a failure that cannot even be
// recorded stops it. A success resolves the subject's earlier failure.
func (r *jobRun) isolate(ctx context.Context, f JobFailure, work func() error) error {
	err := guard(work)
	if err == nil {
		return r.resolve(ctx, f.key())
	}
	if ctx.Err() != nil || kernel.ConnectionLost(err) {
		return err // not this subject's fault: the run stops (RunJobs runs it again)
	}
	f.Error, f.At = clipError(err.Error()), r.at
	row, rerr := r.e.recordFailure(ctx, f)
	if rerr != nil {
		return fmt.Errorf("%s of %s: %w (recording the failure: %v)", f.Step, f.SubjectID, err, rerr)
	}
	f.Attempts = row.Attempts
	r.e.log().Error("billing job step failed; the others go on, it is retried on the next run",
		"step", f.Step, "billing_group", f.BillingGroupID, "subject", f.SubjectID, "month", f.Month, "key", f.Key,
		"attempts", f.Attempts, "at", r.at, "err", f.Error)
	r.mu.Lock()
	r.res.Failures = append(r.res.Failures, f)
	r.open[f.key()] = row // the later steps of this run see it failing
	r.mu.Unlock()
	return nil
}

// guard runs work, turning a panic (bad data a rule did not foresee) into
// the subject's error rather than the end of the run, or of the server.
func guard(work func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return work()
}

func (r *jobRun) resolve(ctx context.Context, k failureKey) error {
	r.mu.Lock()
	f := r.open[k]
	delete(r.open, k)
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	return r.e.Client.JobFailure.Update().Where(jobfailure.ID(f.ID), jobfailure.ResolvedAtIsNil()).
		SetResolvedAt(r.at).Exec(ctx)
}

// stepErr is what a step run on its own returns: its failures, if any.
func (r *jobRun) stepErr(err error, step string) error {
	if err != nil {
		return err
	}
	var fs StepFailures
	for _, f := range r.res.Failures {
		if f.Step == step {
			fs = append(fs, f)
		}
	}
	if len(fs) > 0 {
		return fs
	}
	return nil
}

// recordFailure writes a failure, or counts one more attempt of a failure
// already recorded (reopening it if it had been resolved).
func (e *Engine) recordFailure(ctx context.Context, f JobFailure) (*ent.JobFailure, error) {
	id, err := e.Client.JobFailure.Create().SetOrgID(f.OrgID).SetStep(f.Step).SetBillingGroupID(f.BillingGroupID).
		SetSubjectID(f.SubjectID).SetMonth(f.Month).SetKey(f.Key).SetError(f.Error).SetAttempts(1).
		SetFirstFailedAt(f.At).SetLastFailedAt(f.At).
		OnConflictColumns(jobfailure.FieldStep, jobfailure.FieldSubjectID, jobfailure.FieldKey).
		Update(func(u *ent.JobFailureUpsert) {
			u.SetError(f.Error).AddAttempts(1).SetLastFailedAt(f.At).ClearResolvedAt()
		}).ID(ctx)
	if err != nil {
		return nil, err
	}
	return e.Client.JobFailure.Get(ctx, id)
}

// FailingGroups counts the billing groups a job step is failing for now
// (the alert of /metrics).
func (e *Engine) FailingGroups(ctx context.Context) (int, error) {
	ids, err := e.Client.JobFailure.Query().Where(jobfailure.ResolvedAtIsNil()).
		Unique(true).Select(jobfailure.FieldBillingGroupID).Strings(ctx)
	return len(ids), err
}

func clipError(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

func sortFailures(fs []*ent.JobFailure) {
	sort.Slice(fs, func(i, j int) bool {
		if !fs[i].FirstFailedAt.Equal(fs[j].FirstFailedAt) {
			return fs[i].FirstFailedAt.Before(fs[j].FirstFailedAt)
		}
		return fs[i].ID < fs[j].ID
	})
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}
