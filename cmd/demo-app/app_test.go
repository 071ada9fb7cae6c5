package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestIsError(t *testing.T) {
	tests := map[string]struct {
		rate       float64
		requests   uint64
		wantErrors uint64
	}{
		"healthy":          {rate: 0, requests: 1000, wantErrors: 0},
		"five percent":     {rate: 0.05, requests: 1000, wantErrors: 50},
		"one in three":     {rate: 1.0 / 3, requests: 999, wantErrors: 333},
		"all":              {rate: 1, requests: 10, wantErrors: 10},
		"half a percent":   {rate: 0.005, requests: 1000, wantErrors: 5},
		"fewer than one":   {rate: 0.05, requests: 19, wantErrors: 0},
		"first one is due": {rate: 0.05, requests: 20, wantErrors: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got uint64
			for n := range tc.requests {
				if isError(n, tc.rate) {
					got++
				}
			}
			if got != tc.wantErrors {
				t.Errorf("errors in %d requests at rate %v: want %d, got %d", tc.requests, tc.rate, tc.wantErrors, got)
			}
		})
	}
}

func TestIsErrorSpreadsEvenly(t *testing.T) {
	// Every window of 20 consecutive requests at 5 % holds exactly one error.
	for start := range uint64(500) {
		var got int
		for n := start; n < start+20; n++ {
			if isError(n, 0.05) {
				got++
			}
		}
		if got != 1 {
			t.Fatalf("requests %d..%d: want 1 error, got %d", start, start+19, got)
		}
	}
}

func TestDelay(t *testing.T) {
	tests := map[string]struct {
		b    behaviour
		u    float64
		want time.Duration
	}{
		"base only":           {b: behaviour{BaseLatency: 10 * time.Millisecond, Jitter: 0.1}, u: 0, want: 10 * time.Millisecond},
		"added latency":       {b: behaviour{BaseLatency: 10 * time.Millisecond, Latency: 300 * time.Millisecond}, u: 0.7, want: 310 * time.Millisecond},
		"jitter stretches":    {b: behaviour{BaseLatency: 10 * time.Millisecond, Latency: 290 * time.Millisecond, Jitter: 0.1}, u: 0.5, want: 315 * time.Millisecond},
		"no delay":            {b: behaviour{Jitter: 0.5}, u: 0.9, want: 0},
		"jitter near its top": {b: behaviour{Latency: 100 * time.Millisecond, Jitter: 0.2}, u: 0.99, want: 119800 * time.Microsecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.b.delay(tc.u); got != tc.want {
				t.Errorf("delay: want %v, got %v", tc.want, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		b       behaviour
		wantErr string
	}{
		"healthy":           {b: behaviour{BaseLatency: time.Millisecond, Jitter: 0.1}},
		"error rate above":  {b: behaviour{ErrorRate: 1.5}, wantErr: "--error-rate"},
		"error rate below":  {b: behaviour{ErrorRate: -0.1}, wantErr: "--error-rate"},
		"negative latency":  {b: behaviour{Latency: -time.Second}, wantErr: "--latency"},
		"negative base":     {b: behaviour{BaseLatency: -time.Second}, wantErr: "--base-latency"},
		"jitter above one":  {b: behaviour{Jitter: 2}, wantErr: "--jitter"},
		"jitter below zero": {b: behaviour{Jitter: -1}, wantErr: "--jitter"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.b.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error naming %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// TestRequestSeriesStartAtZero: before any request, the GET series of both statuses exist at 0,
// so that the first error of a fresh process is an increase Prometheus can see.
func TestRequestSeriesStartAtZero(t *testing.T) {
	a := newApp("payments-api", "abc123", behaviour{})
	want := `
# HELP http_requests_total HTTP requests served, by method and status code.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",status="200"} 0
http_requests_total{code="500",method="GET",status="500"} 0
`
	if err := testutil.GatherAndCompare(a.registry, strings.NewReader(want), "http_requests_total"); err != nil {
		t.Error(err)
	}

	// Scraped over /metrics too, as Prometheus reads it.
	rec := httptest.NewRecorder()
	a.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range []string{
		`http_requests_total{code="200",method="GET",status="200"} 0`,
		`http_requests_total{code="500",method="GET",status="500"} 0`,
	} {
		if !strings.Contains(rec.Body.String(), line) {
			t.Errorf("GET /metrics before any request lacks %s", line)
		}
	}
}

func TestServeRecordsMetrics(t *testing.T) {
	a := newApp("payments-api", "abc123", behaviour{ErrorRate: 0.25, BaseLatency: 10 * time.Millisecond, Latency: 300 * time.Millisecond})
	var slept []time.Duration
	a.sleep = func(d time.Duration) { slept = append(slept, d) }
	a.rand = func() float64 { return 0 }
	h := a.handler()

	codes := map[int]int{}
	for range 8 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/payments", nil))
		codes[rec.Code]++
		if got := rec.Header().Get("X-Demo-Revision"); got != "abc123" {
			t.Errorf("X-Demo-Revision: want abc123, got %q", got)
		}
	}
	// Probes and metrics are not application traffic.
	for _, path := range []string{"/healthz", "/livez", "/metrics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: want 200, got %d", path, rec.Code)
		}
	}

	if diff := cmp.Diff(map[int]int{200: 6, 500: 2}, codes); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
	if got := len(slept); got != 8 {
		t.Errorf("sleeps: want 8, got %d", got)
	}
	for _, d := range slept {
		if d != 310*time.Millisecond {
			t.Errorf("sleep: want 310ms, got %v", d)
		}
	}
	want := `
# HELP http_requests_total HTTP requests served, by method and status code.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",status="200"} 6
http_requests_total{code="500",method="GET",status="500"} 2
`
	if err := testutil.GatherAndCompare(a.registry, strings.NewReader(want), "http_requests_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(a.duration, "http_request_duration_seconds"); got != 2 {
		t.Errorf("duration series: want 2 (200 and 500), got %d", got)
	}
}
