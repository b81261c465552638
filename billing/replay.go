package billing

import (
	"context"
	"sync"
	"time"

	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
)

// Replaying the calendar (R-41..R-44). A run of the billing jobs at instant
// at does not only what is due at at: it first runs, in order, the steps of
// every instant one fell due at since the last run (each automatic payment
// day, then the day invoices turn outstanding, then the month a late fee
// is charged…), so that a run far ahead of the last one skips nothing —
// no invoice turns outstanding before its automatic payment days were run.
// How far the calendar has run is kept in the database (job_cursors), for
// every replica. A run at an instant no later than that does nothing new:
// what was due then has been done, and doing it now would date it before
// what was done after it.

// billingJobs names the billing jobs' cursor.
const billingJobs = "billing"

// MaxReplayYears bounds how much calendar one run replays; a longer catch-up
// is run in steps.
const MaxReplayYears = 5

// runAttempts bounds how often RunJobs runs again a run that lost its
// database connection (a pooled connection the server had closed): every
// step is idempotent and the cursor moves only past what was done.
const runAttempts = 5

// RunJobs runs the billing calendar up to instant at; the scheduler,
// runBillingJobs(at) and `server jobs --at` all call it.
func (e *Engine) RunJobs(ctx context.Context, at time.Time) (JobResult, error) {
	defer e.lockLocal()()
	res := JobResult{RanThrough: at}
	var err error
	for attempt := 0; attempt < runAttempts; attempt++ {
		if err = e.runJobs(ctx, at, &res); !kernel.ConnectionLost(err) || ctx.Err() != nil {
			break
		}
	}
	return res, err
}

// runJobs is one attempt of RunJobs, adding to res.
func (e *Engine) runJobs(ctx context.Context, at time.Time, res *JobResult) error {
	last, err := e.ranThrough(ctx)
	if err != nil {
		return err
	}
	if last != nil && !at.After(*last) {
		res.RanThrough = *last
		return nil
	}
	from, since := last, "the billing jobs last ran at"
	if from == nil {
		// The first run on this database: the calendar starts when the
		// first billing group was created, so that every step due since
		// is run (a database whose jobs never ran, or that was upgraded
		// from a version without job_cursors).
		if from, err = e.calendarOrigin(ctx); err != nil {
			return err
		}
		since = "the first billing group was created at"
		if from != nil && !from.Before(at) {
			from = nil
		}
	}
	instants := []time.Time{at}
	var prev time.Time
	if from != nil {
		if at.After(from.AddDate(MaxReplayYears, 0, 0)) {
			return kernel.FieldError("at", "%s %s: run the billing jobs at most %d years further at once",
				since, from.Format(time.RFC3339), MaxReplayYears)
		}
		instants = append(e.Policy.JobInstants(*from, at), at)
		prev = e.Policy.PhaseOf(*from)
	}
	for _, s := range instants {
		phase := e.Policy.PhaseOf(s)
		if !prev.IsZero() && !phase.Equal(prev) {
			// Nothing of a later phase starts while another replica
			// still runs steps of an earlier one.
			if err := e.barrier(ctx, prev); err != nil {
				return err
			}
		}
		if err := e.inPhase(ctx, phase, func() error { return e.runAt(ctx, s, res) }); err != nil {
			return err
		}
		if err := e.advanceCursor(ctx, s); err != nil {
			return err
		}
		res.Steps++
		prev = phase
	}
	return nil
}

// localJobs serialises RunJobs per database within this process. SQLite
// has no advisory lock to do it. On PostgreSQL the replicas share the
// calendar through advisory locks, but one process gains nothing by running
// it twice at once. Each run holds a pooled connection (inPhase) while its
// steps need others, and concurrent runs of one process could fill the pool
// between them and wait for each other's connections, unseen by
// PostgreSQL's deadlock detector, until the statement timeout.
var localJobs sync.Map // *ent.Client → *sync.Mutex

func (e *Engine) lockLocal() func() {
	mu, _ := localJobs.LoadOrStore(e.Client, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

func phaseLock(phase time.Time) string {
	return "billing-jobs:" + phase.UTC().Format(time.RFC3339)
}

// inPhase runs fn holding the shared side of phase's advisory lock
// (PostgreSQL): every replica running steps of the phase holds it.
func (e *Engine) inPhase(ctx context.Context, phase time.Time, fn func() error) error {
	if !e.Postgres {
		return fn()
	}
	tx, err := e.Client.Tx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() // releases the lock; fn wrote through other connections
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock_shared(hashtext($1))", phaseLock(phase)); err != nil {
		return err
	}
	return fn()
}

// barrier waits until no replica runs steps of phase any more: its
// exclusive side is granted once every shared holder has released it.
func (e *Engine) barrier(ctx context.Context, phase time.Time) error {
	if !e.Postgres {
		return nil
	}
	return kernel.WithTx(ctx, e.Client, func(tx *ent.Tx) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", phaseLock(phase))
		return err
	})
}

// ranThrough is the instant the billing jobs last ran at (nil: never).
func (e *Engine) ranThrough(ctx context.Context) (*time.Time, error) {
	c, err := e.Client.JobCursor.Get(ctx, billingJobs)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c.RanThrough, nil
}

// calendarOrigin is where the calendar of a database whose jobs never ran
// starts: the creation of its first billing group, before which nothing
// can be billed (nil: there is none yet, nothing to replay).
func (e *Engine) calendarOrigin(ctx context.Context) (*time.Time, error) {
	bg, err := e.Client.BillingGroup.Query().Order(ent.Asc(billinggroup.FieldCreatedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &bg.CreatedAt, nil
}

// advanceCursor records that the calendar has run through at, never moving
// it back (replicas advance it concurrently).
func (e *Engine) advanceCursor(ctx context.Context, at time.Time) error {
	q := `INSERT INTO job_cursors (id, ran_through) VALUES (?, ?) ON CONFLICT (id) DO UPDATE
		SET ran_through = excluded.ran_through WHERE job_cursors.ran_through < excluded.ran_through`
	if e.Postgres {
		q = `INSERT INTO job_cursors (id, ran_through) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE
		SET ran_through = excluded.ran_through WHERE job_cursors.ran_through < excluded.ran_through`
	}
	_, err := e.Client.ExecContext(ctx, q, billingJobs, at)
	return err
}
