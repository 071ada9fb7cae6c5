package analysis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// maxParallelQueries bounds the measurements one Analyze call runs at once.
const maxParallelQueries = 8

// minRequeue is the shortest RequeueAfter a Running result asks for.
const minRequeue = time.Second

// Gate judges analysis steps against Prometheus. It implements gate.Gate and keeps no state that
// a restart would lose: the counters live in the Release status.
type Gate struct {
	reader         client.Reader
	queriers       QuerierFactory
	defaultAddress string
	// cache answers grouped queries once per address and interval for every release.
	cache *resultCache
}

var _ gate.Gate = (*Gate)(nil)

// New returns a Gate that reads templates through reader, queries Prometheus through queriers,
// and uses defaultAddress for metrics whose template names no address.
func New(reader client.Reader, queriers QuerierFactory, defaultAddress string) *Gate {
	return &Gate{reader: reader, queriers: queriers, defaultAddress: defaultAddress, cache: newResultCache()}
}

// ErrInvalidRequest is wrapped by the errors of a request the release engine built wrong.
var ErrInvalidRequest = errors.New("invalid analysis request")

// Analyze measures the metrics that are due and judges the step. See the package documentation
// for the semantics.
func (g *Gate) Analyze(ctx context.Context, req gate.Request) (gate.Result, error) {
	rel, step := req.Release, req.Step
	switch {
	case rel == nil:
		return gate.Result{}, fmt.Errorf("%w: no release", ErrInvalidRequest)
	case step == nil:
		return gate.Result{}, fmt.Errorf("%w: no analysis step", ErrInvalidRequest)
	case rel.Status.StepStartedAt == nil:
		return gate.Result{}, fmt.Errorf("%w: release %s/%s has no status.stepStartedAt", ErrInvalidRequest, rel.Namespace, rel.Name)
	case len(step.Templates) == 0:
		return gate.Result{}, fmt.Errorf("%w: analysis step names no template", ErrInvalidRequest)
	}
	runs, err := g.prepare(ctx, rel, step)
	if err != nil {
		return gate.Result{}, err
	}

	stepIndex := rel.Status.StepIndex
	statuses := currentStatuses(runs, rel.Status.Metrics, stepIndex)
	if out, msg := judge(runs, statuses, nil); out != gate.Running {
		// Decided by an earlier call; measure nothing more.
		return gate.Result{Outcome: out, Metrics: statuses, Message: msg}, nil
	}

	now := req.Now
	stepStarted := rel.Status.StepStartedAt.Time
	// A metric is due when the time its queries would be evaluated at is at or after its next due
	// time: a value from before the step began (plus initialDelay), or from within an interval of
	// the last measurement, is not a measurement of this step. For a grouped query the evaluation
	// time is the last interval boundary, so a step that began after it waits for the next one.
	var due []int
	at := make([]time.Time, len(runs))
	for i, r := range runs {
		at[i] = r.evaluationTime(now)
		if !at[i].Before(nextDue(r.metric, &statuses[i], stepStarted)) {
			due = append(due, i)
		}
	}

	observations := make([]observation, len(runs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelQueries)
	for _, i := range due {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			observations[i] = runs[i].measure(ctx, at[i])
		})
	}
	wg.Wait()

	last := map[int]*slogatev1alpha1.Measurement{}
	measurements := make([]slogatev1alpha1.Measurement, 0, len(due))
	for _, i := range due {
		o := observations[i]
		countMeasurement(o.verdict)
		statuses[i] = record(statuses[i], o.verdict, limitsOf(runs[i].metric), o.at)
		measurements = append(measurements, runs[i].toMeasurement(o, stepIndex, rel.Status.CanaryWeight))
		last[i] = &measurements[len(measurements)-1]
	}

	out, msg := judge(runs, statuses, last)
	res := gate.Result{Outcome: out, Measurements: measurements, Metrics: statuses, Message: msg}
	if out == gate.Running {
		next := time.Time{}
		for i, r := range runs {
			if statuses[i].Phase == slogatev1alpha1.VerdictFailed {
				continue
			}
			if d := r.firstCallAt(nextDue(r.metric, &statuses[i], stepStarted)); next.IsZero() || d.Before(next) {
				next = d
			}
		}
		res.RequeueAfter = max(next.Sub(now), minRequeue)
	}
	return res, nil
}

// currentStatuses returns the counters of every run at step, from the stored ones or new.
func currentStatuses(runs []*metricRun, stored []slogatev1alpha1.MetricStatus, step int32) []slogatev1alpha1.MetricStatus {
	type key struct{ template, metric string }
	byKey := map[key]slogatev1alpha1.MetricStatus{}
	for _, st := range stored {
		if st.Step == step {
			byKey[key{st.Template, st.Metric}] = st
		}
	}
	out := make([]slogatev1alpha1.MetricStatus, len(runs))
	for i, r := range runs {
		st, ok := byKey[key{r.template, r.metric.Name}]
		if !ok {
			st = slogatev1alpha1.MetricStatus{Template: r.template, Metric: r.metric.Name, Step: step}
		}
		out[i] = *st.DeepCopy()
	}
	return out
}

// judge is the outcome of the step: Failed when a metric exceeded a limit, Successful when every
// metric passed (its count of successes reached and its latest measurement Successful), Running
// otherwise. last holds the measurements of this call by run index, for the message.
func judge(runs []*metricRun, statuses []slogatev1alpha1.MetricStatus, last map[int]*slogatev1alpha1.Measurement) (gate.Outcome, string) {
	for i, r := range runs {
		st := statuses[i]
		if st.Phase != slogatev1alpha1.VerdictFailed {
			continue
		}
		msg := fmt.Sprintf("analysis failed: %s: %s", r.name(), breach(st, limitsOf(r.metric)))
		if m := last[i]; m != nil && m.Message != "" {
			msg += "; last measurement: " + m.Message
		}
		return gate.Failed, msg
	}

	var passed, waiting []string
	for i, r := range runs {
		st := statuses[i]
		lim := limitsOf(r.metric)
		if st.Phase == slogatev1alpha1.VerdictSuccessful {
			p := r.name()
			if m := last[i]; m != nil {
				p += " " + m.Value
			}
			passed = append(passed, p)
			continue
		}
		w := fmt.Sprintf("%s %d/%d Successful", r.name(), st.Successful, lim.count)
		if m := last[i]; m != nil && m.Message != "" {
			w += " (" + m.Message + ")"
		}
		waiting = append(waiting, w)
	}
	if len(waiting) == 0 {
		return gate.Successful, "analysis passed: " + strings.Join(passed, ", ")
	}
	return gate.Running, "analysis running: " + strings.Join(waiting, "; ")
}

// prepare resolves the step's templates and renders every metric's queries and conditions.
func (g *Gate) prepare(ctx context.Context, rel *slogatev1alpha1.Release, step *slogatev1alpha1.AnalysisStep) ([]*metricRun, error) {
	stepArgs := map[string]string{}
	for i, a := range step.Args {
		if a.Value == nil {
			return nil, fmt.Errorf("analysis step args[%d] (%s) has no value", i, a.Name)
		}
		stepArgs[a.Name] = *a.Value
	}
	used := map[string]bool{}
	seen := map[string]bool{}
	var runs []*metricRun
	for _, ref := range step.Templates {
		name, spec, err := g.template(ctx, rel.Namespace, ref)
		if err != nil {
			return nil, err
		}
		if seen[ref.TemplateName] {
			return nil, fmt.Errorf("analysis step names template %s twice", ref.TemplateName)
		}
		seen[ref.TemplateName] = true
		if errs := ValidateTemplateSpec(spec, field.NewPath("spec")); len(errs) > 0 {
			return nil, fmt.Errorf("%s is invalid: %w", name, errs.ToAggregate())
		}
		args, err := mergeArgs(name, spec.Args, stepArgs, used)
		if err != nil {
			return nil, err
		}
		for i := range spec.Metrics {
			r, err := g.prepareMetric(rel, ref.TemplateName, &spec.Metrics[i], args)
			if err != nil {
				return nil, fmt.Errorf("%s metric %s: %w", name, spec.Metrics[i].Name, err)
			}
			runs = append(runs, r)
		}
	}
	var unused []string
	for n := range stepArgs {
		if !used[n] {
			unused = append(unused, n)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return nil, fmt.Errorf("analysis step args %s are declared by none of its templates", strings.Join(unused, ", "))
	}
	return runs, nil
}

// template fetches the template a ref names and says how messages name it.
func (g *Gate) template(ctx context.Context, namespace string, ref slogatev1alpha1.TemplateRef) (string, *slogatev1alpha1.AnalysisTemplateSpec, error) {
	if ref.ClusterScope {
		name := "ClusterAnalysisTemplate " + ref.TemplateName
		var t slogatev1alpha1.ClusterAnalysisTemplate
		if err := g.reader.Get(ctx, types.NamespacedName{Name: ref.TemplateName}, &t); err != nil {
			return name, nil, fmt.Errorf("getting %s: %w", name, err)
		}
		return name, &t.Spec, nil
	}
	name := "AnalysisTemplate " + namespace + "/" + ref.TemplateName
	var t slogatev1alpha1.AnalysisTemplate
	if err := g.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.TemplateName}, &t); err != nil {
		return name, nil, fmt.Errorf("getting %s: %w", name, err)
	}
	return name, &t.Spec, nil
}

// mergeArgs gives each of a template's arguments its value: the step's if the step has one, the
// template's otherwise. An argument left without a value is an error. used collects the step
// arguments a template declared.
func mergeArgs(template string, declared []slogatev1alpha1.Argument, step map[string]string, used map[string]bool) (map[string]string, error) {
	out := make(map[string]string, len(declared))
	for _, a := range declared {
		if v, ok := step[a.Name]; ok {
			out[a.Name] = v
			used[a.Name] = true
			continue
		}
		if a.Value == nil {
			return nil, fmt.Errorf("%s: argument %s has no value: give it in the analysis step's args", template, a.Name)
		}
		out[a.Name] = *a.Value
	}
	return out, nil
}

func (g *Gate) prepareMetric(rel *slogatev1alpha1.Release, template string, m *slogatev1alpha1.Metric, args map[string]string) (*metricRun, error) {
	prom := m.Provider.Prometheus
	if prom == nil {
		return nil, errors.New("no prometheus provider")
	}
	vars := Vars{
		Namespace:      rel.Namespace,
		App:            rel.Spec.DeploymentName,
		Revision:       rel.Spec.CanaryRevision,
		StableRevision: rel.Spec.StableRevision,
		Window:         PromDuration(windowOf(m)),
		Args:           args,
	}
	r := &metricRun{
		template: template, metric: m, address: prom.Address, timeout: DefaultTimeout,
		key:      groupKey{namespace: rel.Namespace, app: rel.Spec.DeploymentName, revision: rel.Spec.CanaryRevision},
		interval: intervalOf(m),
		cache:    g.cache,
	}
	if r.address == "" {
		r.address = g.defaultAddress
	}
	if r.address == "" {
		return nil, errors.New("no Prometheus address: set provider.prometheus.address or the analyzer's default address")
	}
	if prom.Timeout != nil && prom.Timeout.Duration > 0 {
		r.timeout = prom.Timeout.Duration
	}
	q, err := g.queriers.QuerierFor(r.address)
	if err != nil {
		return nil, err
	}
	r.querier = q

	if r.query, err = Render(prom.Query, vars); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if r.queryGrouped, err = isGrouped(prom.Query, vars); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if mr := m.MinRequests; mr != nil {
		if r.minRequestsQuery, err = Render(mr.Query, vars); err != nil {
			return nil, fmt.Errorf("minRequests query: %w", err)
		}
		if r.minRequestsGrouped, err = isGrouped(mr.Query, vars); err != nil {
			return nil, fmt.Errorf("minRequests query: %w", err)
		}
		r.minRequests = mr.Count
	}
	for _, c := range []struct {
		name string
		in   string
		out  *string
	}{
		{"successCondition", m.SuccessCondition, &r.successCondition},
		{"failureCondition", m.FailureCondition, &r.failureCondition},
	} {
		if c.in == "" {
			continue
		}
		rendered, err := Render(c.in, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if _, err := compiledConditions.compile(rendered); err != nil {
			return nil, fmt.Errorf("%s %q: %w", c.name, rendered, err)
		}
		*c.out = rendered
	}
	return r, nil
}
