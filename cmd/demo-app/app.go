package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// durationBuckets resolve latencies between 50 ms and 500 ms to 50 ms, around the seed's 350 ms
// p95 threshold, and still place fast (few ms) and very slow (seconds) requests.
var durationBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.75, 1, 1.5, 2.5, 5,
}

// behaviour is what a demo-app process does with each request.
type behaviour struct {
	// ErrorRate is the fraction of requests answered 500, in [0, 1].
	ErrorRate float64
	// BaseLatency is the delay of a healthy request.
	BaseLatency time.Duration
	// Latency is added to BaseLatency.
	Latency time.Duration
	// Jitter stretches each delay by up to this fraction, in [0, 1].
	Jitter float64
}

func (b behaviour) validate() error {
	switch {
	case b.ErrorRate < 0 || b.ErrorRate > 1:
		return fmt.Errorf("--error-rate must be within [0, 1], got %v", b.ErrorRate)
	case b.BaseLatency < 0:
		return fmt.Errorf("--base-latency must not be negative, got %v", b.BaseLatency)
	case b.Latency < 0:
		return fmt.Errorf("--latency must not be negative, got %v", b.Latency)
	case b.Jitter < 0 || b.Jitter > 1:
		return fmt.Errorf("--jitter must be within [0, 1], got %v", b.Jitter)
	}
	return nil
}

// app serves the application paths and its metrics.
type app struct {
	behaviour behaviour
	// identity is echoed in every answer (X-Demo-App and X-Demo-Revision headers and the body).
	name, revision string

	served   atomic.Uint64
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	registry *prometheus.Registry
	// sleep waits for d; tests replace it.
	sleep func(d time.Duration)
	// rand returns a number in [0, 1); tests replace it.
	rand func() float64
}

func newApp(name, revision string, b behaviour) *app {
	reg := prometheus.NewRegistry()
	a := &app{
		behaviour: b,
		name:      name,
		revision:  revision,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by method and status code.",
		}, []string{"method", "status", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and status code.",
			Buckets: durationBuckets,
		}, []string{"method", "status"}),
		registry: reg,
		sleep:    time.Sleep,
		rand:     rand.Float64,
	}
	reg.MustRegister(a.requests, a.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Export every request series the app can produce at 0 from the start, as Prometheus's
	// instrumentation guidelines advise: rate() and increase() count a series from its second
	// sample, so a series born at the first error would hide that error from every query.
	for _, status := range servedStatuses {
		code := strconv.Itoa(status)
		a.requests.WithLabelValues(servedMethod, code, code)
	}
	return a
}

// servedMethod and servedStatuses are the labels of the request series exported at 0 from the
// start: the method the e2e data plane sends unless a route's match names another, and every
// status serve answers.
const servedMethod = http.MethodGet

var servedStatuses = []int{http.StatusOK, http.StatusInternalServerError}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /livez", ok)
	mux.HandleFunc("/", a.serve)
	return mux
}

// isError tells whether the n-th request (0-based) is answered with an error: the n-th request
// fails when it carries the count of errors due, floor((n+1)*rate), past floor(n*rate).
func isError(n uint64, rate float64) bool {
	if rate <= 0 {
		return false
	}
	return uint64(float64(n+1)*rate) > uint64(float64(n)*rate)
}

// delay is how long one request waits.
func (b behaviour) delay(u float64) time.Duration {
	d := b.BaseLatency + b.Latency
	return d + time.Duration(float64(d)*b.Jitter*u)
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	n := a.served.Add(1) - 1
	status := http.StatusOK
	if isError(n, a.behaviour.ErrorRate) {
		status = http.StatusInternalServerError
	}
	a.sleep(a.behaviour.delay(a.rand()))

	w.Header().Set("X-Demo-App", a.name)
	w.Header().Set("X-Demo-Revision", a.revision)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "app=%s revision=%s status=%d\n", a.name, a.revision, status)

	code := strconv.Itoa(status)
	a.requests.WithLabelValues(r.Method, code, code).Inc()
	a.duration.WithLabelValues(r.Method, code).Observe(time.Since(start).Seconds())
}
