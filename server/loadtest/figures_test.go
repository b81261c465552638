package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestFiguresJSONNames holds the names issue 17 fixed for LOADTEST_JSON
// (other tools read them): each is in the object written, with its type;
// renaming a field's JSON name fails here.
func TestFiguresJSONNames(t *testing.T) {
	numbers := []string{"typename_rps", "dashboard_rps", "dashboard_p99_ms", "dashboard_all_groups_rps",
		"dashboard_all_groups_p99_ms", "dashboard_during_ingestion_rps", "dashboard_during_ingestion_p99_ms",
		"ingestion_during_dashboards_eps", "ingestion_eps", "ingestion_hot_eps", "copy_rows_per_s",
		"month_close_s", "rss_peak_mb"}
	path := filepath.Join(t.TempDir(), "figures.json")
	f := figures{TypenameRPS: 1, DashboardRPS: 2, DashboardP99: 3, AllGroupsRPS: 4, AllGroupsP99: 5,
		DuringIngestionRPS: 6, DuringIngestionP99: 7, IngestionDuringDashboardsEPS: 8, IngestionEPS: 9,
		IngestionHotEPS: 10, CopyRowsPerS: 11, MonthCloseS: 12, RSSPeakMB: 13, Durable: true}
	if err := writeFigures(path, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, b)
	}
	for i, name := range numbers {
		v, ok := got[name].(float64)
		if !ok {
			t.Errorf("%s: missing or not a number (%v)", name, got[name])
		} else if v != float64(i+1) { // each name carries its own figure
			t.Errorf("%s = %v, want %d", name, v, i+1)
		}
	}
	if d, ok := got["durable"].(bool); !ok || !d {
		t.Errorf("durable: missing or not the boolean true (%v)", got["durable"])
	}
}

// TestRequestsNeverRepeat: in the all-groups loads, the page-size slot
// makes every request of a run (and of the mixed load after it) a body
// of its own, for as many passes as a run can make.
func TestRequestsNeverRepeat(t *testing.T) {
	bodies := [][]byte{[]byte(`{"bg":"bg_1","n":"__N__"}`), []byte(`{"bg":"bg_2","n":"__N__"}`)}
	seen := map[string]bool{}
	for _, first := range []int{0, mixedFirstPass} {
		for seq := 0; seq < 2*mixedFirstPass; seq++ {
			b := string(requestBody(bodies[seq%2], seq, 2, first))
			if seen[b] {
				t.Fatalf("request %d (first pass %d) repeats %s", seq, first, b)
			}
			seen[b] = true
		}
	}
	if got := string(requestBody(bodies[0], 2, 2, 0)); got != `{"bg":"bg_1","n":22}` {
		t.Errorf("second pass: %s", got)
	}
	plain := []byte(`{"query":"{ __typename }"}`)
	if got := string(requestBody(plain, 7, 1, 0)); got != string(plain) {
		t.Errorf("a body without the slot changed: %s", got)
	}
}
