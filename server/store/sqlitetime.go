package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// SQLite has no time type: an instant is stored as text and compared as
// text. Text compares as the instant only when every value is written in
// one zone with one width, so every time parameter that reaches SQLite is
// written here as UTC with nine fractional digits
// ("2026-12-31 20:00:00.000000000+00:00"): an instant written from a KST
// clock and one from a UTC clock then compare, sort and fall into months as
// on PostgreSQL (timestamptz). The driver reads this text back as a time
// (the column is declared DATETIME).
const sqliteTimeLayout = "2006-01-02 15:04:05.000000000-07:00"

// SQLiteTime is how an instant is stored on SQLite.
func SQLiteTime(t time.Time) string { return t.UTC().Format(sqliteTimeLayout) }

// utcConnector opens SQLite connections that store every time parameter
// with SQLiteTime, whichever statement carries it (ent's queries, raw SQL,
// migrations).
type utcConnector struct {
	dsn string
	drv driver.Driver
}

func (c utcConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return utcConn{conn}, nil
}

func (c utcConnector) Driver() driver.Driver { return c.drv }

func openSQLiteUTC(dsn string) *sql.DB {
	return sql.OpenDB(utcConnector{dsn: dsn, drv: &sqlite.Driver{}})
}

// utcConn is a SQLite connection whose time parameters are converted
// (CheckNamedValue); the rest passes through.
type utcConn struct{ driver.Conn }

var (
	_ driver.QueryerContext     = utcConn{}
	_ driver.ExecerContext      = utcConn{}
	_ driver.ConnBeginTx        = utcConn{}
	_ driver.ConnPrepareContext = utcConn{}
	_ driver.Pinger             = utcConn{}
	_ driver.SessionResetter    = utcConn{}
	_ driver.Validator          = utcConn{}
	_ driver.NamedValueChecker  = utcConn{}
)

// CheckNamedValue is where database/sql hands over every parameter of every
// statement (prepared or not) on this connection.
func (c utcConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case time.Time:
		nv.Value = SQLiteTime(v)
		return nil
	case *time.Time:
		if v != nil {
			nv.Value = SQLiteTime(*v)
			return nil
		}
	}
	return driver.ErrSkip // the default conversion
}

func (c utcConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c utcConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c utcConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c utcConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c utcConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c utcConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c utcConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// sqliteTimeVersion is the PRAGMA user_version from which every stored time
// is in SQLiteTime's form; older databases are converted once on migration.
const sqliteTimeVersion = 1

// normalizeSQLiteTimes rewrites the times an older database stored with
// their writer's offset and a varying width (or Go's time.String form) into
// SQLiteTime's form, in one transaction, once (PRAGMA user_version).
func (d *DB) normalizeSQLiteTimes(ctx context.Context) error {
	var version int
	if err := d.SQL.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version >= sqliteTimeVersion {
		return nil
	}
	cols, err := sqliteTimeColumns(ctx, d.SQL)
	if err != nil {
		return err
	}
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range cols {
		if err := normalizeColumn(ctx, tx, c[0], c[1]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", sqliteTimeVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// sqliteTimeColumns lists the (table, column) pairs declared as times.
func sqliteTimeColumns(ctx context.Context, db *sql.DB) ([][2]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var table, col, typ string
		if err := rows.Scan(&table, &col, &typ); err != nil {
			return nil, err
		}
		switch strings.ToUpper(typ) {
		case "DATETIME", "TIMESTAMP", "DATE":
			out = append(out, [2]string{table, col})
		}
	}
	return out, rows.Err()
}

func normalizeColumn(ctx context.Context, tx *sql.Tx, table, col string) error {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT rowid, CAST(%q AS TEXT) FROM %q WHERE %q IS NOT NULL`, col, table, col))
	if err != nil {
		return err
	}
	type fix struct {
		rowid int64
		value string
	}
	var fixes []fix
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return err
		}
		t, err := parseStoredTime(raw)
		if err != nil {
			rows.Close()
			return fmt.Errorf("%s.%s (rowid %d): %w", table, col, id, err)
		}
		if s := SQLiteTime(t); s != raw {
			fixes = append(fixes, fix{id, s})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %q SET %q = ? WHERE rowid = ?`, table, col), f.value, f.rowid); err != nil {
			return err
		}
	}
	return nil
}

// storedTimeLayouts are the forms the SQLite driver has written times in
// (its _time_format=sqlite, its default time.String form) and reads back;
// a form without an offset is UTC, as the driver reads it.
var storedTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseStoredTime(raw string) (time.Time, error) {
	s := raw
	if i := strings.Index(s, " m="); i > 0 { // a monotonic clock reading
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), "Z")
	for _, l := range storedTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", raw)
}
