package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math"
	"strings"
	"sync"
	"text/template"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var (
	//go:embed release.yaml
	releaseYAML string
	//go:embed web.yaml
	webYAML string
)

// Names in each namespace of the rollback section.
const (
	webApp   = "web"
	webRoute = "web-route"
)

// rollbackConfig is the schedule of the rollback section.
type rollbackConfig struct {
	failing, healthy int
	// batch is how many releases run at once.
	batch int
	// Weight is the canary's share while it is analysed; Interval, Window, Count and MinRequests
	// are the SLO check's (release.yaml).
	Weight      int
	Interval    time.Duration
	Window      time.Duration
	Count       int
	MinRequests int
	// rate is the requests per second the data plane sends on each route.
	rate float64
	// failingErrors and healthyErrors are the canary's DEMO_ERROR_RATE.
	failingErrors, healthyErrors float64
	timeout                      time.Duration
}

func defaultRollbackConfig() rollbackConfig {
	return rollbackConfig{
		failing: 10, healthy: 20, batch: 10,
		Weight: 20, Interval: 2 * time.Second, Window: 10 * time.Second, Count: 3, MinRequests: 100,
		rate: 100, failingErrors: 0.2, healthyErrors: 0.005, timeout: 3 * time.Minute,
	}
}

// releaseRun is one release of the section.
type releaseRun struct {
	ns      string
	failing bool
	// canaryOn is when the route was first seen sending the canary traffic; stableAgain when it
	// was next seen at 100 % stable.
	canaryOn, stableAgain time.Time
	phase                 slogatev1alpha1.ReleasePhase
	release               *slogatev1alpha1.Release
}

// runRollback measures the time from a failing canary taking traffic to the route back at 100 %
// stable, and checks that healthy canaries are promoted.
func runRollback(ctx context.Context, e *env, cfg rollbackConfig, s *section) error {
	s.setup = append(s.setup,
		fmt.Sprintf("Environment: the local control plane (kwok), bin/webhook and bin/analyzer as local processes (info logging), a real Prometheus "+
			"(Debian package) scraping every %s (scrape manager applying new targets at most every 5 s), demo-app processes per revision "+
			"and traffic of %.0f requests/s per HTTPRoute split by its live weights (e2e/dataplane).", scrapeInterval, cfg.rate),
		fmt.Sprintf("Each release in a namespace of its own: a 2-replica Deployment `web` at 0 %% errors, the seed's two Services and HTTPRoute, "+
			"and a policy of setWeight %d then one analysis step; the release starts with `kubectl apply` of a new image whose DEMO_ERROR_RATE is "+
			"%.1f %% (failing) or %.1f %% (healthy, within the 99 %% SLO).", cfg.Weight, 100*cfg.failingErrors, 100*cfg.healthyErrors),
		fmt.Sprintf("SLO check (release.yaml): canary success rate ≥ 99 %% over a %s window, measured every %s (analysis interval), "+
			"minRequests %d canary requests in the window (fewer: Inconclusive, tolerated 20 times), failureLimit 1 (the second failed "+
			"measurement rolls back), count %d (successes to pass).", cfg.Window, cfg.Interval, cfg.MinRequests, cfg.Count),
		fmt.Sprintf("Time to rollback: from the first moment the route sends the canary traffic (its pods are ready before: the analyzer waits for them) "+
			"to the first moment the route is back at 100 %% stable, both read from the API every 100 ms. The split below uses the Releases' measurement "+
			"times, which the API stores in whole seconds (±1 s). "+
			"%d failing releases, then %d healthy ones, %d at a time, concurrently in one analyzer: honest because each has its own namespace, "+
			"Deployment, route and demo-apps, and the analyzer runs releases concurrently anyway (--concurrency 4); the shared cores make each a little slower.",
			cfg.failing, cfg.healthy, cfg.batch),
	)
	var runs []*releaseRun
	for i := range cfg.failing {
		runs = append(runs, &releaseRun{ns: fmt.Sprintf("bench-rollback-%02d", i+1), failing: true})
	}
	for i := range cfg.healthy {
		runs = append(runs, &releaseRun{ns: fmt.Sprintf("bench-healthy-%02d", i+1)})
	}
	w := newWeightWatch(e.c.Client())
	go w.run(ctx)
	for start := 0; start < len(runs); start += cfg.batch {
		batch := runs[start:min(start+cfg.batch, len(runs))]
		if err := runBatch(ctx, e, cfg, w, batch); err != nil {
			return err
		}
	}

	var ttr, detect, firstData, afterFailed sample
	rolledBackHealthy, promotedHealthy, failingPromoted, failingOther := 0, 0, 0, 0
	var lagNotes []string
	for _, r := range runs {
		if !r.failing {
			switch r.phase {
			case slogatev1alpha1.PhaseSucceeded:
				promotedHealthy++
			case slogatev1alpha1.PhaseRolledBack, slogatev1alpha1.PhaseAborted:
				rolledBackHealthy++
				s.note("Healthy release %s ended %s: %s", r.ns, r.phase, r.release.Status.Message)
			default:
				s.note("Healthy release %s did not end within %s (phase %q).", r.ns, cfg.timeout, r.phase)
			}
			continue
		}
		switch {
		case r.phase == slogatev1alpha1.PhaseSucceeded:
			failingPromoted++
		case r.phase != slogatev1alpha1.PhaseRolledBack:
			failingOther++
			s.note("Failing release %s ended in phase %q.", r.ns, r.phase)
		}
		if r.canaryOn.IsZero() || r.stableAgain.IsZero() {
			continue
		}
		ttr = append(ttr, r.stableAgain.Sub(r.canaryOn).Seconds())
		m := measurementsOf(r.release)
		if f := m.firstFailed; !f.IsZero() {
			detect = append(detect, f.Sub(r.canaryOn).Seconds())
			afterFailed = append(afterFailed, r.stableAgain.Sub(m.lastFailed).Seconds())
		}
		if d, err := dataAvailable(ctx, e, r, cfg); err == nil && !d.IsZero() {
			firstData = append(firstData, d.Sub(r.canaryOn).Seconds())
			if !m.firstFailed.IsZero() {
				lagNotes = append(lagNotes, fmt.Sprintf("%.1f", m.firstFailed.Sub(d).Seconds()))
			}
		}
	}
	if len(ttr) < cfg.failing {
		s.note("%d of %d failing releases have no time to rollback: the route was not seen with canary traffic and back at stable.", cfg.failing-len(ttr), cfg.failing)
	}
	s.add(row{what: fmt.Sprintf("time to rollback (%d failing canaries at %.0f %% errors)", cfg.failing, 100*cfg.failingErrors),
		median: fmt.Sprintf("%.1f s", ttr.median()), spread: spread(ttr, "%.1f", " s"),
		goal: "as early as the data allows", met: ""})
	s.add(row{what: "· canary traffic → Prometheus first shows the breach with ≥ minRequests", median: fmt.Sprintf("%.1f s", firstData.median()), spread: spread(firstData, "%.1f", " s")})
	s.add(row{what: "· canary traffic → analyzer's first Failed measurement", median: fmt.Sprintf("%.1f s", detect.median()), spread: spread(detect, "%.1f", " s")})
	s.add(row{what: "· second (deciding) Failed measurement → route at 100 % stable", median: fmt.Sprintf("%.2f s", afterFailed.median()), spread: spread(afterFailed, "%.2f", " s")})
	s.add(row{what: "failing canaries promoted", median: fmt.Sprintf("%d of %d", failingPromoted, cfg.failing), goal: "0", met: metGoal(failingPromoted == 0)})
	s.add(row{what: "healthy canaries rolled back", median: fmt.Sprintf("%d of %d", rolledBackHealthy, cfg.healthy), goal: "0", met: metGoal(rolledBackHealthy == 0)})
	s.add(row{what: "healthy canaries promoted", median: fmt.Sprintf("%d of %d", promotedHealthy, cfg.healthy), goal: fmt.Sprint(cfg.healthy), met: metGoal(promotedHealthy == cfg.healthy)})
	seed := seedBest(cfg, ttr.median())
	s.add(row{what: "the seed's configuration at best (computed, see below)", median: seed.summary})
	s.notes = append(s.notes, seed.explanation)
	if len(lagNotes) > 0 {
		s.note("Analyzer lag beyond the data: for each failing release, the analyzer's first Failed measurement came %s s after Prometheus "+
			"(queried afterwards at 250 ms steps with the measurement's own query) first showed the breach with at least %d canary requests. "+
			"The measurement interval (%s) bounds this lag; the deciding second failure adds one more interval (failureLimit 1).",
			strings.Join(lagNotes, ", "), cfg.MinRequests, cfg.Interval)
	}
	s.note("What bounds the time to rollback here: the canary needs %d requests in the window (at %.0f %% of %.0f requests/s: %.1f s of traffic), "+
		"Prometheus needs a scrape (every %s) after them, then the analyzer measures on its %s interval and needs two Failed measurements; "+
		"the rollback itself is one route write.", cfg.MinRequests, float64(cfg.Weight), cfg.rate,
		float64(cfg.MinRequests)/(cfg.rate*float64(cfg.Weight)/100), scrapeInterval, cfg.Interval)
	return nil
}

// runBatch runs releases at once: set up, start, wait for each to end.
func runBatch(ctx context.Context, e *env, cfg rollbackConfig, w *weightWatch, batch []*releaseRun) error {
	g, gctx := errgroup.WithContext(ctx)
	var nss []string
	for _, r := range batch {
		nss = append(nss, r.ns)
		g.Go(func() error { return setUpRelease(gctx, e, cfg, r) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	e.driver.Serve(nss...)
	for _, r := range batch {
		e.driver.SetRate(types.NamespacedName{Namespace: r.ns, Name: webRoute}, cfg.rate)
		w.track(r.ns)
	}
	// The stable revision serves and Prometheus sees it before the release starts.
	for _, r := range batch {
		if err := waitStableScraped(ctx, e, r.ns); err != nil {
			return err
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	for _, r := range batch {
		g.Go(func() error { return release(gctx, e, cfg, w, r) })
	}
	err := g.Wait()
	e.driver.Forget(nss...)
	return err
}

func render(text string, data any) ([]byte, error) {
	t, err := template.New("").Delims("[[", "]]").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func setUpRelease(ctx context.Context, e *env, cfg rollbackConfig, r *releaseRun) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns,
		Labels: map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}}}
	if err := e.c.Client().Create(ctx, ns); err != nil {
		return fmt.Errorf("creating namespace %s: %w", r.ns, err)
	}
	objs, err := render(releaseYAML, cfg)
	if err != nil {
		return err
	}
	v1, err := render(webYAML, map[string]string{"Version": "1.0.0", "ErrorRate": "0"})
	if err != nil {
		return err
	}
	if _, err := e.c.ApplyYAML(ctx, r.ns, objs); err != nil {
		return err
	}
	if _, err := e.c.KubectlInput(ctx, v1, "apply", "-n", r.ns, "-f", "-"); err != nil {
		return err
	}
	return pollUntil(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		var d appsv1.Deployment
		if err := e.c.Client().Get(ctx, types.NamespacedName{Namespace: r.ns, Name: webApp}, &d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return d.Status.AvailableReplicas == 2 && d.Status.UpdatedReplicas == 2, nil
	})
}

// waitStableScraped waits until Prometheus has a rate for the stable revision of ns.
func waitStableScraped(ctx context.Context, e *env, ns string) error {
	q := fmt.Sprintf(`sum(rate(http_requests_total{namespace=%q,app=%q}[10s])) > 0`, ns, webApp)
	return pollUntil(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		v, err := e.prom.Query(ctx, q)
		if err != nil {
			return false, nil
		}
		return v.String() != "" && !strings.Contains(v.String(), "[]"), nil
	})
}

// release applies the new image and follows the release to its end.
func release(ctx context.Context, e *env, cfg rollbackConfig, w *weightWatch, r *releaseRun) error {
	rate := cfg.healthyErrors
	if r.failing {
		rate = cfg.failingErrors
	}
	v2, err := render(webYAML, map[string]string{"Version": "2.0.0", "ErrorRate": fmt.Sprint(rate)})
	if err != nil {
		return err
	}
	if _, err := e.c.KubectlInput(ctx, v2, "apply", "-n", r.ns, "-f", "-"); err != nil {
		return err
	}
	err = pollUntil(ctx, cfg.timeout, func(ctx context.Context) (bool, error) {
		var list slogatev1alpha1.ReleaseList
		if err := e.c.Client().List(ctx, &list, client.InNamespace(r.ns)); err != nil {
			return false, err
		}
		for i := range list.Items {
			rel := &list.Items[i]
			r.release, r.phase = rel, rel.Status.Phase
			if rel.Status.Phase.IsTerminal() {
				return true, nil
			}
		}
		return false, nil
	})
	// The phase is recorded after the route write (traffic first): give the route reader, which
	// polls every 100 ms, the time to see the route back at stable.
	_ = pollUntil(ctx, 5*time.Second, func(context.Context) (bool, error) {
		on, off := w.times(r.ns)
		return on.IsZero() || !off.IsZero(), nil
	})
	r.canaryOn, r.stableAgain = w.times(r.ns)
	var weights []string
	if r.release != nil {
		for _, m := range r.release.Status.Measurements {
			weights = append(weights, fmt.Sprintf("%s@%s", m.Verdict, m.Time.Format("15:04:05")))
		}
	}
	logf("rollback: %s phase %s, canary on %s, stable again %s, measurements %v", r.ns, r.phase,
		r.canaryOn.Format("15:04:05.000"), r.stableAgain.Format("15:04:05.000"), weights)
	if err != nil {
		logf("rollback: release in %s did not end: phase %q", r.ns, r.phase)
	}
	return nil
}

// measurementTimes are the times of a release's measurements that matter here.
type measurementTimes struct {
	firstFailed, lastFailed time.Time
}

func measurementsOf(rel *slogatev1alpha1.Release) measurementTimes {
	var m measurementTimes
	if rel == nil {
		return m
	}
	for _, x := range rel.Status.Measurements {
		if x.Verdict != slogatev1alpha1.VerdictFailed {
			continue
		}
		if m.firstFailed.IsZero() || x.Time.Time.Before(m.firstFailed) {
			m.firstFailed = x.Time.Time
		}
		if x.Time.Time.After(m.lastFailed) {
			m.lastFailed = x.Time.Time
		}
	}
	return m
}

// dataAvailable is the first time, at 250 ms steps from the canary's first traffic, at which
// Prometheus (queried afterwards) had at least MinRequests canary requests in the window and a
// success rate failing the check: the earliest a measurement could have failed.
func dataAvailable(ctx context.Context, e *env, r *releaseRun, cfg rollbackConfig) (time.Time, error) {
	if r.release == nil {
		return time.Time{}, nil
	}
	rev := r.release.Spec.CanaryRevision
	sel := fmt.Sprintf(`namespace=%q,app=%q,slogate_io_revision=%q`, r.ns, webApp, rev)
	w := fmt.Sprintf("%ds", int(cfg.Window.Seconds()))
	count := fmt.Sprintf(`sum(increase(http_requests_total{%s}[%s])) or vector(0)`, sel, w)
	success := fmt.Sprintf(`100 * (1 - ((sum(rate(http_requests_total{%s,status=~"5.."}[%s])) or vector(0)) / sum(rate(http_requests_total{%s}[%s]))))`, sel, w, sel, w)
	for t := r.canaryOn; t.Before(r.stableAgain.Add(time.Second)); t = t.Add(250 * time.Millisecond) {
		n, err := queryAt(ctx, e, count, t)
		if err != nil {
			return time.Time{}, err
		}
		if n < float64(cfg.MinRequests) {
			continue
		}
		v, err := queryAt(ctx, e, success, t)
		if err != nil {
			return time.Time{}, err
		}
		if v < 99 {
			return t, nil
		}
	}
	return time.Time{}, nil
}

func queryAt(ctx context.Context, e *env, q string, t time.Time) (float64, error) {
	v, _, _, err := e.prom.API().Query(ctx, q, t)
	if err != nil {
		return 0, err
	}
	f, ok := scalarOf(v)
	if !ok {
		return math.NaN(), nil
	}
	return f, nil
}

// weightWatch reads every tracked namespace's route every 100 ms and records when the canary
// first got traffic and when, after that, the route was first back at 100 % stable.
type weightWatch struct {
	c client.Client

	mu     sync.Mutex
	on     map[string]time.Time
	off    map[string]time.Time
	active map[string]bool
}

func newWeightWatch(c client.Client) *weightWatch {
	return &weightWatch{c: c, on: map[string]time.Time{}, off: map[string]time.Time{}, active: map[string]bool{}}
}

func (w *weightWatch) track(ns string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active[ns] = true
}

func (w *weightWatch) times(ns string) (on, off time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.on[ns], w.off[ns]
}

func (w *weightWatch) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var list gatewayv1.HTTPRouteList
		if err := w.c.List(ctx, &list); err != nil {
			continue
		}
		now := time.Now()
		w.mu.Lock()
		for i := range list.Items {
			rt := &list.Items[i]
			if !w.active[rt.Namespace] || rt.Name != webRoute {
				continue
			}
			canary := canaryWeight(rt)
			switch {
			case canary > 0 && w.on[rt.Namespace].IsZero():
				w.on[rt.Namespace] = now
			case canary == 0 && !w.on[rt.Namespace].IsZero() && w.off[rt.Namespace].IsZero():
				w.off[rt.Namespace] = now
			}
		}
		w.mu.Unlock()
	}
}

// canaryWeight is the weight of web-canary on the route's rules (0 when it has none).
func canaryWeight(rt *gatewayv1.HTTPRoute) int32 {
	var total int32
	for _, rule := range rt.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			if string(ref.Name) == "web-canary" && ref.Weight != nil {
				total += *ref.Weight
			}
		}
	}
	return total
}

// pollUntil polls cond every 100 ms until it is true, errs, or timeout passes.
func pollUntil(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %s", errTimeout, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
