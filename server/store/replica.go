package store

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/migrate"
)

// Read replicas (CLOUDBILL_DATABASE_REPLICA_URL). A read-only GraphQL query
// of an organization reads from a PostgreSQL streaming replica only once
// that replica has replayed the organization's revisions the request read
// from the primary when it resolved its caller: every write to the tables
// an organization's views show moves organizations.revision at commit
// (revision.go), every usage write moves usage_revision, and the primary
// commits a later revision after an earlier one, so a replica whose copy of
// the organization's row carries revisions at least as high has replayed
// every write of that organization the caller can have seen. Otherwise —
// lagging, paused, unreachable — the primary answers. No state is kept
// between requests, so this holds across requests, replicas of the
// database and replicas of the server alike.
//
// Only statements that read nothing but those tables go to a replica
// (replicaSafe): the audit log, API tokens, invitations, the catalog
// (services, regions, prices, coupons, promotions) and bookkeeping are not
// covered by the revisions, so their reads stay on the primary.

// revisionCovered are the tables whose every change moves the revision or
// the usage revision of the organization the row belongs to.
var revisionCovered = func() map[string]bool {
	m := map[string]bool{"organizations": true}
	for t := range ent.RevisionCovered { // e.g. usage tables: usage_revision
		m[t] = true
	}
	for _, t := range revisionTables {
		m[t] = true
	}
	return m
}()

// allTables are the tables of the schema.
var allTables = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range migrate.Tables {
		m[t.Name] = true
	}
	return m
}()

// replicaSafe reports whether query reads only covered tables: every word
// of its text that names a table of the schema names a covered one. A
// column that shares an uncovered table's name only sends the statement to
// the primary; a table unknown to the schema sends nothing anywhere else.
func replicaSafe(query string) bool {
	safe := true
	forEachWord(query, func(w string) bool {
		if allTables[w] && !revisionCovered[w] {
			safe = false
		}
		return safe
	})
	return safe
}

// forEachWord calls f with each lower-cased identifier-like word of s until
// f returns false.
func forEachWord(s string, f func(string) bool) {
	start := -1
	for i := 0; i <= len(s); i++ {
		c := byte(0)
		if i < len(s) {
			c = s[i]
		}
		word := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if word && start < 0 {
			start = i
		}
		if !word && start >= 0 {
			if !f(strings.ToLower(s[start:i])) {
				return
			}
			start = -1
		}
	}
}

// replica is one streaming replica.
type replica struct {
	url string
	db  *stdsql.DB
	drv *entsql.Driver
	// downUntil: after a connection failure the replica is left alone for
	// a while (UnixNano), so requests do not each wait on a dead server.
	downUntil  atomic.Int64
	statements atomic.Int64
}

// replicaDownFor is how long a replica that failed to answer is skipped.
const replicaDownFor = 5 * time.Second

// replicaCheckTimeout bounds the revision check on a replica: a replica
// slower than that costs the request this much, once, then the primary.
const replicaCheckTimeout = 2 * time.Second

type replicaSet struct {
	list []*replica
	next atomic.Uint64 // round robin
}

// UseReplicas makes read-only queries of organizations read from these
// streaming replicas (PostgreSQL URLs) when they have caught up
// (WithReplicaReads).
func (d *DB) UseReplicas(urls []string) error {
	if d.Dialect != dialect.Postgres {
		return errors.New("read replicas need PostgreSQL (DATABASE_URL)")
	}
	set := &replicaSet{}
	for _, u := range urls {
		u = withOption(u, "connect_timeout", "2")
		connector, err := pq.NewConnector(withSessionOptions(u))
		if err != nil {
			return fmt.Errorf("replica URL: %w", err)
		}
		db := stdsql.OpenDB(d.connector(connector))
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		set.list = append(set.list, &replica{url: u, db: db, drv: entsql.OpenDB(dialect.Postgres, db)})
	}
	if old := d.router.replicas.Swap(set); old != nil {
		old.close()
	}
	return nil
}

func (s *replicaSet) close() {
	for _, r := range s.list {
		r.db.Close()
	}
}

// ReadStatements counts the statements each server ran for the data layer:
// the primary's, then each replica's (in the order given).
func (d *DB) ReadStatements() (primary int64, replicas []int64) {
	if s := d.router.replicas.Load(); s != nil {
		for _, r := range s.list {
			replicas = append(replicas, r.statements.Load())
		}
	}
	return d.router.statements.Load(), replicas
}

// readChoice is where one request reads: decided at its first read.
type readChoice struct {
	org           string
	rev, usageRev int64
	once          sync.Once
	replica       *replica // nil: the primary
	primaryPinned atomic.Bool
}

type readChoiceKey struct{}

// WithReplicaReads lets the reads under ctx come from a replica that has
// replayed the organization's revisions as the request read them from the
// primary. Only for read-only operations: a write under ctx (Exec or a
// transaction) sends the rest of it to the primary.
func WithReplicaReads(ctx context.Context, orgID string, revision, usageRevision int64) context.Context {
	return context.WithValue(ctx, readChoiceKey{}, &readChoice{org: orgID, rev: revision, usageRev: usageRevision})
}

// OnPrimary makes the reads under ctx go to the primary.
func OnPrimary(ctx context.Context) context.Context {
	if ctx.Value(readChoiceKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, readChoiceKey{}, (*readChoice)(nil))
}

// router is the data layer's driver: writes and transactions on the
// primary, reads where the request's readChoice says.
type router struct {
	primary    *entsql.Driver
	replicas   atomic.Pointer[replicaSet]
	statements atomic.Int64 // run on the primary
}

func (r *router) Dialect() string { return r.primary.Dialect() }

func (r *router) Close() error {
	if s := r.replicas.Load(); s != nil {
		s.close()
	}
	return r.primary.Close()
}

// reader returns the replica to run query on, or nil for the primary.
func (r *router) reader(ctx context.Context, query string) *replica {
	c, _ := ctx.Value(readChoiceKey{}).(*readChoice)
	if c == nil || c.primaryPinned.Load() {
		return nil
	}
	set := r.replicas.Load()
	if set == nil || len(set.list) == 0 || !replicaSafe(query) {
		return nil
	}
	c.once.Do(func() { c.replica = set.caughtUp(ctx, c) })
	return c.replica
}

// caughtUp finds a replica, round robin, that is up and has replayed the
// organization's revisions; nil when none has.
func (s *replicaSet) caughtUp(ctx context.Context, c *readChoice) *replica {
	start := s.next.Add(1)
	now := time.Now().UnixNano()
	for i := range s.list {
		rep := s.list[(start+uint64(i))%uint64(len(s.list))]
		if rep.downUntil.Load() > now {
			continue
		}
		if rep.hasReplayed(ctx, c) {
			return rep
		}
	}
	return nil
}

// hasReplayed reads the replica's copy of the organization's revisions.
func (rep *replica) hasReplayed(ctx context.Context, c *readChoice) bool {
	ctx, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
	defer cancel()
	rep.statements.Add(1)
	var rev, usageRev int64
	err := rep.db.QueryRowContext(ctx, "SELECT revision, usage_revision FROM organizations WHERE id = $1", c.org).Scan(&rev, &usageRev)
	if err != nil {
		rep.failed(err)
		return false
	}
	return rev >= c.rev && usageRev >= c.usageRev
}

// failed leaves the replica alone for a while when err says it cannot be
// reached or is shutting down (not for an answer such as a missing row or
// a statement cancelled by a conflict with recovery).
func (rep *replica) failed(err error) {
	var pe *pq.Error
	if errors.Is(err, stdsql.ErrNoRows) || errors.Is(err, context.Canceled) {
		return
	}
	if errors.As(err, &pe) && pe.Code.Class() != "08" && pe.Code.Class() != "57" {
		return
	}
	rep.downUntil.Store(time.Now().Add(replicaDownFor).UnixNano())
}

// retryOnPrimary reports whether a read the replica failed is asked of the
// primary: any failure but the request's own end (a read has no effect).
func retryOnPrimary(ctx context.Context, rep *replica, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	rep.failed(err)
	return true
}

func (r *router) Query(ctx context.Context, query string, args, v any) error {
	if rep := r.reader(ctx, query); rep != nil {
		rep.statements.Add(1)
		err := rep.drv.Query(ctx, query, args, v)
		if err == nil || !retryOnPrimary(ctx, rep, err) {
			return err
		}
	}
	r.statements.Add(1)
	return r.primary.Query(ctx, query, args, v)
}

func (r *router) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	if rep := r.reader(ctx, query); rep != nil {
		rep.statements.Add(1)
		rows, err := rep.drv.QueryContext(ctx, query, args...)
		if err == nil || !retryOnPrimary(ctx, rep, err) {
			return rows, err
		}
	}
	r.statements.Add(1)
	return r.primary.QueryContext(ctx, query, args...)
}

// pin sends the rest of a request that writes to the primary: it must read
// what it wrote.
func pin(ctx context.Context) {
	if c, _ := ctx.Value(readChoiceKey{}).(*readChoice); c != nil {
		c.primaryPinned.Store(true)
	}
}

func (r *router) Exec(ctx context.Context, query string, args, v any) error {
	pin(ctx)
	r.statements.Add(1)
	return r.primary.Exec(ctx, query, args, v)
}

func (r *router) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	pin(ctx)
	r.statements.Add(1)
	return r.primary.ExecContext(ctx, query, args...)
}

func (r *router) Tx(ctx context.Context) (dialect.Tx, error) {
	pin(ctx)
	return r.primary.Tx(ctx)
}
