package slo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
)

//go:embed route.yaml
var routeYAML []byte

//go:embed app.yaml
var appYAML string

//go:embed slo.yaml
var sloYAML []byte

const (
	appName   = "payments-api"
	routeName = "payments-api-route"
	stableSvc = "payments-api-stable"
	canarySvc = "payments-api-canary"
)

// app is one version of the user's Deployment manifest (app.yaml).
type app struct {
	Image     string
	ErrorRate string
	Latency   string
}

var (
	v1 = app{Image: "2026.04.15", ErrorRate: "0", Latency: "0s"}
	v2 = app{Image: "2026.04.16", ErrorRate: "0", Latency: "0s"}
	// v2errors answers 5 % of its requests with 500.
	v2errors = app{Image: "2026.04.16-errors", ErrorRate: "0.05", Latency: "0s"}
	// v2slow is 300 ms slower than v1 on every request.
	v2slow = app{Image: "2026.04.16-slow", ErrorRate: "0", Latency: "300ms"}
	appTpl = template.Must(template.New("app").Delims("[[", "]]").Option("missingkey=error").Parse(appYAML))
)

func (a app) manifest() []byte {
	return mustRender(appTpl, a)
}

// mustRender executes a template of this package's YAML; the templates are fixed, so an error is
// a bug in the package.
func mustRender(t *template.Template, data any) []byte {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// scenarioOptions configure newScenario.
type scenarioOptions struct {
	// Namespace is the namespace's name; empty makes one from the test's name.
	Namespace string
	// OwnPrometheus gives the scenario a Prometheus and a data plane of its own, serving only its
	// namespace, instead of the shared ones.
	OwnPrometheus bool
}

// scenario is one test's namespace with the seed's route, and what serves it.
type scenario struct {
	t     *testing.T
	ns    string
	c     client.Client
	plane *dataplane.Driver
	prom  *prom.Server
	// weights records the canary weight of every change of the route, in order.
	weights *weightLog
}

// newScenario makes an opted-in namespace with the seed's Services and route, starts recording the
// route's weights, has a data plane serve the namespace, and applies v1 of the app and waits until
// it serves.
func newScenario(t *testing.T, opts scenarioOptions) *scenario {
	t.Helper()
	if opts.Namespace != "" {
		mustNamespaceGone(t, opts.Namespace)
	}
	ns := env.MustCreateNamespace(t, opts.Namespace, map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}).Name
	s := &scenario{t: t, ns: ns, c: env.Client(), plane: sharedPlane, prom: sharedProm}
	if opts.OwnPrometheus {
		s.plane, s.prom = startOwnPlane(t, ns)
	} else {
		sharedPlane.Serve(ns)
		t.Cleanup(func() { sharedPlane.Forget(ns) })
	}
	s.weights = watchWeights(t, ns)
	s.kubectlApply(routeYAML)
	s.apply(v1)
	s.mustAppServing()
	t.Cleanup(func() {
		if t.Failed() {
			s.dumpState()
		}
	})
	return s
}

// startOwnPlane starts a Prometheus and a data plane that serve ns alone, stopped when the test
// ends. The Prometheus keeps its files in the run directory, kept when a test fails.
func startOwnPlane(t *testing.T, ns string) (*dataplane.Driver, *prom.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), isolatedStartTimeout)
	defer cancel()
	p, err := prom.Start(ctx, prom.Options{Dir: filepath.Join(env.Dir(), "prometheus-"+ns)})
	if err != nil {
		t.Fatalf("starting the scenario's Prometheus: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	d, err := dataplane.Start(ctx, dataplane.Options{
		Config: env.RESTConfig(), DemoApp: demoApp, Namespaces: []string{ns}, Prometheus: p, Rate: trafficRate,
		LogDir: filepath.Join(env.Logs(), "dataplane-"+ns),
	})
	if err != nil {
		t.Fatalf("starting the scenario's data plane: %v", err)
	}
	t.Cleanup(func() { _ = d.Stop() })
	t.Logf("own Prometheus %s (log %s)", p.Address(), p.LogPath())
	return d, p
}

// mustNamespaceGone waits until a namespace of a fixed name left by an earlier run of the test
// (go test -count=2) is deleted.
func mustNamespaceGone(t *testing.T, name string) {
	t.Helper()
	cluster.MustPoll(t, appReadyTimeout, "namespace "+name+" gone", func(ctx context.Context) (bool, error) {
		err := env.Client().Get(ctx, types.NamespacedName{Name: name}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func (s *scenario) kubectlApply(yaml []byte) {
	s.t.Helper()
	env.MustKubectlInput(s.t, yaml, "apply", "-n", s.ns, "-f", "-")
}

// apply runs kubectl apply with a version of the app, as a user or a CD pipeline does.
func (s *scenario) apply(a app) {
	s.t.Helper()
	s.kubectlApply(a.manifest())
}

func (s *scenario) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: s.ns, Name: name}
}

func (s *scenario) routeKey() types.NamespacedName { return s.key(routeName) }

func (s *scenario) deployment() *appsv1.Deployment {
	s.t.Helper()
	d := &appsv1.Deployment{}
	if err := s.c.Get(s.t.Context(), s.key(appName), d); err != nil {
		s.t.Fatalf("getting the Deployment: %v", err)
	}
	return d
}

func (s *scenario) route() *gatewayv1.HTTPRoute {
	s.t.Helper()
	r := &gatewayv1.HTTPRoute{}
	if err := s.c.Get(s.t.Context(), s.routeKey(), r); err != nil {
		s.t.Fatalf("getting the route: %v", err)
	}
	return r
}

// release returns the Release, nil when there is none.
func (s *scenario) release(name string) *slogatev1alpha1.Release {
	rel := &slogatev1alpha1.Release{}
	if err := s.c.Get(s.t.Context(), s.key(name), rel); err != nil {
		return nil
	}
	return rel
}

// mustAppServing waits until the Deployment is available and the data plane's requests on the route
// are answered 200.
func (s *scenario) mustAppServing() {
	s.t.Helper()
	cluster.MustPoll(s.t, appReadyTimeout, "the app available and served", func(ctx context.Context) (bool, error) {
		d := s.deployment()
		if d.Status.ObservedGeneration < d.Generation || d.Status.AvailableReplicas != *d.Spec.Replicas {
			return false, nil
		}
		return s.plane.Stats(s.routeKey()).Codes[200] > 0, nil
	})
}

// mustHeld waits until the webhook held the Deployment on a new template and the analyzer made its
// Release, and returns the canary revision and the Release's name.
func (s *scenario) mustHeld() (revision, release string) {
	s.t.Helper()
	cluster.MustPoll(s.t, holdTimeout, "the Deployment held and its Release created", func(ctx context.Context) (bool, error) {
		d := s.deployment()
		revision = d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
		return d.Spec.Paused && revision != "" && s.release(slogatev1alpha1.ReleaseName(appName, revision)) != nil, nil
	})
	return revision, slogatev1alpha1.ReleaseName(appName, revision)
}

// mustPhase waits until the release is in phase (and cleaned up, for a terminal phase).
func (s *scenario) mustPhase(name string, phase slogatev1alpha1.ReleasePhase, timeout time.Duration) *slogatev1alpha1.Release {
	s.t.Helper()
	var rel *slogatev1alpha1.Release
	last := "no Release"
	ctx, cancel := context.WithTimeout(s.t.Context(), timeout)
	defer cancel()
	for {
		rel = s.release(name)
		if rel != nil {
			last = fmt.Sprintf("phase %s, step %d, weight %d, %s: %s", rel.Status.Phase, rel.Status.StepIndex,
				rel.Status.CanaryWeight, rel.Status.Reason, rel.Status.Message)
			if rel.Status.Phase == phase && (!phase.IsTerminal() || meta.IsStatusConditionTrue(rel.Status.Conditions, slogatev1alpha1.ConditionCompleted)) {
				return rel
			}
			if rel.Status.Phase != phase && rel.Status.Phase.IsTerminal() {
				s.t.Fatalf("release %s ended %s, want %s: %s", name, rel.Status.Phase, phase, last)
			}
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("waiting %v for release %s %s; last seen: %s", timeout, name, phase, last)
		case <-time.After(cluster.PollInterval):
		}
	}
}

// mustWeight waits until the release runs with weight on the canary, as written to the route.
func (s *scenario) mustWeight(name string, weight int32) *slogatev1alpha1.Release {
	s.t.Helper()
	var rel *slogatev1alpha1.Release
	cluster.MustPoll(s.t, weightTimeout, fmt.Sprintf("release %s at %d %%", name, weight), func(ctx context.Context) (bool, error) {
		rel = s.release(name)
		if rel == nil || rel.Status.Phase.IsTerminal() {
			return false, nil
		}
		return rel.Status.CanaryWeight == weight && canaryWeight(s.route()) == weight, nil
	})
	return rel
}

// mustRolledBackTo100 checks that the route is back to the seed's 100/0 and that the Deployment stays
// paused on the failed revision, with the canary Deployment gone.
func (s *scenario) mustRolledBackTo100(failedRevision string) {
	s.t.Helper()
	if w := s.route().Spec.Rules[0].BackendRefs; len(w) != 2 || deref(w[0].Weight) != 100 || deref(w[1].Weight) != 0 {
		s.t.Errorf("route backends after the rollback: %s, want %s 100 and %s 0", backendsString(w), stableSvc, canarySvc)
	}
	d := s.deployment()
	if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != failedRevision {
		s.t.Errorf("Deployment paused=%v annotations=%v; want it paused with %s=%s", d.Spec.Paused, d.Annotations,
			slogatev1alpha1.FailedRevisionAnnotation, failedRevision)
	}
	if err := s.c.Get(s.t.Context(), s.key(appName+"-canary"), &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		s.t.Errorf("the canary Deployment is still there (%v)", err)
	}
}

func backendsString(refs []gatewayv1.HTTPBackendRef) string {
	var parts []string
	for _, r := range refs {
		parts = append(parts, fmt.Sprintf("%s %d", r.Name, deref(r.Weight)))
	}
	return strings.Join(parts, ", ")
}

func deref(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// canaryWeight is the canary's share on the route.
func canaryWeight(r *gatewayv1.HTTPRoute) int32 {
	return traffic.Observe(r, traffic.Backends{Stable: stableSvc, Canary: canarySvc}).MaxCanary
}

// mustEvent waits for an event of reason on the Release whose note contains note, and returns it.
func (s *scenario) mustEvent(release, reason, note string) eventsv1.Event {
	s.t.Helper()
	var found eventsv1.Event
	seen := ""
	ctx, cancel := context.WithTimeout(s.t.Context(), holdTimeout)
	defer cancel()
	for {
		var list eventsv1.EventList
		if err := s.c.List(ctx, &list, client.InNamespace(s.ns)); err == nil {
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.Kind != "Release" || e.Regarding.Name != release {
					continue
				}
				reasons = append(reasons, e.Reason)
				if e.Reason == reason && strings.Contains(e.Note, note) {
					found = e
				}
			}
			if found.Name != "" {
				return found
			}
			seen = strings.Join(reasons, ", ")
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("no event %s on Release %s with a note containing %q; events on it: %s", reason, release, note, seen)
		case <-time.After(cluster.PollInterval):
		}
	}
}

// dumpState logs the Releases, the route's weights and the end of the analyzer's log.
func (s *scenario) dumpState() {
	ctx := context.WithoutCancel(s.t.Context())
	out, err := env.Kubectl(ctx, "get", "releases.slogate.io", "-n", s.ns, "-o", "yaml")
	s.t.Logf("releases in %s (%v):\n%s", s.ns, err, out)
	s.t.Logf("route weights: %v", s.weights.get())
	s.t.Logf("analyzer log (end):\n%s", analyzer.Log(20000))
}

// ---- measurements -------------------------------------------------------------------------------

// measurements returns the Release's measurements of a template, with a verdict if one is given.
func measurements(rel *slogatev1alpha1.Release, template string, verdict slogatev1alpha1.Verdict) []slogatev1alpha1.Measurement {
	var out []slogatev1alpha1.Measurement
	for _, m := range rel.Status.Measurements {
		if m.Template == template && (verdict == "" || m.Verdict == verdict) {
			out = append(out, m)
		}
	}
	return out
}

// countVerdicts counts the Release's measurements by verdict.
func countVerdicts(rel *slogatev1alpha1.Release) map[slogatev1alpha1.Verdict]int {
	out := map[slogatev1alpha1.Verdict]int{}
	for _, m := range rel.Status.Measurements {
		out[m.Verdict]++
	}
	return out
}

// mustValue parses a measurement's value.
func mustValue(t *testing.T, m slogatev1alpha1.Measurement) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(m.Value, 64)
	if err != nil {
		t.Fatalf("measurement %s/%s at %s has no number as its value (%q): %v", m.Template, m.Metric, m.Time, m.Value, err)
	}
	return v
}

// mustValuesWithin checks that every measurement of ms has a value in [lo, hi].
func mustValuesWithin(t *testing.T, ms []slogatev1alpha1.Measurement, lo, hi float64) {
	t.Helper()
	for _, m := range ms {
		if v := mustValue(t, m); v < lo || v > hi {
			t.Errorf("measurement %s/%s (%s, weight %d) = %v, want within [%v, %v]", m.Template, m.Metric, m.Verdict, m.Weight, v, lo, hi)
		}
	}
}

// mustReproduce sends a measurement's recorded query to Prometheus again, at the recorded time, and
// checks that the value is the recorded one within a relative tolerance. The recorded time has
// whole seconds and the query was evaluated a fraction of a second later, so the window may hold
// one more scrape: the value at the next second is accepted too. Samples scraped just before the
// evaluation but stored after it are in the second answer and not in the first, so the values
// differ a little on a busy machine.
func mustReproduce(t *testing.T, p *prom.Server, m slogatev1alpha1.Measurement, tolerance float64) {
	t.Helper()
	want := mustValue(t, m)
	var got []float64
	for _, at := range []time.Time{m.Time.Time, m.Time.Add(time.Second)} {
		v, _, _, err := p.API().Query(t.Context(), m.Query, at)
		if err != nil {
			t.Errorf("re-sending the query of %s/%s at %s: %v", m.Template, m.Metric, at, err)
			return
		}
		vec, ok := v.(model.Vector)
		if !ok || len(vec) != 1 {
			t.Errorf("re-sending the query of %s/%s at %s: got %v, want one sample", m.Template, m.Metric, at, v)
			return
		}
		f := float64(vec[0].Value)
		got = append(got, f)
		if math.Abs(f-want) <= tolerance*math.Abs(want) {
			return
		}
	}
	t.Errorf("measurement %s/%s recorded %v at %s; Prometheus answers %v for its query then", m.Template, m.Metric, want, m.Time, got)
}

// ---- route weights ------------------------------------------------------------------------------

// weightLog is the canary weight of every change of the route, in the order the API made them,
// without repeats, with the time each was seen.
type weightLog struct {
	mu      sync.Mutex
	weights []int32
	seen    []time.Time
}

func (w *weightLog) get() []int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.weights)
}

// since is when the route was first seen with weight on the canary (zero if never).
func (w *weightLog) since(weight int32) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := slices.Index(w.weights, weight); i >= 0 {
		return w.seen[i]
	}
	return time.Time{}
}

// watchWeights records the route's canary weight at every change, from one watch (so in order).
func watchWeights(t *testing.T, ns string) *weightLog {
	t.Helper()
	wc, err := client.NewWithWatch(env.RESTConfig(), client.Options{Scheme: env.Scheme()})
	if err != nil {
		t.Fatalf("watch client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	w, err := wc.Watch(ctx, &gatewayv1.HTTPRouteList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatalf("watching HTTPRoutes: %v", err)
	}
	log := &weightLog{}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); w.Stop(); wg.Wait() })
	wg.Go(func() {
		for ev := range w.ResultChan() {
			r, ok := ev.Object.(*gatewayv1.HTTPRoute)
			if !ok || r.Name != routeName {
				continue
			}
			cw := canaryWeight(r)
			log.mu.Lock()
			if n := len(log.weights); n == 0 || log.weights[n-1] != cw {
				log.weights = append(log.weights, cw)
				log.seen = append(log.seen, time.Now())
			}
			log.mu.Unlock()
		}
	})
	return log
}
