package store

import (
	"context"
	"database/sql/driver"
)

// maxPrepared bounds the statements kept prepared on one connection. ent
// writes a small, fixed set of statement texts (IN lists vary with their
// length, hence the bound); texts beyond it run unprepared.
const maxPrepared = 400

// preparing is a driver.Connector that keeps the statements a connection
// runs prepared on it. PostgreSQL then parses and plans each statement text
// once per connection instead of on every execution, which is a large part
// of a short read's cost (the dashboard runs a handful of them per request,
// thousands of times a second). ent, database/sql and the transactions above
// are unaware of it: a connection's statements live and die with it.
type preparing struct{ driver.Connector }

func (c preparing) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &preparedConn{Conn: conn, stmts: map[string]driver.Stmt{}}, nil
}

// preparedConn is one connection with its prepared statements. database/sql
// never uses a connection from two goroutines at once, so the map needs no
// lock.
type preparedConn struct {
	driver.Conn
	stmts map[string]driver.Stmt
}

// The interfaces database/sql looks for on a connection, passed through.
var (
	_ driver.QueryerContext     = (*preparedConn)(nil)
	_ driver.ExecerContext      = (*preparedConn)(nil)
	_ driver.ConnBeginTx        = (*preparedConn)(nil)
	_ driver.ConnPrepareContext = (*preparedConn)(nil)
	_ driver.Pinger             = (*preparedConn)(nil)
	_ driver.SessionResetter    = (*preparedConn)(nil)
	_ driver.Validator          = (*preparedConn)(nil)
	_ driver.NamedValueChecker  = (*preparedConn)(nil)
)

// stmt returns the statement prepared for query, preparing it on first use;
// nil when the bound is reached.
func (c *preparedConn) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	if len(c.stmts) >= maxPrepared {
		return nil, nil
	}
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

func (c *preparedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		s, err := c.stmt(ctx, query)
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s.(driver.StmtQueryContext).QueryContext(ctx, args)
		}
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *preparedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		s, err := c.stmt(ctx, query)
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s.(driver.StmtExecContext).ExecContext(ctx, args)
		}
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *preparedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *preparedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *preparedConn) Ping(ctx context.Context) error {
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *preparedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *preparedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *preparedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *preparedConn) Close() error {
	// The statements end with the connection's session.
	return c.Conn.Close()
}
