package main

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
	"github.com/lib/pq"
)

// durabilitySettings are the PostgreSQL settings that make a commit
// survive a crash; testenv turns them off for tests, the load script on
// again (a later -c wins) unless -durable=false.
var durabilitySettings = []string{"fsync", "synchronous_commit", "full_page_writes"}

func durabilityOptions(durable bool) string {
	v := "off"
	if durable {
		v = "on"
	}
	var set []string
	for _, s := range durabilitySettings {
		set = append(set, s+"="+v)
	}
	return pgOptions(set)
}

// pgOptions are settings ("name=value") as postgres command-line options.
func pgOptions(settings []string) string {
	var opts []string
	for _, s := range settings {
		opts = append(opts, "-c "+s)
	}
	return strings.Join(opts, " ")
}

// walSettings are how a platform runs a write-heavy PostgreSQL, without
// touching durability: WAL compressed (the full-page images written after
// each checkpoint are most of the month close's WAL) and room for 4 GB of
// it between checkpoints (the default 1 GB forces one every ~40 s of
// ingestion here, and each checkpoint starts the full-page images again).
// -wal-tuning=false runs PostgreSQL's defaults for comparison; both are
// printed and read back.
var walSettings = []string{"wal_compression=lz4", "max_wal_size=4GB"}

func walOptions(tuned bool) string {
	if !tuned {
		return ""
	}
	return pgOptions(walSettings)
}

// setup starts the throwaway cluster, migrates a database and generates
// the data set with its October usage history. stop ends the cluster.
func (r *runner) setup() (stop func(), err error) {
	if r.stats {
		testenv.ExtraOptions = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
	}
	// LOADTEST_PG_OPTIONS last: more settings for experiments, e.g.
	// "-c autovacuum=off", and they win over the durability flag.
	testenv.ExtraOptions += " " + durabilityOptions(r.cfg.durable) + " " + walOptions(r.cfg.walTuning) + " " + os.Getenv("LOADTEST_PG_OPTIONS")
	admin, stop, err := testenv.StartCluster()
	if err != nil {
		return nil, fmt.Errorf("starting PostgreSQL: %w", err)
	}
	fail := func(err error) (func(), error) { stop(); return nil, err }
	adminDB, err := sql.Open("postgres", admin)
	if err != nil {
		return fail(err)
	}
	defer adminDB.Close()
	if err := r.readDurability(adminDB); err != nil {
		return fail(err)
	}
	if _, err := adminDB.Exec("CREATE DATABASE cloudbill_load"); err != nil {
		return fail(err)
	}
	r.dbURL = strings.Replace(admin, "/postgres?", "/cloudbill_load?", 1)
	if r.st, err = store.OpenDB(r.dbURL, ""); err != nil {
		return fail(err)
	}
	if err := r.st.Migrate(r.ctx); err != nil {
		return fail(err)
	}
	if err := r.seed(); err != nil {
		return fail(err)
	}
	return stop, nil
}

// readDurability reads the settings back from the running server: the
// label the output and the JSON carry is what PostgreSQL runs with.
func (r *runner) readDurability(db *sql.DB) error {
	values, shown, err := showSettings(db, durabilitySettings)
	if err != nil {
		return err
	}
	r.fig.Durable = !slices.ContainsFunc(values, func(v string) bool { return v != "on" })
	label := "durable"
	if !r.fig.Durable {
		label = "NOT durable: a commit may be lost in a crash (for comparison only)"
	}
	r.durability = shown + " (" + label + ")"
	fmt.Println("PostgreSQL:", r.durability)
	if _, r.walTuning, err = showSettings(db, []string{"wal_compression", "max_wal_size", "shared_buffers"}); err != nil {
		return err
	}
	fmt.Println("PostgreSQL WAL and memory:", r.walTuning)
	return nil
}

// showSettings reads settings back from the running server: their values,
// and "name=value, …" as printed.
func showSettings(db *sql.DB, names []string) (values []string, shown string, err error) {
	var pairs []string
	for _, s := range names {
		var v string
		if err := db.QueryRow("SHOW " + s).Scan(&v); err != nil {
			return nil, "", err
		}
		values = append(values, v)
		pairs = append(pairs, s+"="+v)
	}
	return values, strings.Join(pairs, ", "), nil
}

// seed generates the data set and October's usage events.
func (r *runner) seed() error {
	fmt.Println("generating the data set…")
	t0 := time.Now()
	oct := calendar.Month{Year: 2026, Month: 10}
	var err error
	r.orgs, err = dataset.Seed(r.ctx, r.st.Client, dataset.Options{Groups: r.cfg.groups, Month: oct, Credits: 2})
	if err != nil {
		return err
	}
	fmt.Printf("  %d organizations, %d groups × 20 priced lines, 2 credits each, in %s\n", len(r.orgs), r.cfg.groups, time.Since(t0).Round(time.Second))
	// usage_events' monthly partitions, as the jobs make them (October's
	// history, November's usage and the months ahead of the quiet day).
	if _, err := r.st.EnsureUsagePartitions(r.ctx, oct.Start(kst), kst, 3); err != nil {
		return err
	}
	t0 = time.Now()
	if err := seedEventHistory(r.dbURL, r.orgs, r.cfg.history, oct); err != nil {
		return fmt.Errorf("usage event history: %w", err)
	}
	fmt.Printf("  %d October usage events in usage_events (%d a group), copied and vacuumed in %s\n",
		r.cfg.history*r.cfg.groups, r.cfg.history, time.Since(t0).Round(time.Second))
	return nil
}

// catchUp leaves the database as a running platform's after the month
// close: November so far used, the calendar caught up to the quiet day
// (tax invoices of October, the notices of 10,000 invoices sent), so the
// loads measure the steady state, not a backlog of jobs beside them; and
// vacuumed and analysed as autovacuum would have left it.
func (r *runner) catchUp() error {
	// November so far: what the dashboards show as current usage.
	oct := calendar.Month{Year: 2026, Month: 10}
	if err := dataset.MonthToDate(r.ctx, r.st.Client, r.orgs, oct.Next(), quietDay.Day()-1, 0); err != nil {
		return err
	}
	t0 := time.Now()
	eng := &billing.Engine{Client: r.st.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(quietDay), Postgres: true, Catalog: catalog.NewCache()}
	if _, err := eng.RunJobs(r.ctx, quietDay); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob := &notify.Outbox{Client: r.st.Client, Clock: calendar.NewFixedClock(quietDay), Email: notify.LogSender{Log: quiet}, SMS: notify.LogSender{Log: quiet}}
	for {
		n, err := ob.Deliver(r.ctx, 1000)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	fmt.Printf("  jobs and outbox caught up to %s in %s\n", quietDay.Format("2006-01-02 15:04"), time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if _, err := r.st.SQL.ExecContext(r.ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	fmt.Printf("  VACUUM ANALYZE in %s\n", time.Since(t0).Round(time.Millisecond))
	return explainQueries(r.st.SQL, r.orgs)
}

// kst is the policy's zone: the month of a usage event is its instant's there.
var kst = calendar.NCPPolicy().Location()

// usageEventColumns are the columns both COPYs of usage events write, in
// the order their rows give them.
var usageEventColumns = []string{"id", "org_id", "created_at", "event_id", "billing_group_id",
	"service_code", "region_code", "channel", "metric", "quantity_micros", "occurred_at", "month"}

// seedEventHistory copies perGroup events of month m for every group into
// usage_events, as a month of partners' usage leaves them, and vacuums the
// table as a running platform's older rows would be. The ingestion load
// then inserts into a table and indexes of a working size: into an empty
// table, autovacuum would vacuum it at every 20% of growth, all through the
// load (about a fifth of ingestion's throughput), which a platform with a
// month of usage does not see.
func seedEventHistory(url string, orgs []dataset.Org, perGroup int, m calendar.Month) error {
	if perGroup <= 0 {
		return nil
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(pq.CopyIn("usage_events", usageEventColumns...))
	if err != nil {
		return err
	}
	start := m.Start(time.UTC)
	hours := m.Days() * 24
	for _, o := range orgs {
		for gi, g := range o.Groups {
			var ids []string
			xid.AppendNew("use", perGroup, func(id []byte) { ids = append(ids, string(id)) })
			for k, id := range ids {
				at := start.Add(time.Duration(k*hours/perGroup) * time.Hour)
				if _, err := stmt.Exec(id, o.ID, at, fmt.Sprintf("hist-%d-%d", gi, k), g, fmt.Sprintf("ld-svc-%02d", k%10),
					[]string{"ld-a", "ld-b"}[k/10%2], "", "unit", int64(1_500_000), at, at.In(kst).Format("2006-01")); err != nil {
					return err
				}
			}
		}
	}
	if _, err := stmt.Exec(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.Exec("VACUUM (ANALYZE) usage_events")
	return err
}
