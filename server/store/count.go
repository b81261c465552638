package store

import (
	"context"
	stdsql "database/sql"
	"sync"
	"sync/atomic"

	"entgo.io/ent/dialect"
)

// Counting wraps an ent driver and counts every SQL statement: into the
// request's counter when its context carries one (tests assert statements
// per GraphQL request with it), and into Total (the metrics).
type Counting struct {
	dialect.Driver
	Total *atomic.Int64
}

type counterKey struct{}

// WithStatementCounter returns a context that counts the statements run
// under it, and the counter.
func WithStatementCounter(ctx context.Context) (context.Context, *atomic.Int64) {
	if c, ok := ctx.Value(counterKey{}).(*atomic.Int64); ok {
		return ctx, c
	}
	c := new(atomic.Int64)
	return context.WithValue(ctx, counterKey{}, c), c
}

func (c Counting) count(ctx context.Context) {
	c.Total.Add(1)
	if n, ok := ctx.Value(counterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

type logKey struct{}

// StatementLog records the statements run under ctx (for tests that show
// which statements a request runs).
type StatementLog struct {
	mu  sync.Mutex
	SQL []string
}

// WithStatementLog returns a context whose statements are recorded.
func WithStatementLog(ctx context.Context) (context.Context, *StatementLog) {
	l := &StatementLog{}
	return context.WithValue(ctx, logKey{}, l), l
}

func record(ctx context.Context, q string) {
	if l, ok := ctx.Value(logKey{}).(*StatementLog); ok {
		l.mu.Lock()
		l.SQL = append(l.SQL, q)
		l.mu.Unlock()
	}
}

func (c Counting) Exec(ctx context.Context, query string, args, v any) error {
	c.count(ctx)
	record(ctx, query)
	return c.Driver.Exec(ctx, query, args, v)
}

func (c Counting) Query(ctx context.Context, query string, args, v any) error {
	c.count(ctx)
	record(ctx, query)
	return c.Driver.Query(ctx, query, args, v)
}

func (c Counting) Tx(ctx context.Context) (dialect.Tx, error) {
	c.count(ctx) // BEGIN
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return countingTx{Tx: tx, c: c, ctx: ctx}, nil
}

type countingTx struct {
	dialect.Tx
	c   Counting
	ctx context.Context
}

func (t countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.c.count(ctx)
	record(ctx, query)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.c.count(ctx)
	record(ctx, query)
	return t.Tx.Query(ctx, query, args, v)
}

func (t countingTx) Commit() error {
	t.c.count(t.ctx)
	return t.Tx.Commit()
}

// The ent "sql/execquery" feature reaches for these on the driver and on
// transactions (usage ingestion uses them); pass them through, counted.

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

func (c Counting) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	c.count(ctx)
	record(ctx, query)
	return c.Driver.(execQuerier).ExecContext(ctx, query, args...)
}

func (c Counting) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	c.count(ctx)
	record(ctx, query)
	return c.Driver.(execQuerier).QueryContext(ctx, query, args...)
}

func (t countingTx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	t.c.count(ctx)
	record(ctx, query)
	return t.Tx.(execQuerier).ExecContext(ctx, query, args...)
}

func (t countingTx) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	t.c.count(ctx)
	record(ctx, query)
	return t.Tx.(execQuerier).QueryContext(ctx, query, args...)
}
