package app

import (
	"context"
	"regexp"
	"sync"
	"time"

	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudbill/cloudbill/server/auth"
)

// Metrics are served at /metrics in the Prometheus format.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	jobs     *prometheus.CounterVec
	jobTime  *prometheus.HistogramVec
	// jobFailures counts the failures of a billing job step for one
	// subject (a billing group's month, an invoice, a payment, a credit).
	jobFailures *prometheus.CounterVec
	// anonymous counts anonymous callers' mutations, which the audit log
	// does not store (graph.Audit).
	anonymous *prometheus.CounterVec

	mu    sync.Mutex
	names map[string]bool
}

func newMetrics(a *App) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), names: map[string]bool{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudbill_graphql_requests_total",
		Help: "GraphQL operations by operation name."}, []string{"operation"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudbill_graphql_request_duration_seconds",
		Help: "GraphQL operation latency by operation name.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
		[]string{"operation"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudbill_graphql_errors_total",
		Help: "GraphQL errors by extensions.code."}, []string{"code"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudbill_job_runs_total",
		Help: "Billing job runs by outcome."}, []string{"job", "outcome"})
	m.jobTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudbill_job_duration_seconds",
		Help: "Billing job run durations."}, []string{"job"})
	m.jobFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudbill_billing_job_failures_total",
		Help: "Failures of a billing job step for one billing group, invoice, payment or credit (the others went on), by step."}, []string{"step"})
	m.anonymous = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudbill_anonymous_mutations_total",
		Help: "Mutations by callers without credentials (not in the audit log), by action and outcome."}, []string{"action", "outcome"})
	m.reg.MustRegister(m.requests, m.latency, m.errors, m.jobs, m.jobTime, m.jobFailures, m.anonymous,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(appCollectors(a)...)
	return m
}

// appCollectors reads the app's own state when scraped: statements run,
// the caches, password hashing, websockets, and what the database says of
// failing jobs and the outbox.
func appCollectors(a *App) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudbill_sql_statements_total",
			Help: "SQL statements run through the data layer."}, func() float64 { return float64(a.DB.Statements.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudbill_sql_replica_statements_total",
			Help: "SQL statements run on read replicas (revision checks included)."}, func() float64 {
			_, reps := a.DB.ReadStatements()
			var n int64
			for _, r := range reps {
				n += r
			}
			return float64(n)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudbill_response_cache_hits_total",
			Help: "Cacheable queries answered from the response cache."}, func() float64 {
			if rc := a.responses.Load(); rc != nil {
				return float64(rc.Hits.Load())
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudbill_response_cache_misses_total",
			Help: "Cacheable queries executed (and then cached)."}, func() float64 {
			if rc := a.responses.Load(); rc != nil {
				return float64(rc.Misses.Load())
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudbill_view_cache_rows",
			Help: "Rows held by the view cache (bounded by CLOUDBILL_VIEW_CACHE_ROWS)."}, func() float64 {
			rows, _ := a.views.Size()
			return float64(rows)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudbill_view_cache_organizations",
			Help: "Organizations the view cache holds views of."}, func() float64 {
			_, orgs := a.views.Size()
			return float64(orgs)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudbill_password_hashing_backlog",
			Help: "Password hashes waiting for their turn (bounded by CLOUDBILL_PASSWORD_HASHERS at once)."}, func() float64 {
			return float64(auth.HashingBacklog())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudbill_password_hashing_peak",
			Help: "The most password hashes that ran at once since the start (never above CLOUDBILL_PASSWORD_HASHERS)."}, func() float64 {
			return float64(auth.HashingPeak())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudbill_websockets_open",
			Help: "Open websockets (bounded by CLOUDBILL_MAX_SOCKETS)."}, func() float64 {
			return float64(a.sockets.Count())
		}),
		dbGauge("cloudbill_billing_groups_failing",
			"Billing groups a billing job step is failing for now (recorded in job_failures, retried by every run): alert when above 0.",
			func(ctx context.Context) (int, error) { return a.Engine().FailingGroups(ctx) }),
		dbGauge("cloudbill_outbox_depth",
			"Notifications and webhooks not yet delivered.",
			func(ctx context.Context) (int, error) { return a.Outbox().Depth(ctx) }),
		dbGauge("cloudbill_outbox_failed",
			"Notifications and webhooks given up on (one that can never be sent, or failing 30 times): alert when it grows; each keeps its last error.",
			func(ctx context.Context) (int, error) { return a.Outbox().Failed(ctx) }),
	}
}

// dbGauge reports what count answers when scraped (within a second; -1
// when it cannot).
func dbGauge(name, help string, count func(context.Context) (int, error)) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := count(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

var opNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// operation bounds label cardinality: client-chosen names are kept for the
// first 200 distinct ones, the rest count as "other".
func (m *Metrics) operation(name string) string {
	if name == "" {
		return "anonymous"
	}
	if !opNameRe.MatchString(name) {
		return "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.names[name] {
		if len(m.names) >= 200 {
			return "other"
		}
		m.names[name] = true
	}
	return name
}

// Extension measures GraphQL operations.
func (m *Metrics) Extension() graphql.HandlerExtension { return metricsExt{m} }

type metricsExt struct{ m *Metrics }

func (metricsExt) ExtensionName() string                   { return "Metrics" }
func (metricsExt) Validate(graphql.ExecutableSchema) error { return nil }

func (x metricsExt) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	name := ""
	if graphql.HasOperationContext(ctx) {
		name = graphql.GetOperationContext(ctx).OperationName
	}
	op := x.m.operation(name)
	x.m.requests.WithLabelValues(op).Inc()
	x.m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			if code == "" {
				code = "UNKNOWN"
			}
			x.m.errors.WithLabelValues(code).Inc()
		}
	}
	return resp
}

// anonymousMutation counts a mutation by a caller without credentials.
// Both labels are bounded: actions by the schema, outcomes by the codes.
func (m *Metrics) anonymousMutation(action, outcome string) {
	m.anonymous.WithLabelValues(action, outcome).Inc()
}

// observeJob records a job run.
func (m *Metrics) observeJob(job string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.jobs.WithLabelValues(job, outcome).Inc()
	m.jobTime.WithLabelValues(job).Observe(time.Since(start).Seconds())
}
