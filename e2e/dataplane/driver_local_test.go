package dataplane

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/e2e/prom"
)

func mustStartProm(t *testing.T) *prom.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), promStartTimeout)
	defer cancel()
	start := time.Now()
	s, err := prom.Start(ctx, prom.Options{ReadyTimeout: promStartTimeout})
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

// mustStartLocalDriver runs a driver over a fake API (no watch: the test pokes it after changes).
func mustStartLocalDriver(t *testing.T, reader client.Reader, p *prom.Server, rate float64, namespaces ...string) *Driver {
	t.Helper()
	opts, err := Options{
		Config: &rest.Config{}, DemoApp: demoAppBinary, Namespaces: namespaces, Prometheus: p,
		Rate: rate, LogDir: t.TempDir(), Resync: 500 * time.Millisecond, Logger: testr.New(t),
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	d := newDriver(opts, reader, cancel)
	d.run(ctx)
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stopping the driver: %v", err)
		}
	})
	return d
}

func mustWaitApps(t *testing.T, d *Driver, n int) {
	t.Helper()
	mustPoll(t, appsTimeout, fmt.Sprintf("%d demo-apps", n), func(context.Context) (bool, error) {
		got := len(d.Apps())
		return got == n, fmt.Errorf("%d demo-apps", got)
	})
}

func mustWaitSent(t *testing.T, d *Driver, route types.NamespacedName, before RouteStats, n int64) RouteStats {
	t.Helper()
	var window RouteStats
	mustPoll(t, trafficTimeout, fmt.Sprintf("%d requests on %s", n, route), func(context.Context) (bool, error) {
		window = d.Stats(route).Since(before)
		return window.Sent >= n, fmt.Errorf("%d sent", window.Sent)
	})
	return window
}

func mustQueryValue(t *testing.T, p *prom.Server, q string) float64 {
	t.Helper()
	v, err := p.QueryValue(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func within(got, want, tolerance float64) bool {
	return !math.IsNaN(got) && math.Abs(got-want) <= tolerance
}

// TestDriverWithoutCluster runs the driver over a fake API with real demo-apps and a real
// Prometheus: processes follow the pods, traffic follows the weights, Prometheus sees both.
func TestDriverWithoutCluster(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := gatewayv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	route := makeRoute("payments-api-route").rule(backend("payments-api-stable", 90), backend("payments-api-canary", 10)).obj()
	canaryPod := makePod("c-1").rev("payments-api", "r2", "h2").env(EnvErrorRate, "0.05").env(EnvLatency, "300ms").ready().obj()
	objs := []client.Object{
		&route,
		ptrTo(makeService("payments-api-stable", map[string]string{"app": "payments-api", "slogate.io/revision": "r1"})),
		ptrTo(makeService("payments-api-canary", map[string]string{"app": "payments-api", "slogate.io/revision": "r2"})),
		ptrTo(makePod("s-1").rev("payments-api", "r1", "h1").ready().obj()),
		ptrTo(makePod("s-2").rev("payments-api", "r1", "h1").ready().obj()),
		&canaryPod,
		// Another namespace, not served: no process, no traffic.
		ptrTo(makePod("x-1").ns("elsewhere").rev("other", "r7", "h7").ready().obj()),
	}
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	p := mustStartProm(t)
	const rate = 100
	d := mustStartLocalDriver(t, api, p, rate, "prod")
	routeName := types.NamespacedName{Namespace: "prod", Name: "payments-api-route"}

	mustWaitApps(t, d, 2)
	mustPoll(t, scrapeTimeout, "both revisions scraped", func(ctx context.Context) (bool, error) {
		v, err := p.QueryValue(ctx, `count(up{namespace="prod",app="payments-api",slogate_io_revision=~"r1|r2"} == 1)`)
		return err == nil && v == 2, fmt.Errorf("%v (%w)", v, err)
	})

	t.Run("90/10 split, and Prometheus sees the canary's errors and latency", func(t *testing.T) {
		start := time.Now()
		w := mustWaitSent(t, d, routeName, d.Stats(routeName), 1000)
		t.Logf("sent %d in %v: %v by backend, %v by revision, codes %v", w.Sent, time.Since(start).Round(time.Millisecond), w.Backends, w.Revisions, w.Codes)
		if got := w.Share(w.Backends["payments-api-canary"]); !within(got, 0.10, 0.005) {
			t.Errorf("canary share: want 0.10, got %.4f", got)
		}
		if got := w.Share(w.Revisions["r2"]); !within(got, 0.10, 0.005) {
			t.Errorf("revision r2 share: want 0.10, got %.4f", got)
		}
		// Wait for Prometheus to have counted enough canary requests to judge a rate.
		mustPoll(t, trafficTimeout, "100 canary requests scraped", func(ctx context.Context) (bool, error) {
			v, err := p.QueryValue(ctx, `sum(increase(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="r2"}[5m]))`)
			return err == nil && v >= 100, fmt.Errorf("%v (%w)", v, err)
		})
		share := mustQueryValue(t, p, `sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="r2"}[5m])) / sum(rate(http_requests_total{namespace="prod",app="payments-api"}[5m]))`)
		success := mustQueryValue(t, p, `100 * sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="r2",status!~"5.."}[5m])) / sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="r2"}[5m]))`)
		p95 := mustQueryValue(t, p, `histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="r2"}[5m])) by (le)) * 1000`)
		t.Logf("prometheus: canary share %.4f, canary success rate %.2f, canary p95 %.1f ms", share, success, p95)
		if !within(share, 0.10, 0.02) {
			t.Errorf("canary share seen by prometheus: want 0.10±0.02, got %.4f", share)
		}
		if !within(success, 95, 1.5) {
			t.Errorf("canary success rate: want 95±1.5, got %.2f", success)
		}
		if p95 < 350 || p95 > maxSlowP95 {
			t.Errorf("canary p95 (50 ms base + 300 ms): want within [350, %v] ms, got %.1f", maxSlowP95, p95)
		}
	})

	t.Run("new weights take effect", func(t *testing.T) {
		mustSetWeights(t, api, routeName, 50, 50)
		d.poke()
		mustPoll(t, appsTimeout, "plan at 50/50", func(context.Context) (bool, error) {
			pl := d.Plan()
			return len(pl.Routes) == 1 && pl.Routes[0].Rules[0].Backends[1].Weight == 50, nil
		})
		w := mustWaitSent(t, d, routeName, d.Stats(routeName), 400)
		if got := w.Share(w.Backends["payments-api-canary"]); !within(got, 0.5, 0.01) {
			t.Errorf("canary share after 50/50: want 0.5, got %.4f (%v)", got, w.Backends)
		}
	})

	t.Run("a canary without ready pods loses its process and its target, its share gets 503", func(t *testing.T) {
		if err := api.Delete(t.Context(), &canaryPod); err != nil {
			t.Fatal(err)
		}
		d.poke()
		mustWaitApps(t, d, 1)
		mustPoll(t, scrapeTimeout, "the canary target gone", func(ctx context.Context) (bool, error) {
			targets, err := p.ActiveTargets(ctx)
			return err == nil && len(targets) == 1, fmt.Errorf("%d targets (%w)", len(targets), err)
		})
		w := mustWaitSent(t, d, routeName, d.Stats(routeName), 200)
		if got, want := w.Codes[503], w.Backends["payments-api-canary"]; got != want || got == 0 {
			t.Errorf("503 answers: want one per canary request (%d), got %d", want, got)
		}
	})

	t.Run("a silenced route sends nothing", func(t *testing.T) {
		d.SetRate(routeName, 0)
		before := d.Stats(routeName)
		// 50 wake-ups of the sender (half a second) would have sent 50 requests at the former rate.
		ticks := d.sender.ticks.Load()
		mustPoll(t, appsTimeout, "50 sender ticks", func(context.Context) (bool, error) { return d.sender.ticks.Load() >= ticks+50, nil })
		if got := d.Stats(routeName).Since(before).Sent; got != 0 {
			t.Errorf("requests on a silenced route: want 0, got %d", got)
		}
		d.SetRate(routeName, rate)
	})

	t.Run("a forgotten namespace loses its processes and targets", func(t *testing.T) {
		d.Forget("prod")
		mustWaitApps(t, d, 0)
		if got := len(d.Plan().Routes); got != 0 {
			t.Errorf("routes planned: want 0, got %d", got)
		}
	})
}

func mustSetWeights(t *testing.T, api client.Client, route types.NamespacedName, stable, canary int32) {
	t.Helper()
	var r gatewayv1.HTTPRoute
	if err := api.Get(t.Context(), route, &r); err != nil {
		t.Fatal(err)
	}
	r.Spec.Rules[0].BackendRefs[0].Weight = &stable
	r.Spec.Rules[0].BackendRefs[1].Weight = &canary
	if err := api.Update(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
}

func ptrTo[T any](v T) *T { return &v }
