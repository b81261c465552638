package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// figures are the script's headline numbers, written as one JSON object
// with LOADTEST_JSON=FILE. The names of the fields are fixed
// (other tools read them; TestFiguresJSONNames holds them): add fields
// around them, never rename one.
type figures struct {
	TypenameRPS                  float64 `json:"typename_rps"`
	DashboardRPS                 float64 `json:"dashboard_rps"`
	DashboardP99                 float64 `json:"dashboard_p99_ms"`
	AllGroupsRPS                 float64 `json:"dashboard_all_groups_rps"`
	AllGroupsP99                 float64 `json:"dashboard_all_groups_p99_ms"`
	DuringIngestionRPS           float64 `json:"dashboard_during_ingestion_rps"`
	DuringIngestionP99           float64 `json:"dashboard_during_ingestion_p99_ms"`
	IngestionDuringDashboardsEPS float64 `json:"ingestion_during_dashboards_eps"`
	IngestionEPS                 float64 `json:"ingestion_eps"`
	IngestionHotEPS              float64 `json:"ingestion_hot_eps"`
	CopyRowsPerS                 float64 `json:"copy_rows_per_s"`
	MonthCloseS                  float64 `json:"month_close_s"`
	RSSPeakMB                    float64 `json:"rss_peak_mb"`
	Durable                      bool    `json:"durable"`

	// More, under names of their own.
	AllGroupsCacheHits float64 `json:"dashboard_all_groups_response_cache_hits"`
	MixedTargetEPS     float64 `json:"ingestion_during_dashboards_target_eps"`
	MixedPaceEPS       float64 `json:"ingestion_during_dashboards_pace_eps"`
	Groups             int     `json:"groups"`
	LoadSeconds        float64 `json:"load_duration_s"`
	Clients            int     `json:"clients"`
	CPUs               int     `json:"cpu_cores"`
	Tool               string  `json:"load_tool"`
	ElapsedS           float64 `json:"elapsed_s"`
}

// writeFigures writes f to path as one JSON object.
func writeFigures(path string, f figures) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// footprint: start to ready on the embedded default, once built.
func (r *runner) footprint() error {
	fmt.Println("\nfootprint:")
	sqliteDir, err := os.MkdirTemp("", "cloudbill-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(sqliteDir)
	addr := freeAddr()
	env := append(os.Environ(), "CLOUDBILL_DATA_DIR="+sqliteDir, "CLOUDBILL_ADDR="+addr, "DATABASE_URL=", "CLOUDBILL_DEMO=0", "CLOUDBILL_LOG_LEVEL=warn")
	for _, what := range []string{"fresh data dir, migrations", "existing data dir"} {
		t0 := time.Now()
		s := exec.Command(r.bin)
		s.Env = env
		if err := s.Start(); err != nil {
			return err
		}
		err := waitReady("http://"+addr, 30*time.Second)
		took := time.Since(t0)
		s.Process.Kill()
		s.Wait()
		if err != nil {
			return err
		}
		report("start to ready, embedded SQLite ("+what+")", "≤ 1 s", "%d ms", took.Milliseconds())
	}
	return nil
}

// summary prints the table of every figure and writes the JSON.
func (r *runner) summary(elapsed time.Duration) error {
	r.notePeak(r.srv.Process.Pid)
	report("server RSS peak over the whole run", "≤ 150 MB throughout", "%d MB (the highest VmHWM of the servers started)", r.rssPeak)
	report("PostgreSQL durability", "durable (issue 17)", "%s", r.durability)
	report("PostgreSQL WAL and memory", "(reported)", "%s", r.walTuning)
	fmt.Println("\nsummary (target → measured):")
	for _, row := range results {
		fmt.Printf("| %s | %s | %s |\n", row.what, row.target, row.got)
	}
	fmt.Printf("\nthe whole run took %s\n", elapsed.Round(time.Second))
	if r.cfg.jsonPath == "" {
		return nil
	}
	f := r.fig
	f.RSSPeakMB = float64(r.rssPeak)
	f.MixedTargetEPS, f.MixedPaceEPS = mixedTargetEPS, float64(r.cfg.mixedRate)
	f.Groups, f.LoadSeconds, f.Clients = r.cfg.groups, r.cfg.dur.Seconds(), r.cfg.clients
	f.CPUs, f.Tool, f.ElapsedS = runtime.NumCPU(), r.tool, elapsed.Seconds()
	if err := writeFigures(r.cfg.jsonPath, f); err != nil {
		return fmt.Errorf("LOADTEST_JSON: %w", err)
	}
	fmt.Println("figures written to", r.cfg.jsonPath)
	return nil
}
