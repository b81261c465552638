package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"time"

	"ariga.io/atlas/sql/postgres"
	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entschema "entgo.io/ent/dialect/sql/schema"
)

// In PostgreSQL, usage_events — the one table that grows with traffic
// rather than with customers — is partitioned by LIST of its month column
// ("2026-10", the month of occurred_at in the policy's zone): one partition
// a month (usage_events_2026_10), made ahead by the jobs (EnsureUsagePartitions),
// and a DEFAULT partition that catches a month nobody made yet, so that an
// insert never fails for want of one. A month older than the retention
// horizon whose invoices are all issued is detached and dropped in one
// statement (RetainUsagePartitions) instead of deleting its rows one by
// one; the rollups (usage_dailies, usage_months), invoices and documents
// stay. SQLite, the embedded database, keeps one table with the same
// columns and unique index (org_id, event_id, month).

const (
	usageEventsTable     = "usage_events"
	usageDefaultPart     = "usage_events_default"
	partitionLockKey     = "cloudbill: usage_events partitions"
	usageEventsPartition = "month"
)

// partitionedUsageEvents is the diff hook that states what the ent schema
// cannot: in PostgreSQL, usage_events is partitioned by month and its
// primary key holds the partition key, as PostgreSQL requires of every
// unique index of a partitioned table. The migration files are diffed
// against the ent schema with it (DiffMigrations), so TestMigrationsInSync
// sees the partitioned table as in sync.
func partitionedUsageEvents(next entschema.Differ) entschema.Differ {
	return entschema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
		if t, ok := desired.Table(usageEventsTable); ok {
			month, ok := t.Column(usageEventsPartition)
			if !ok {
				return nil, fmt.Errorf("usage_events has no %s column to partition by", usageEventsPartition)
			}
			if pk := t.PrimaryKey; pk != nil && len(pk.Parts) == 1 {
				pk.Parts = append(pk.Parts, &atlas.IndexPart{SeqNo: 1, C: month})
			}
			t.AddAttrs(&postgres.Partition{T: postgres.PartitionTypeList, Parts: []*postgres.PartitionPart{{C: month}}})
		}
		return next.Diff(current, desired)
	})
}

// diffHooks are the diff hooks of a dialect's migration files.
func diffHooks(d string) []entschema.MigrateOption {
	if d != dialect.Postgres {
		return nil
	}
	return []entschema.MigrateOption{entschema.WithDiffHook(partitionedUsageEvents)}
}

// UsagePartitionName is the partition of usage_events holding month
// ("2026-10" → usage_events_2026_10).
func UsagePartitionName(month string) string {
	return usageEventsTable + "_" + month[:4] + "_" + month[5:7]
}

var partitionNameRe = regexp.MustCompile(`^usage_events_(\d{4})_(\d{2})$`)

// UsagePartitions lists the months that have a partition of usage_events,
// in order (PostgreSQL; nil for SQLite).
func (d *DB) UsagePartitions(ctx context.Context) ([]string, error) {
	if d.Dialect != dialect.Postgres {
		return nil, nil
	}
	return usagePartitions(ctx, d.SQL)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func usagePartitions(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage_events'::regclass`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var months []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if m := partitionNameRe.FindStringSubmatch(name); m != nil {
			months = append(months, m[1]+"-"+m[2])
		}
	}
	sort.Strings(months)
	return months, rows.Err()
}

// monthOf is the month of instant t in zone loc, "2026-10".
func monthOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

// addMonths is the month n months after month m ("2026-10" + 3 → "2027-01").
func addMonths(m string, n int) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		panic(err) // months here are made by monthOf
	}
	return t.AddDate(0, n, 0).Format("2006-01")
}

// EnsureUsagePartitions makes the partitions of usage_events for the month
// of instant at (in zone loc), the month before it (still open until its
// invoices are issued) and the ahead months after it, and returns the
// months it made. A month whose events the DEFAULT partition caught meanwhile
// has them moved into its new partition in the same transaction. Safe on
// several replicas at once (one transaction-scoped advisory lock, which a
// transaction pooler keeps too). Nothing for SQLite.
func (d *DB) EnsureUsagePartitions(ctx context.Context, at time.Time, loc *time.Location, ahead int) ([]string, error) {
	if d.Dialect != dialect.Postgres {
		return nil, nil
	}
	cur := monthOf(at, loc)
	var want []string
	for n := -1; n <= ahead; n++ {
		want = append(want, addMonths(cur, n))
	}
	var made []string
	err := d.partitionTx(ctx, func(tx *sql.Tx) error {
		have, err := usagePartitions(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range want {
			if i := sort.SearchStrings(have, m); i < len(have) && have[i] == m {
				continue
			}
			if err := attachMonth(ctx, tx, m); err != nil {
				return fmt.Errorf("partition %s: %w", UsagePartitionName(m), err)
			}
			made = append(made, m)
		}
		return nil
	})
	return made, err
}

// attachMonth makes month m's partition: a table like usage_events, given
// the rows of m the DEFAULT partition holds, then attached (its indexes are
// made as it is attached).
func attachMonth(ctx context.Context, tx *sql.Tx, m string) error {
	name := UsagePartitionName(m)
	for _, stmt := range []string{
		// No batch may add rows of m to the DEFAULT partition between the
		// move and the attach (which would then refuse them): a batch
		// writing there waits the instant this takes; one writing to the
		// other partitions goes on.
		fmt.Sprintf(`LOCK TABLE %q IN ACCESS EXCLUSIVE MODE`, usageDefaultPart),
		fmt.Sprintf(`CREATE TABLE %q (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`, name),
		fmt.Sprintf(`WITH moved AS (DELETE FROM %q WHERE month = '%s' RETURNING *) INSERT INTO %q SELECT * FROM moved`,
			usageDefaultPart, m, name),
		fmt.Sprintf(`ALTER TABLE usage_events ATTACH PARTITION %q FOR VALUES IN ('%s')`, name, m),
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// RetainUsagePartitions drops the raw usage events of the months more than
// horizon months before the month of instant at (in zone loc) whose every
// billing group with usage has its invoice issued: their partitions
// are detached and dropped, and the DEFAULT partition's rows of those
// months deleted. The daily and monthly rollups, the invoices and their
// documents stay, and an event of a dropped month sent again is still
// refused, its month being invoiced. A month with an invoice still
// missing is kept, and returned in waiting. horizon 0 keeps everything.
func (d *DB) RetainUsagePartitions(ctx context.Context, at time.Time, loc *time.Location, horizon int) (dropped, waiting []string, err error) {
	if d.Dialect != dialect.Postgres || horizon <= 0 {
		return nil, nil, nil
	}
	oldest := addMonths(monthOf(at, loc), -horizon) // the oldest month kept
	err = d.partitionTx(ctx, func(tx *sql.Tx) error {
		have, err := usagePartitions(ctx, tx)
		if err != nil {
			return err
		}
		// The months before the horizon: partitioned ones and those the
		// DEFAULT partition caught.
		months := map[string]bool{}
		for _, m := range have {
			if m < oldest {
				months[m] = true
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT month FROM `+usageDefaultPart+` WHERE month < $1`, oldest)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return err
			}
			months[m] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		sorted := make([]string, 0, len(months))
		for m := range months {
			sorted = append(sorted, m)
		}
		sort.Strings(sorted)
		for _, m := range sorted {
			var missing int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM usage_months um WHERE um.month = $1
				AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.billing_group_id = um.billing_group_id AND i.month = um.month
				AND i.status <> 'VOID')`,
				m).Scan(&missing); err != nil {
				return err
			}
			if missing > 0 {
				waiting = append(waiting, m)
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+usageDefaultPart+` WHERE month = $1`, m); err != nil {
				return err
			}
			if i := sort.SearchStrings(have, m); i < len(have) && have[i] == m {
				name := UsagePartitionName(m)
				for _, stmt := range []string{
					fmt.Sprintf(`ALTER TABLE usage_events DETACH PARTITION %q`, name),
					fmt.Sprintf(`DROP TABLE %q`, name),
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return fmt.Errorf("dropping %s: %w", name, err)
					}
				}
			}
			dropped = append(dropped, m)
		}
		return nil
	})
	return dropped, waiting, err
}

// partitionTx runs fn in a transaction holding the partitions' advisory
// lock, so that replicas running the jobs together make or drop each
// partition once. ATTACH takes a SHARE UPDATE EXCLUSIVE lock on
// usage_events, which inserts and reads do not conflict with; DETACH an
// ACCESS EXCLUSIVE one (CONCURRENTLY is refused beside a DEFAULT
// partition), held for an instant once granted — but waiting for it would
// queue every insert behind the wait, so a lock not granted within 5 s
// fails the call, and the next run of the jobs tries again.
func (d *DB) partitionTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, partitionLockKey); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
