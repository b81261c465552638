package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// pageSizeSlot stands in a request body for the page size of credits in
// the all-groups loads: each pass over the requests puts its own there
// (passPageSize), so no request of a run repeats an earlier one.
const pageSizeSlot = "__N__"

// passPageSize is the page size of the pass'th pass: 21, 22, … 100, then
// again (only a run of more than 80 passes, with a tiny -groups, repeats).
func passPageSize(pass int) int { return 21 + pass%80 }

// requestBody is body with the slot filled for the seq'th request of a
// sequence over n bodies whose first pass is firstPass.
func requestBody(body []byte, seq, n, firstPass int) []byte {
	slot := []byte(strconv.Quote(pageSizeSlot))
	if !bytes.Contains(body, slot) {
		return body
	}
	return bytes.ReplaceAll(body, slot, []byte(strconv.Itoa(passPageSize(firstPass+seq/n))))
}

// cpuSplit says where the machine's CPU went during a load: the server,
// PostgreSQL's processes, and this process (the load generator), in cores.
type cpuSplit struct{ server, postgres, loadgen float64 }

func (c cpuSplit) String() string {
	return fmt.Sprintf("server %.2f, PostgreSQL %.2f, load generator %.2f cores", c.server, c.postgres, c.loadgen)
}

// serverPID is the server under load, for cpuSplit; profiledPID the one
// whose pprof endpoint LOADTEST_PPROF_ADDR is.
var serverPID, profiledPID int

// cpuTicks sums utime+stime of the server, the postgres processes and the
// load generator (this process, and wrk as an exited child) from /proc
// (Linux only; zero elsewhere).
func cpuTicks() (server, pg, self float64) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := 0
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		f := strings.Fields(s[close+2:])
		if len(f) < 13 {
			continue
		}
		var ut, st, cut, cst float64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		fmt.Sscan(f[13], &cut) // children waited for: wrk, once it has exited
		fmt.Sscan(f[14], &cst)
		t := (ut + st) / 100 // USER_HZ
		if pid == os.Getpid() {
			t += (cut + cst) / 100
		}
		switch {
		case pid == serverPID:
			server += t
		case pid == os.Getpid():
			self += t
		case s[open+1:close] == "postgres":
			pg += t
		}
	}
	return
}

// profile starts a CPU profile of the server (LOADTEST_PPROF_ADDR and
// LOADTEST_PROFILE_DIR set), written to name.pprof when stop is called.
func profile(name string, seconds int) (stop func()) {
	pp, dir := os.Getenv("LOADTEST_PPROF_ADDR"), os.Getenv("LOADTEST_PROFILE_DIR")
	if pp == "" || dir == "" || seconds < 1 || serverPID != profiledPID {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pp, seconds))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		if f, err := os.Create(filepath.Join(dir, name+".pprof")); err == nil {
			f.ReadFrom(resp.Body)
			f.Close()
		}
		// Allocations so far (cumulative), for go tool pprof -sample_index=alloc_space.
		if resp, err := http.Get("http://" + pp + "/debug/pprof/allocs"); err == nil {
			if f, err := os.Create(filepath.Join(dir, name+"-allocs.pprof")); err == nil {
				f.ReadFrom(resp.Body)
				f.Close()
			}
			resp.Body.Close()
		}
	}()
	return func() { <-done }
}

// loadResult is what a load measured: requests a second, latencies (ms)
// and the share of HTTP successes.
type loadResult struct {
	Throughput, P50, P99, Success float64
	Tool                          string
}

// attack drives the server at its maximal rate with clients concurrent
// connections for dur, cycling through bodies (body i with bearer i mod
// len(bearer)): with wrk when it is installed (a C load generator leaves
// the shared CPU to the server; apt-get install wrk), else with vegeta in
// this process (LOADTEST_TOOL=vegeta forces it).
func attack(base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) loadResult {
	return attackFrom(0, base, bodies, bearer, dur, clients, name)
}

// attackFrom is attack with the page-size slots of its first pass over
// bodies filled with firstPass's (a later load over the same bodies
// starts past the passes of an earlier one, so it repeats none of them).
func attackFrom(firstPass int, base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) loadResult {
	s0, p0, l0 := cpuTicks()
	t0 := time.Now()
	stopProfile := profile(name, int(dur.Seconds())-2)
	defer func() {
		stopProfile()
		s1, p1, l1 := cpuTicks()
		el := time.Since(t0).Seconds()
		fmt.Printf("  %s CPU: %s\n", name, cpuSplit{(s1 - s0) / el, (p1 - p0) / el, (l1 - l0) / el})
	}()
	if wrk, err := exec.LookPath("wrk"); err == nil && os.Getenv("LOADTEST_TOOL") != "vegeta" {
		if r, err := attackWrk(wrk, firstPass, base, bodies, bearer, dur, clients); err == nil {
			return r
		} else {
			fmt.Fprintln(os.Stderr, "wrk:", err, "— using vegeta")
		}
	}
	m := attackVegeta(firstPass, base, bodies, bearer, dur, clients, name)
	return loadResult{Throughput: m.Throughput, P50: ms(m.Latencies.P50), P99: ms(m.Latencies.P99), Success: m.Success, Tool: "vegeta"}
}

// wrkScript: wrk's threads share one sequence of requests (thread t of T
// sends requests t, t+T, t+2T, …), so a pass over the bodies asks each
// once, and a body's page-size slot is filled with its pass's
// (passPageSize, the same in Go and here).
const wrkScript = `
local tokens, bodies, slotted = {}, {}, {}
for line in io.lines(os.getenv("LOADTEST_REQUESTS")) do
  local tab = line:find("\t")
  tokens[#tokens + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
  slotted[#bodies] = bodies[#bodies]:find('"__N__"', 1, true) ~= nil
end
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
  thread:set("nthreads", tonumber(os.getenv("LOADTEST_THREADS")))
end
local first = tonumber(os.getenv("LOADTEST_FIRST_PASS"))
local i = 0
request = function()
  local seq = i * nthreads + tid
  i = i + 1
  local k = (seq % #bodies) + 1
  local body = bodies[k]
  if slotted[k] then
    body = (body:gsub('"__N__"', tostring(21 + (first + math.floor(seq / #bodies)) % 80)))
  end
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[k]}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
`

func attackWrk(wrk string, firstPass int, base string, bodies [][]byte, bearer []string, dur time.Duration, clients int) (loadResult, error) {
	dir, err := os.MkdirTemp("", "cloudbill-wrk-")
	if err != nil {
		return loadResult{}, err
	}
	defer os.RemoveAll(dir)
	var reqs strings.Builder
	for i, b := range bodies {
		reqs.WriteString(bearer[i%len(bearer)] + "\t" + string(b) + "\n")
	}
	script, requests := filepath.Join(dir, "load.lua"), filepath.Join(dir, "requests.tsv")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return loadResult{}, err
	}
	if err := os.WriteFile(requests, []byte(reqs.String()), 0o600); err != nil {
		return loadResult{}, err
	}
	const threads = 2
	cmd := exec.Command(wrk, fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", clients), fmt.Sprintf("-d%ds", int(dur.Seconds())), "-s", script, base)
	cmd.Env = append(os.Environ(), "LOADTEST_REQUESTS="+requests, fmt.Sprintf("LOADTEST_THREADS=%d", threads),
		fmt.Sprintf("LOADTEST_FIRST_PASS=%d", firstPass))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("%v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var n, us, p50, p99, errs, non2xx int64
		if _, err := fmt.Sscanf(line, "WRKRESULT %d %d %d %d %d %d", &n, &us, &p50, &p99, &errs, &non2xx); err == nil && n > 0 {
			return loadResult{Throughput: float64(n) / (float64(us) / 1e6), P50: float64(p50) / 1000, P99: float64(p99) / 1000,
				Success: float64(n-errs-non2xx) / float64(n), Tool: "wrk"}, nil
		}
	}
	return loadResult{}, fmt.Errorf("no result in wrk's output: %s", out)
}

func attackVegeta(firstPass int, base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) vegeta.Metrics {
	var i atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		seq := int(i.Add(1)) - 1
		k := seq % len(bodies)
		t.Method, t.URL, t.Body = "POST", base+"/graphql", requestBody(bodies[k], seq, len(bodies), firstPass)
		t.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + bearer[k%len(bearer)]}}
		return nil
	}
	// Bodies are drained, not kept: the load generator shares the CPU with
	// the server. checkOnce reads whole answers before and after.
	a := vegeta.NewAttacker(vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)), vegeta.KeepAlive(true),
		vegeta.Connections(clients*2), vegeta.MaxBody(0))
	var m vegeta.Metrics
	perSecond := map[int]*vegeta.Metrics{}
	start := time.Now()
	for res := range a.Attack(targeter, vegeta.Rate{Freq: 0}, dur, name) {
		m.Add(res)
		if os.Getenv("LOADTEST_TRACE") != "" {
			sec := int(res.Timestamp.Sub(start).Seconds())
			if perSecond[sec] == nil {
				perSecond[sec] = &vegeta.Metrics{}
			}
			perSecond[sec].Add(res)
		}
	}
	m.Close()
	for sec := 0; sec < len(perSecond); sec++ {
		if ps := perSecond[sec]; ps != nil {
			ps.Close()
			fmt.Printf("    %s second %2d: %5.0f req/s, p50 %5.1f ms, p99 %6.1f ms, max %6.1f ms\n", name, sec, float64(ps.Requests), ms(ps.Latencies.P50), ms(ps.Latencies.P99), ms(ps.Latencies.Max))
		}
	}
	return m
}
