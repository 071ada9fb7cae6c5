package prom_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
)

// Timeouts of this package's tests, in one place.
const (
	// startTimeout bounds a Prometheus start (cold TSDB) and a restart (WAL replay).
	startTimeout = 60 * time.Second
	// scrapeTimeout bounds the wait for targets to be discovered and scraped: file_sd reacts to the
	// file within a second, a scrape follows within a second.
	scrapeTimeout = 30 * time.Second
	// trafficTimeout bounds the wait for enough requests to be scraped to judge a rate: at
	// trafficRate per second, minRequests take about 13 s.
	trafficTimeout = 90 * time.Second
	// pollInterval is how often a condition is polled.
	pollInterval = 250 * time.Millisecond
)

const (
	trafficRate = 40  // requests per second to each app
	minRequests = 500 // requests seen by Prometheus before a rate is judged
)

var demoApp string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "slogate-prom-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if demoApp, err = dataplane.BuildDemoApp(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func mustStartProm(t *testing.T) *prom.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	start := time.Now()
	s, err := prom.Start(ctx, prom.Options{ReadyTimeout: startTimeout})
	if err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Logf("prometheus ready at %s in %v", s.Address(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing prometheus: %v", err)
		}
	})
	return s
}

func mustStartApp(t *testing.T, g dataplane.Group, b dataplane.Behaviour) *dataplane.App {
	t.Helper()
	a, err := dataplane.StartApp(t.Context(), dataplane.AppSpec{
		Binary: demoApp, Group: g, Behaviour: b, LogPath: t.TempDir() + "/demo-app.log",
	})
	if err != nil {
		t.Fatalf("starting demo-app: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stopping demo-app: %v", err)
		}
	})
	return a
}

// sendTraffic sends rate requests per second to each app until the test ends.
func sendTraffic(t *testing.T, rate int, apps ...*dataplane.App) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 5 * time.Second}
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, a := range apps {
				wg.Go(func() {
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL()+"/payments", nil)
					if err != nil {
						return
					}
					if resp, err := client.Do(req); err == nil {
						_ = resp.Body.Close()
					}
				})
			}
		}
	})
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
			t.Fatalf("%s: not after %v (last error: %v)", what, timeout, last)
		case <-time.After(pollInterval):
		}
	}
}

func mustWaitTargetsUp(t *testing.T, s *prom.Server, n int) {
	t.Helper()
	mustPoll(t, scrapeTimeout, fmt.Sprintf("%d targets up", n), func(ctx context.Context) (bool, error) {
		targets, err := s.ActiveTargets(ctx)
		if err != nil {
			return false, err
		}
		up := 0
		for _, tg := range targets {
			if tg.Health == "up" {
				up++
			}
		}
		return up == n && len(targets) == n, fmt.Errorf("%d of %d targets up", up, len(targets))
	})
}

func mustQueryValue(t *testing.T, s *prom.Server, q string) float64 {
	t.Helper()
	v, err := s.QueryValue(t.Context(), q)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return v
}

var (
	stable = dataplane.Group{Namespace: "prod", App: "payments-api", Revision: "stablerev", PodTemplateHash: "5f7c9d"}
	canary = dataplane.Group{Namespace: "prod", App: "payments-api", Revision: "canaryrev", PodTemplateHash: "6b8d4e"}
)

// The seed's queries, and the same selected by revision as the built-in templates do.
const (
	seedSuccessRate = `100 * (
sum(rate(http_requests_total{app="payments-api",status!~"5.."}[5m]))
/
sum(rate(http_requests_total{app="payments-api"}[5m]))
)`
	seedP95 = `histogram_quantile(0.95,
sum(rate(http_request_duration_seconds_bucket{app="payments-api"}[5m])) by (le)
) * 1000`
	revisionSuccessRate = `100 * (
sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision=%[1]q,status!~"5.."}[5m]))
/
sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision=%[1]q}[5m]))
)`
	revisionP95 = `histogram_quantile(0.95,
sum(rate(http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision=%q}[5m])) by (le)
) * 1000`
	revisionRequests = `sum(increase(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision=%q}[5m]))`
)

func TestSeedQueriesSeeDemoAppBehaviour(t *testing.T) {
	s := mustStartProm(t)
	st := mustStartApp(t, stable, dataplane.Behaviour{})
	ca := mustStartApp(t, canary, dataplane.Behaviour{ErrorRate: 0.05, Latency: 300 * time.Millisecond})
	if err := s.SetTargets([]prom.Target{st.Target(), ca.Target()}); err != nil {
		t.Fatal(err)
	}
	mustWaitTargetsUp(t, s, 2)
	sendTraffic(t, trafficRate, st, ca)

	mustPoll(t, trafficTimeout, "enough canary requests scraped", func(ctx context.Context) (bool, error) {
		v, err := s.QueryValue(ctx, fmt.Sprintf(revisionRequests, canary.Revision))
		return err == nil && v >= minRequests, fmt.Errorf("%v requests (%w)", v, err)
	})

	tests := map[string]struct {
		query    string
		min, max float64
	}{
		// 5 % errors, spread evenly: 95 up to the extrapolation of rate() at the window's edges.
		"canary success rate": {query: fmt.Sprintf(revisionSuccessRate, canary.Revision), min: 94, max: 96},
		"stable success rate": {query: fmt.Sprintf(revisionSuccessRate, stable.Revision), min: 100, max: 100},
		"seed success rate":   {query: seedSuccessRate, min: 96.5, max: 98.5},
		// Each canary request waits 350-385 ms (50 ms base + 300 ms, 10 % jitter): all in the
		// (0.35, 0.4] bucket, so above the seed's 350 ms threshold. The upper bounds here and
		// below leave room for a loaded machine, whose scheduling delays push a few requests
		// into the next bucket.
		"canary p95 ms": {query: fmt.Sprintf(revisionP95, canary.Revision), min: 350, max: 500},
		// Each stable request waits 50-55 ms: the (0.05, 0.075] bucket.
		"stable p95 ms": {query: fmt.Sprintf(revisionP95, stable.Revision), min: 50, max: 100},
		// Half the requests are slow: the seed's p95 over both revisions is the canary's.
		"seed p95 ms": {query: seedP95, min: 350, max: 500},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := mustQueryValue(t, s, tc.query)
			t.Logf("%s = %.2f", name, got)
			if math.IsNaN(got) || got < tc.min || got > tc.max {
				t.Errorf("%s: want within [%v, %v], got %v\nquery: %s", name, tc.min, tc.max, got, tc.query)
			}
		})
	}
}

func TestSetTargetsChangesWhatIsScraped(t *testing.T) {
	s := mustStartProm(t)
	st := mustStartApp(t, stable, dataplane.Behaviour{})
	ca := mustStartApp(t, canary, dataplane.Behaviour{})

	if err := s.SetTargets([]prom.Target{st.Target(), ca.Target()}); err != nil {
		t.Fatal(err)
	}
	mustWaitTargetsUp(t, s, 2)
	mustPoll(t, scrapeTimeout, "both revisions scraped with their labels", func(ctx context.Context) (bool, error) {
		v, err := s.QueryValue(ctx, `count(up{job="demo-app",namespace="prod",app="payments-api",slogate_io_revision=~"stablerev|canaryrev",pod_template_hash=~"5f7c9d|6b8d4e"} == 1)`)
		return err == nil && v == 2, fmt.Errorf("%v (%w)", v, err)
	})

	if err := s.SetTargets([]prom.Target{st.Target()}); err != nil {
		t.Fatal(err)
	}
	mustWaitTargetsUp(t, s, 1)
	targets, err := s.ActiveTargets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(targets[0].Labels[prom.LabelRevision]); got != stable.Revision {
		t.Errorf("remaining target: want revision %s, got %s", stable.Revision, got)
	}
}

func TestStopKillRestart(t *testing.T) {
	s := mustStartProm(t)
	addr := s.Address()
	a := mustStartApp(t, stable, dataplane.Behaviour{})
	if err := s.SetTargets([]prom.Target{a.Target()}); err != nil {
		t.Fatal(err)
	}
	mustWaitTargetsUp(t, s, 1)
	const scrapes = `sum(count_over_time(up{job="demo-app"}[1h]))`
	mustPoll(t, scrapeTimeout, "a few scrapes stored", func(ctx context.Context) (bool, error) {
		v, err := s.QueryValue(ctx, scrapes)
		return err == nil && v >= 3, fmt.Errorf("%v scrapes (%w)", v, err)
	})

	for name, stop := range map[string]func() error{"stop": s.Stop, "kill": s.Kill} {
		t.Run(name, func(t *testing.T) {
			before := mustQueryValue(t, s, scrapes)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if s.Running() {
				t.Fatal("running after stop")
			}
			if _, err := s.Query(t.Context(), "up"); err == nil {
				t.Fatal("a query succeeded while prometheus was down")
			}

			ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
			defer cancel()
			start := time.Now()
			if err := s.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			t.Logf("restarted after %s in %v", name, time.Since(start).Round(time.Millisecond))
			if s.Address() != addr {
				t.Errorf("address after restart: want %s, got %s", addr, s.Address())
			}
			// The TSDB survives: scrapes from before are still there, and scraping goes on.
			mustPoll(t, scrapeTimeout, "scrapes stored before and after the restart", func(ctx context.Context) (bool, error) {
				v, err := s.QueryValue(ctx, scrapes)
				return err == nil && v > before, fmt.Errorf("%v scrapes, %v before (%w)", v, before, err)
			})
		})
	}
}

func TestStartWithoutBinaryNamesTheFix(t *testing.T) {
	_, err := prom.Start(t.Context(), prom.Options{Binary: "prometheus-that-does-not-exist"})
	if err == nil {
		t.Fatal("want an error")
	}
	if !errorsIs(err, prom.ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
