package main

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/prom"
)

//go:embed scale.yaml
var scaleYAML string

type scaleConfig struct {
	releases, namespaces int
	// Interval is the analysis interval of the grouped templates.
	Interval time.Duration
	// intervals is the length of the steady window, in intervals.
	intervals int
	// templates is how many grouped templates the analysis step names (scale.yaml).
	templates int
	// rampTimeout bounds the wait for every release to be analysed.
	rampTimeout time.Duration
	// parallel is how many API calls the bench makes at once to set up and start the releases.
	parallel int
}

func defaultScaleConfig() scaleConfig {
	return scaleConfig{releases: 1000, namespaces: 10, Interval: 30 * time.Second, intervals: 3, templates: 2,
		rampTimeout: 8 * time.Minute, parallel: 16}
}

const (
	scaleGoalRSS = 256 << 20
	scaleLabel   = "bench"
)

type scaleApp struct{ ns, name string }

// runScale runs cfg.releases releases at once in one analyzer and reads what it cost.
func runScale(ctx context.Context, e *env, cfg scaleConfig, s *section) error {
	s.setup = append(s.setup,
		fmt.Sprintf("%s Deployments of 1 replica (kwok pods), %d per namespace in %d opted-in namespaces, each with the seed's two Services and an HTTPRoute; "+
			"one ClusterRolloutPolicy (scale.yaml): setWeight 5, an analysis step naming %d ClusterAnalysisTemplates whose queries name no release "+
			"(`sum by (namespace, app, slogate_io_revision) (...)`, so the analyzer's grouped path answers them), interval %s, count 1000 "+
			"(the step never ends during the run), then a 1 h pause.", thousands(cfg.releases), cfg.releases/cfg.namespaces, cfg.namespaces, cfg.templates, cfg.Interval),
		"The canary pods run no process: one exporter of the bench serves http_requests_total for every canary revision (10 successful requests/s each), "+
			"scraped by the same Prometheus every second, so each release finds its own sample in the grouped result.",
		fmt.Sprintf("The analyzer is restarted before the releases start (a fresh process: its peak RSS and CPU are this section's alone), with its installed "+
			"defaults (--concurrency 4, no client-side rate limit). Every release is started by an update of the Deployment's image (%d at a time), held by the webhook.", cfg.parallel),
		fmt.Sprintf("The steady window: once every release has its first measurement, %d analysis intervals (%s). Reconcile latency from the analyzer's "+
			"slogate_release_reconcile_duration_seconds histogram (quantiles interpolated in its buckets); API requests from its rest_client_requests_total; "+
			"queries from its slogate_analysis_query_duration_seconds_count and Prometheus's prometheus_engine_query_duration_seconds_count{slice=\"inner_eval\"}; "+
			"CPU from /proc/<pid>/stat and peak RSS from VmHWM in /proc/<pid>/status. Waits from the Releases' measurement times (whole seconds, as the API stores them).",
			cfg.intervals, time.Duration(cfg.intervals)*cfg.Interval),
	)
	x, err := startExporter()
	if err != nil {
		return err
	}
	defer x.stop()
	if err := e.targets.setExtra([]prom.Target{{Address: x.addr, Labels: map[string]string{"component": "bench-exporter"}}}); err != nil {
		return err
	}
	objs, err := render(scaleYAML, cfg)
	if err != nil {
		return err
	}
	if _, err := e.c.ApplyYAML(ctx, "", objs); err != nil {
		return err
	}

	apps := make([]scaleApp, cfg.releases)
	for i := range apps {
		apps[i] = scaleApp{ns: fmt.Sprintf("bench-scale-%02d", i%cfg.namespaces), name: fmt.Sprintf("s%04d", i)}
	}
	begin := time.Now()
	for i := range cfg.namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-scale-%02d", i),
			Labels: map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}}}
		if err := e.c.Client().Create(ctx, ns); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	if err := forEach(ctx, cfg.parallel, apps, func(ctx context.Context, a scaleApp) error {
		for _, o := range scaleObjects(a) {
			if err := e.c.Client().Create(ctx, o); err != nil {
				return fmt.Errorf("creating %T %s/%s: %w", o, a.ns, o.GetName(), err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	created := time.Since(begin)
	if err := pollUntil(ctx, 10*time.Minute, func(ctx context.Context) (bool, error) {
		n, err := availableScaleDeployments(ctx, e)
		return n >= cfg.releases, err
	}); err != nil {
		return fmt.Errorf("waiting for the Deployments: %w", err)
	}
	ready := time.Since(begin)
	logf("scale: %d Deployments, Services and routes created in %s, available in %s", cfg.releases, created.Round(time.Second), ready.Round(time.Second))

	if err := e.restartAnalyzer(ctx); err != nil {
		return err
	}
	pid, err := e.analyzerPid()
	if err != nil {
		return err
	}
	a0, err := scrape(ctx, e.analyzerMetrics)
	if err != nil {
		return err
	}
	rampCPU, err := startCPU(pid)
	if err != nil {
		return err
	}

	// Start every release: the image changes; the webhook answers with the canary revision.
	trigger := time.Now()
	if err := forEach(ctx, cfg.parallel, apps, func(ctx context.Context, a scaleApp) error {
		var d appsv1.Deployment
		if err := e.c.Client().Get(ctx, client.ObjectKey{Namespace: a.ns, Name: a.name}, &d); err != nil {
			return err
		}
		patch := client.MergeFrom(d.DeepCopy())
		d.Spec.Template.Spec.Containers[0].Image = "example.com/scale:2.0.0"
		if err := e.c.Client().Patch(ctx, &d, patch); err != nil {
			return fmt.Errorf("updating %s/%s: %w", a.ns, a.name, err)
		}
		rev := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
		if rev == "" || !d.Spec.Paused {
			return fmt.Errorf("the webhook did not hold %s/%s (paused %t, canary revision %q)", a.ns, a.name, d.Spec.Paused, rev)
		}
		x.add(a.ns, a.name, rev)
		return nil
	}); err != nil {
		return err
	}
	triggered := time.Since(trigger)
	logf("scale: %d releases started in %s", cfg.releases, triggered.Round(time.Second))

	var analysing int
	rampErr := pollUntil(ctx, cfg.rampTimeout, func(ctx context.Context) (bool, error) {
		if err := e.analyzerGone(); err != nil {
			return false, err
		}
		rels, err := scaleReleases(ctx, e)
		if err != nil {
			return false, err
		}
		analysing = 0
		for i := range rels {
			if len(rels[i].Status.Measurements) > 0 {
				analysing++
			}
		}
		return analysing >= cfg.releases, nil
	})
	ramp := time.Since(trigger)
	logf("scale: %d of %d releases analysed after %s", analysing, cfg.releases, ramp.Round(time.Second))
	if err := e.analyzerGone(); err != nil {
		return err
	}
	if rampErr != nil {
		s.note("**Not every release reached its analysis:** %d of %d had a measurement %s after they were started (the wait was bounded there); the steady window below measures what was live.",
			analysing, cfg.releases, ramp.Round(time.Second))
	}
	if err := rampCPU.stop(); err != nil {
		return err
	}
	// The steady window: a snapshot at every interval boundary, so each number has one sample per interval.
	var snaps []scaleSnapshot
	for k := 0; k <= cfg.intervals; k++ {
		if k > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(cfg.Interval):
			}
		}
		snap, err := takeScaleSnapshot(ctx, e, pid)
		if err != nil {
			return err
		}
		snaps = append(snaps, snap)
	}
	a1, a2 := snaps[0].analyzer, snaps[len(snaps)-1].analyzer
	hwm, err := statusKB(pid, "VmHWM")
	if err != nil {
		return err
	}
	rels, err := scaleReleases(ctx, e)
	if err != nil {
		return err
	}

	live, rolledBack := 0, 0
	reasons := map[string]string{}
	for i := range rels {
		switch {
		case !rels[i].Status.Phase.IsTerminal():
			live++
		case rels[i].Status.Phase == slogatev1alpha1.PhaseRolledBack:
			rolledBack++
		}
		if rels[i].Status.Phase.IsTerminal() {
			reasons[rels[i].Status.Reason] = rels[i].Status.Message
		}
	}
	for reason, msg := range reasons {
		s.note("Releases ended with reason %s, for example: %s", reason, oneLine(msg))
	}
	const reconcile = "slogate_release_reconcile_duration_seconds"
	rampRec := a1.histogram(reconcile, nil).minus(a0.histogram(reconcile, nil))
	if !a2.has(reconcile) {
		s.note("The analyzer exports no %s; reconcile histograms it has: %s.", reconcile, strings.Join(a2.names("reconcile"), ", "))
	}
	innerEval := map[string]string{"slice": "inner_eval"}
	var recP50, recP99, recN, queries, promQueries, measurements, apiSteady, cores sample
	verdicts := map[string]float64{}
	for k := 1; k < len(snaps); k++ {
		prev, cur := snaps[k-1], snaps[k]
		per := cur.at.Sub(prev.at).Seconds() / cfg.Interval.Seconds() // intervals in this slice (about 1)
		h := cur.analyzer.histogram(reconcile, nil).minus(prev.analyzer.histogram(reconcile, nil))
		recP50 = append(recP50, h.quantile(0.5))
		recP99 = append(recP99, h.quantile(0.99))
		recN = append(recN, h.count)
		queries = append(queries, (cur.analyzer.sum("slogate_analysis_query_duration_seconds", nil)-prev.analyzer.sum("slogate_analysis_query_duration_seconds", nil))/per)
		promQueries = append(promQueries, (cur.prom.sum("prometheus_engine_query_duration_seconds", innerEval)-prev.prom.sum("prometheus_engine_query_duration_seconds", innerEval))/per)
		measurements = append(measurements, (cur.analyzer.sum("slogate_analysis_measurements_total", nil)-prev.analyzer.sum("slogate_analysis_measurements_total", nil))/per)
		apiSteady = append(apiSteady, (cur.analyzer.sum("rest_client_requests_total", nil)-prev.analyzer.sum("rest_client_requests_total", nil))/cur.at.Sub(prev.at).Seconds())
		cores = append(cores, (cur.cpu-prev.cpu).Seconds()/cur.at.Sub(prev.at).Seconds())
	}
	for _, v := range []string{"Successful", "Failed", "Inconclusive", "Error"} {
		verdicts[v] = a2.sum("slogate_analysis_measurements_total", map[string]string{"verdict": v}) - a1.sum("slogate_analysis_measurements_total", map[string]string{"verdict": v})
	}
	apiRamp := (a1.sum("rest_client_requests_total", nil) - a0.sum("rest_client_requests_total", nil)) / ramp.Seconds()
	msS := func(x sample) sample {
		out := make(sample, len(x))
		for i, v := range x {
			out[i] = 1000 * v
		}
		return out
	}
	// Measurement times are whole seconds: the window's edges are widened to whole seconds too.
	waits := releaseWaits(rels, cfg.Interval, time.Time{}, time.Now().Add(time.Hour))
	steadyWaits := releaseWaits(rels, cfg.Interval, snaps[0].at.Truncate(time.Second), snaps[len(snaps)-1].at.Add(time.Second))

	s.add(row{what: "releases live in one analyzer", median: fmt.Sprintf("%d", live), spread: fmt.Sprintf("%d rolled back, %d analysed before the window", rolledBack, analysing),
		goal: thousands(cfg.releases), met: metGoal(live >= cfg.releases)})
	s.add(row{what: "setup: Deployments, Services, routes created → all available", median: fmt.Sprintf("%.0f s", ready.Seconds()), spread: fmt.Sprintf("created in %.0f s", created.Seconds())})
	s.add(row{what: "start: image updates sent → every release measured once", median: fmt.Sprintf("%.0f s", ramp.Seconds()),
		spread: fmt.Sprintf("updates sent in %.0f s; %.1f releases started per second", triggered.Seconds(), float64(analysing)/ramp.Seconds())})
	s.add(row{what: "reconcile latency p50 (steady, per interval)", median: fmt.Sprintf("%.1f ms", msS(recP50).median()), spread: spread(msS(recP50), "%.1f", " ms")})
	s.add(row{what: "reconcile latency p99 (steady, per interval)", median: fmt.Sprintf("%.1f ms", msS(recP99).median()), spread: spread(msS(recP99), "%.1f", " ms")})
	s.add(row{what: "reconciles per interval (steady)", median: fmt.Sprintf("%.0f", recN.median()), spread: spread(recN, "%.0f", "")})
	s.add(row{what: "reconcile latency p50 / p99 (start)", median: secs(rampRec.quantile(0.5)) + " / " + secs(rampRec.quantile(0.99)), spread: fmt.Sprintf("n=%.0f reconciles", rampRec.count)})
	s.add(row{what: "peak RSS of the analyzer (VmHWM)", median: fmt.Sprintf("%.0f MiB", float64(hwm)/1024), goal: "< 256 MiB", met: metGoal(hwm*1024 < scaleGoalRSS)})
	s.add(row{what: "analyzer CPU (steady, per interval)", median: fmt.Sprintf("%.2f cores", cores.median()), spread: spread(cores, "%.2f", " cores")})
	s.add(row{what: "analyzer CPU (start)", median: fmt.Sprintf("%.2f cores", rampCPU.cores()), spread: fmt.Sprintf("%.1f CPU-s over %.0f s", rampCPU.cpu.Seconds(), rampCPU.wall.Seconds())})
	s.add(row{what: "API requests per second (steady, per interval)", median: fmt.Sprintf("%.1f", apiSteady.median()), spread: spread(apiSteady, "%.1f", "")})
	s.add(row{what: "API requests per second (start)", median: fmt.Sprintf("%.1f", apiRamp)})
	s.add(row{what: fmt.Sprintf("Prometheus queries per analysis interval (analyzer; %d templates)", cfg.templates), median: fmt.Sprintf("%.1f", queries.median()), spread: spread(queries, "%.1f", ""),
		goal: fmt.Sprintf("%d (one per template)", cfg.templates), met: metGoal(math.Round(queries.max()) <= float64(cfg.templates))})
	s.add(row{what: "Prometheus queries per analysis interval (Prometheus's own count)", median: fmt.Sprintf("%.1f", promQueries.median()), spread: spread(promQueries, "%.1f", "")})
	s.add(row{what: "measurements per analysis interval", median: fmt.Sprintf("%.0f", measurements.median()), spread: spread(measurements, "%.0f", ""),
		goal: fmt.Sprintf("%s (releases × metrics)", thousands(cfg.releases*cfg.templates))})
	s.note("Verdicts of the measurements in the steady window: %.0f Successful, %.0f Failed, %.0f Inconclusive, %.0f Error.",
		verdicts["Successful"], verdicts["Failed"], verdicts["Inconclusive"], verdicts["Error"])
	s.add(row{what: "longest wait of a release for a measurement (steady window)", median: fmt.Sprintf("%.0f s", steadyWaits.max.Seconds()),
		spread: fmt.Sprintf("p99 %.0f s, p50 %.0f s over %d measurements (worst: %s)", steadyWaits.p99.Seconds(), steadyWaits.p50.Seconds(), steadyWaits.n, steadyWaits.worst),
		goal:   fmt.Sprintf("≤ %s (one interval)", cfg.Interval), met: metGoal(steadyWaits.max <= cfg.Interval)})
	s.add(row{what: "longest wait of a release for a measurement (whole run, start included)", median: fmt.Sprintf("%.0f s", waits.max.Seconds()),
		spread: fmt.Sprintf("p99 %.0f s, p50 %.0f s over %d measurements (worst: %s)", waits.p99.Seconds(), waits.p50.Seconds(), waits.n, waits.worst),
		goal:   fmt.Sprintf("≤ %s (one interval)", cfg.Interval), met: metGoal(waits.max <= cfg.Interval)})
	if waits.max > cfg.Interval {
		s.note("**Goal missed:** a release waited up to %.0f s for a measurement that was due (%.0f s in the steady window), %.0f s (%.0f %%) more than the %s interval. "+
			"A wait is the time from when a metric was due (the step's start for the first measurement, the last measurement plus the interval after that) "+
			"to when the analyzer took it; the analyzer works its queue with --concurrency 4 reconciles at a time, each reading the Deployment, the Release and the "+
			"routes from the API server and writing the Release status, so the reconcile latency above times the releases due at once bounds the wait. "+
			"While releases are starting, the same queue holds their setup work (canary Deployment, Service pins, route weights: several reconciles each), "+
			"and the analyses already due wait behind it.",
			waits.max.Seconds(), steadyWaits.max.Seconds(), (waits.max - cfg.Interval).Seconds(), 100*(waits.max.Seconds()/cfg.Interval.Seconds()-1), cfg.Interval)
	}
	s.note("The grouped path evaluates a query at the start of its interval bucket (the clock truncated to the interval) and shares the answer: "+
		"a release measured late in a bucket is judged on data up to one interval (%s) old. That is the price of one query per template; the "+
		"time-to-rollback section uses per-release queries, which are evaluated when the measurement is taken.", cfg.Interval)
	if recN.median() > 1.5*float64(live) {
		s.note("Reconciles per interval: %.0f for %d live releases, %.1f per release, where one measurement per metric is due per interval: "+
			"each measurement writes the Release status, and the analyzer's watch on Releases enqueues the release again for its own write.",
			recN.median(), live, recN.median()/float64(max(live, 1)))
	}
	counts := clusterObjectCounts(ctx, e)
	if hwm*1024 >= scaleGoalRSS {
		s.note("**Goal missed:** peak RSS %.0f MiB is %.0f MiB (%.0f %%) over 256 MiB. What bounds it: the analyzer's informers hold every object of the kinds it "+
			"watches or reads through its cached client, cluster-wide, whether or not a release uses it (%s at the end of the run), and each Release's status "+
			"carries up to 64 measurements with their query text.", float64(hwm)/1024, float64(hwm)/1024-256, 100*(float64(hwm)/1024/256-1), counts)
	} else {
		s.note("Objects in the cluster at the end of the run, which the analyzer's informers may hold: %s.", counts)
	}
	if math.Round(queries.max()) > float64(cfg.templates) {
		s.note("**Goal missed:** %.1f queries in an interval for %d grouped templates (%.1f per template). The grouped path sends one query per "+
			"(address, query, interval bucket): a bucket is the interval on the clock (now truncated to the interval), so a release whose measurement "+
			"falls in a new bucket sends the next query early; per-release templates would send %s.", queries.max(), cfg.templates, queries.max()/float64(cfg.templates),
			thousands(cfg.releases*cfg.templates))
	}
	return nil
}

func secs(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v < 1 {
		return fmt.Sprintf("%.1f ms", 1000*v)
	}
	return fmt.Sprintf("%.2f s", v)
}

// scaleObjects are what a user has for one application: the Deployment, the two Services of the
// seed and its HTTPRoute.
func scaleObjects(a scaleApp) []client.Object {
	labels := map[string]string{"app": a.name, scaleLabel: "scale"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": a.name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/scale:1.0.0",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
			},
		},
	}
	svc := func(name string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: a.ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": a.name},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}
	}
	ref := func(name string, weight int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(80))},
			Weight:                 ptr.To(weight),
		}}
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: a.name + "-route", Namespace: a.ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra"))}}},
			Rules:           []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{ref(a.name+"-stable", 100), ref(a.name+"-canary", 0)}}},
		},
	}
	return []client.Object{svc(a.name + "-stable"), svc(a.name + "-canary"), route, d}
}

func availableScaleDeployments(ctx context.Context, e *env) (int, error) {
	var list appsv1.DeploymentList
	if err := e.c.Client().List(ctx, &list, client.MatchingLabels{scaleLabel: "scale"}); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		d := &list.Items[i]
		if d.Labels[slogatev1alpha1.ManagedByLabel] == "" && d.Status.AvailableReplicas >= 1 && d.Status.UpdatedReplicas >= 1 {
			n++
		}
	}
	return n, nil
}

func scaleReleases(ctx context.Context, e *env) ([]slogatev1alpha1.Release, error) {
	var list slogatev1alpha1.ReleaseList
	if err := e.c.Client().List(ctx, &list); err != nil {
		return nil, err
	}
	out := list.Items[:0]
	for _, r := range list.Items {
		if strings.HasPrefix(r.Namespace, "bench-scale-") {
			out = append(out, r)
		}
	}
	return out, nil
}

type waitStats struct {
	max, p50, p99 time.Duration
	n             int
	worst         string
}

// releaseWaits is how long each measurement of the analysis step came after it was due: the
// step's start for a metric's first, its previous measurement plus the interval after that.
func releaseWaits(rels []slogatev1alpha1.Release, interval time.Duration, from, to time.Time) waitStats {
	var all []time.Duration
	var st waitStats
	for i := range rels {
		r := &rels[i]
		if r.Status.StepStartedAt == nil {
			continue
		}
		byMetric := map[string][]time.Time{}
		for _, m := range r.Status.Measurements {
			if m.Step != r.Status.StepIndex {
				continue
			}
			k := m.Template + "/" + m.Metric
			byMetric[k] = append(byMetric[k], m.Time.Time)
		}
		for k, ts := range byMetric {
			sort.Slice(ts, func(a, b int) bool { return ts[a].Before(ts[b]) })
			due := r.Status.StepStartedAt.Time
			for _, t := range ts {
				w := max(0, t.Sub(due))
				if t.Before(from) || t.After(to) {
					due = t.Add(interval)
					continue
				}
				all = append(all, w)
				if w > st.max {
					st.max = w
					st.worst = fmt.Sprintf("%s/%s %s", r.Namespace, r.Name, k)
				}
				due = t.Add(interval)
			}
		}
	}
	slices.Sort(all)
	st.n = len(all)
	st.p50 = exactQuantile(all, 0.5)
	st.p99 = exactQuantile(all, 0.99)
	return st
}

// forEach calls f for every item, at most parallel at once; the first error stops the rest.
func forEach[T any](ctx context.Context, parallel int, items []T, f func(ctx context.Context, item T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var done atomic.Int64
	for _, it := range items {
		g.Go(func() error {
			if err := f(gctx, it); err != nil {
				return err
			}
			done.Add(1)
			return nil
		})
	}
	return g.Wait()
}

// scaleSnapshot is what the steady window reads at each interval boundary.
type scaleSnapshot struct {
	at             time.Time
	analyzer, prom families
	cpu            time.Duration
}

func takeScaleSnapshot(ctx context.Context, e *env, pid int) (scaleSnapshot, error) {
	snap := scaleSnapshot{at: time.Now()}
	var err error
	if snap.cpu, err = cpuTime(pid); err != nil {
		return snap, err
	}
	if snap.analyzer, err = scrape(ctx, e.analyzerMetrics); err != nil {
		return snap, err
	}
	if snap.prom, err = scrape(ctx, e.prom.Address()+"/metrics"); err != nil {
		return snap, err
	}
	return snap, nil
}

// clusterObjectCounts counts, by metadata only, the objects of the kinds a release engine
// caches.
func clusterObjectCounts(ctx context.Context, e *env) string {
	var parts []string
	for _, k := range []struct{ kind, apiVersion string }{
		{"Deployment", "apps/v1"}, {"ReplicaSet", "apps/v1"}, {"Pod", "v1"}, {"Service", "v1"},
		{"HTTPRoute", "gateway.networking.k8s.io/v1"}, {"Release", "slogate.io/v1alpha1"},
	} {
		list := &metav1.PartialObjectMetadataList{}
		list.APIVersion, list.Kind = k.apiVersion, k.kind+"List"
		if err := e.c.Client().List(ctx, list); err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", k.kind, err))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %ss", thousands(len(list.Items)), k.kind))
	}
	return strings.Join(parts, ", ")
}
