package dataplane

import (
	"context"
	_ "embed"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/types"
)

//go:embed weights.yaml
var weightsYAML []byte

// TestFollowsLiveWeights runs the driver against the local control plane: kubectl applies a
// release's Deployments, Services and the seed's HTTPRoute at 90/10; kwok makes the pods ready; the
// driver runs a demo-app per revision, Prometheus scrapes both, and traffic follows each kubectl
// change to the route, the Services and the Deployments.
func TestFollowsLiveWeights(t *testing.T) {
	env := mustCluster(t)
	ns := env.MustCreateNamespace(t, "", nil).Name
	env.MustKubectlInput(t, weightsYAML, "apply", "-n", ns, "-f", "-")

	p := mustStartProm(t)
	const rate = 100
	ctx, cancel := context.WithTimeout(t.Context(), clusterTimeout)
	defer cancel()
	d, err := Start(ctx, Options{
		Config: env.RESTConfig(), DemoApp: demoAppBinary, Namespaces: []string{ns}, Prometheus: p,
		Rate: rate, LogDir: t.TempDir(), Logger: testr.New(t),
	})
	if err != nil {
		t.Fatalf("starting the data plane: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stopping the data plane: %v", err)
		}
	})
	route := types.NamespacedName{Namespace: ns, Name: "payments-api-route"}
	stable := Group{Namespace: ns, App: "payments-api", Revision: "r1"}
	canary := Group{Namespace: ns, App: "payments-api", Revision: "r2"}

	mustPoll(t, appsTimeout+clusterTimeout, "a demo-app per revision, with the canary's behaviour", func(context.Context) (bool, error) {
		apps := d.Apps()
		if len(apps) != 2 {
			return false, fmt.Errorf("%d demo-apps: %v", len(apps), apps)
		}
		for _, a := range apps {
			g := a.Group
			g.PodTemplateHash = ""
			switch {
			case g == stable && a.Behaviour == Behaviour{}:
			case g == canary && a.Behaviour == Behaviour{ErrorRate: 0.05, Latency: 300 * time.Millisecond}:
			default:
				return false, fmt.Errorf("unexpected demo-app %+v", a)
			}
		}
		return true, nil
	})
	if got := d.Plan().Routes[0].Rules[0].Backends[0].Groups[0].ReadyPods; got != 3 {
		t.Errorf("ready stable pods behind the stable Service: want 3, got %d", got)
	}
	mustPoll(t, scrapeTimeout, "both revisions scraped", func(ctx context.Context) (bool, error) {
		v, err := p.QueryValue(ctx, fmt.Sprintf(`count(up{namespace=%q,app="payments-api",slogate_io_revision=~"r1|r2",pod_template_hash!=""} == 1)`, ns))
		return err == nil && v == 2, fmt.Errorf("%v (%w)", v, err)
	})

	t.Run("90/10", func(t *testing.T) {
		w := mustWaitSent(t, d, route, d.Stats(route), 1000)
		t.Logf("sent %d: by backend %v, by revision %v, codes %v, failed %d", w.Sent, w.Backends, w.Revisions, w.Codes, w.Failed)
		if got := w.Share(w.Backends["payments-api-canary"]); !within(got, 0.10, 0.01) {
			t.Errorf("canary backend share: want 0.10±0.01, got %.4f", got)
		}
		if got := w.Share(w.Revisions["r2"]); !within(got, 0.10, 0.01) {
			t.Errorf("revision r2 share: want 0.10±0.01, got %.4f", got)
		}
		if w.Failed != 0 || w.NoBackend != 0 {
			t.Errorf("want every request answered by a demo-app, got %d failed, %d without backend", w.Failed, w.NoBackend)
		}

		sel := fmt.Sprintf(`namespace=%q,app="payments-api"`, ns)
		mustPoll(t, trafficTimeout, "100 canary requests scraped", func(ctx context.Context) (bool, error) {
			v, err := p.QueryValue(ctx, fmt.Sprintf(`sum(increase(http_requests_total{%s,slogate_io_revision="r2"}[5m]))`, sel))
			return err == nil && v >= 100, fmt.Errorf("%v (%w)", v, err)
		})
		share := mustQueryValue(t, p, fmt.Sprintf(`sum(rate(http_requests_total{%[1]s,slogate_io_revision="r2"}[5m])) / sum(rate(http_requests_total{%[1]s}[5m]))`, sel))
		success := mustQueryValue(t, p, fmt.Sprintf(`100 * sum(rate(http_requests_total{%[1]s,slogate_io_revision="r2",status!~"5.."}[5m])) / sum(rate(http_requests_total{%[1]s,slogate_io_revision="r2"}[5m]))`, sel))
		stableSuccess := mustQueryValue(t, p, fmt.Sprintf(`100 * sum(rate(http_requests_total{%[1]s,slogate_io_revision!="r2",status!~"5.."}[5m])) / sum(rate(http_requests_total{%[1]s,slogate_io_revision!="r2"}[5m]))`, sel))
		p95 := mustQueryValue(t, p, fmt.Sprintf(`histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{%s,slogate_io_revision="r2"}[5m])) by (le)) * 1000`, sel))
		stableP95 := mustQueryValue(t, p, fmt.Sprintf(`histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{%s,slogate_io_revision="r1"}[5m])) by (le)) * 1000`, sel))
		t.Logf("prometheus: canary share %.4f; success rate canary %.2f, stable %.2f; p95 canary %.1f ms, stable %.1f ms", share, success, stableSuccess, p95, stableP95)
		if !within(share, 0.10, 0.02) {
			t.Errorf("canary share seen by prometheus: want 0.10±0.02, got %.4f", share)
		}
		if !within(success, 95, 1.5) {
			t.Errorf("canary success rate: want 95±1.5, got %.2f", success)
		}
		// A ratio of two rates of equal counts can come back as 99.99999999999999.
		if !within(stableSuccess, 100, 0.001) {
			t.Errorf("stable success rate: want 100, got %.2f", stableSuccess)
		}
		if p95 < 350 || p95 > maxSlowP95 {
			t.Errorf("canary p95: want within [350, %v] ms, got %.1f", maxSlowP95, p95)
		}
		if stableP95 < 50 || stableP95 > maxHealthyP95 {
			t.Errorf("stable p95: want within [50, %v] ms, got %.1f", maxHealthyP95, stableP95)
		}
	})

	t.Run("kubectl patch of the weights to 50/50", func(t *testing.T) {
		env.MustKubectl(t, "patch", "httproute", "payments-api-route", "-n", ns, "--type=json", "-p",
			`[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":50},{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":50}]`)
		mustWaitWeights(t, d, 50, 50)
		w := mustWaitSent(t, d, route, d.Stats(route), 500)
		t.Logf("sent %d: by backend %v, by revision %v", w.Sent, w.Backends, w.Revisions)
		if got := w.Share(w.Backends["payments-api-canary"]); !within(got, 0.5, 0.01) {
			t.Errorf("canary backend share: want 0.5±0.01, got %.4f (%v)", got, w.Backends)
		}
	})

	t.Run("an unpinned stable Service also sends the canary its pods' share", func(t *testing.T) {
		env.MustKubectl(t, "patch", "service", "payments-api-stable", "-n", ns, "--type=json", "-p",
			`[{"op":"remove","path":"/spec/selector/slogate.io~1revision"}]`)
		mustPoll(t, appsTimeout, "the stable backend selecting both revisions", func(context.Context) (bool, error) {
			groups := d.Plan().Routes[0].Rules[0].Backends[0].Groups
			return len(groups) == 2, fmt.Errorf("%d groups", len(groups))
		})
		w := mustWaitSent(t, d, route, d.Stats(route), 800)
		t.Logf("sent %d: by backend %v, by revision %v", w.Sent, w.Backends, w.Revisions)
		// 50 % through the canary Service plus 50 % * 1 of 4 pods through the stable one.
		if got := w.Share(w.Revisions["r2"]); !within(got, 0.625, 0.01) {
			t.Errorf("revision r2 share: want 0.625±0.01, got %.4f (%v)", got, w.Revisions)
		}
	})

	t.Run("a canary scaled to zero loses its process and target, its share gets 503", func(t *testing.T) {
		env.MustKubectl(t, "scale", "deployment", "payments-api-canary", "-n", ns, "--replicas=0")
		mustWaitApps(t, d, 1)
		mustPoll(t, scrapeTimeout, "one target left", func(ctx context.Context) (bool, error) {
			targets, err := p.ActiveTargets(ctx)
			return err == nil && len(targets) == 1, fmt.Errorf("%d targets (%w)", len(targets), err)
		})
		w := mustWaitSent(t, d, route, d.Stats(route), 200)
		t.Logf("sent %d: by backend %v, by revision %v, codes %v", w.Sent, w.Backends, w.Revisions, w.Codes)
		if got, want := w.Codes[503], w.Backends["payments-api-canary"]; got != want || got == 0 {
			t.Errorf("503 answers: want one per canary-backend request (%d), got %d", want, got)
		}
		if got := w.Revisions["r2"]; got != 0 {
			t.Errorf("requests to revision r2 after scale-down: want 0, got %d", got)
		}
	})
}

func mustWaitWeights(t *testing.T, d *Driver, stable, canary int32) {
	t.Helper()
	mustPoll(t, appsTimeout, fmt.Sprintf("weights %d/%d in the plan", stable, canary), func(context.Context) (bool, error) {
		routes := d.Plan().Routes
		if len(routes) != 1 || len(routes[0].Rules) != 1 || len(routes[0].Rules[0].Backends) != 2 {
			return false, fmt.Errorf("plan %+v", routes)
		}
		b := routes[0].Rules[0].Backends
		return b[0].Weight == stable && b[1].Weight == canary, fmt.Errorf("weights %d/%d", b[0].Weight, b[1].Weight)
	})
}
