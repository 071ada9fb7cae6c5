package dataplane

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Timeouts of this package's tests, in one place.
const (
	// promStartTimeout bounds a Prometheus start (it takes well under a second here).
	promStartTimeout = 60 * time.Second
	// appsTimeout bounds the wait for the driver to start or stop demo-apps after a change: a
	// debounce and a process start (tens of milliseconds).
	appsTimeout = 20 * time.Second
	// scrapeTimeout bounds the wait for Prometheus to scrape a new target: it applies target
	// changes at most every 5 s, then scrapes every second.
	scrapeTimeout = 30 * time.Second
	// trafficTimeout bounds the wait for a given number of requests at the test's rate
	// (about 10 s at 100 req/s for 1000 requests) and for Prometheus to see them.
	trafficTimeout = 90 * time.Second
	// clusterTimeout bounds the start of the local control plane (binaries built) and its first
	// Deployment becoming available.
	clusterTimeout = 3 * time.Minute
	// pollInterval is how often a condition is polled.
	pollInterval = 200 * time.Millisecond
)

// Bounds of the p95 latencies Prometheus reports. A healthy demo-app waits 50-55 ms and one with
// DEMO_LATENCY=300ms 350-385 ms, so an idle machine reports about 74 and 398 ms (the top of the
// histogram bucket). The upper bounds leave room for a loaded machine (2 shared cores), whose
// scheduling delays push a few requests into the next bucket; the lower bounds are firm.
const (
	maxHealthyP95 = 100
	maxSlowP95    = 500
)

// demoAppBinary is built once for the package by TestMain.
var demoAppBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// The watches log through controller-runtime's global logger; the driver's own logger goes to
	// each test's log.
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "slogate-dataplane-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if demoAppBinary, err = BuildDemoApp(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	stopSharedCluster(code != 0)
	return code
}

// mustPoll polls cond until it returns true, failing the test after timeout with the last error.
func mustPoll(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not after %v (last: %v)", what, timeout, last)
		case <-time.After(pollInterval):
		}
	}
}
