package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/server/store"
)

// monthClose issues October's invoices on two replicas at once (separate
// connection pools), as two servers' schedulers would.
func (r *runner) monthClose() error {
	fmt.Println("\nmonth close (two replicas at once):")
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, calendar.NCPPolicy().Location())
	var peak atomic.Uint64
	done := make(chan struct{})
	go sampleHeap(&peak, done)
	stopProfile := profileClose(os.Getenv("LOADTEST_CLOSE_PROFILE"))
	defer stopProfile() // the early return below; stopping twice is harmless
	_, pg0, self0 := cpuTicks()
	t0 := time.Now()
	var wg sync.WaitGroup
	issued := make([]int, 2)
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		rep, err := store.OpenDB(r.dbURL, "")
		if err != nil {
			close(done)
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer rep.Close()
			e := &billing.Engine{Client: rep.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: true, Catalog: catalog.NewCache()}
			issued[i], errs[i] = e.IssueInvoices(r.ctx, at)
		}(i)
	}
	wg.Wait()
	close(done)
	closeTime := time.Since(t0)
	stopProfile()
	// The two replicas run in this process: its CPU is theirs.
	_, pg1, self1 := cpuTicks()
	fmt.Printf("  month close CPU: PostgreSQL %.2f, the two replicas %.2f cores\n",
		(pg1-pg0)/closeTime.Seconds(), (self1-self0)/closeTime.Seconds())
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var invoices, lines int
	r.st.SQL.QueryRow("SELECT count(*) FROM invoices").Scan(&invoices)
	r.st.SQL.QueryRow("SELECT count(*) FROM invoice_lines").Scan(&lines)
	r.fig.MonthCloseS = closeTime.Seconds()
	report("month close", "≤ 15 s for 10,000 groups × 20 lines (was ≤ 30 s)", "%.1f s for %d invoices, %d lines (%0.f invoices/s); replicas issued %d + %d; peak Go heap %d MiB",
		closeTime.Seconds(), invoices, lines, float64(invoices)/closeTime.Seconds(), issued[0], issued[1], peak.Load()>>20)
	if invoices != r.cfg.groups {
		return fmt.Errorf("%d invoices for %d groups", invoices, r.cfg.groups)
	}
	return nil
}

func sampleHeap(peak *atomic.Uint64, done chan struct{}) {
	var m runtime.MemStats
	for {
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// profileClose starts a CPU profile of this process into file (none when
// file is ""): the month close runs here, in its two replicas
// (LOADTEST_PPROF_ADDR profiles the server, which takes no part). stop
// ends it and reports what went wrong.
func profileClose(file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	out, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: month close profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: month close profile:", err)
		out.Close()
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			if err := out.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: month close profile:", err)
			}
		})
	}
}
