package slo

import (
	"context"
	_ "embed"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed seed_templates.yaml
var seedTemplatesYAML string

// seedAddress is the Prometheus address the seed's templates name.
const seedAddress = "http://prometheus.monitoring.svc:9090"

// TestSeedTemplatesDriveARelease: the seed's success-rate-check and latency-p95-check, with only
// apiVersion changed, run a release of the seed's payments-api in the seed's namespace prod to
// promotion. One more change is forced by the environment, and only one: their address,
// http://prometheus.monitoring.svc:9090, names a Service DNS name that does not resolve here (no
// cluster DNS, and Services have no endpoints on kwok), so the test points it at a Prometheus
// started for this scenario. The analyzer's --prometheus-address would not help: it applies only
// to templates that name no address. The queries, app="payments-api" included, are the seed's:
// they select the app in every namespace, which is why this scenario's Prometheus scrapes only
// namespace prod.
//
// The seed's queries name no release variable, so the analyzer answers them as grouped queries,
// evaluated at the start of each 1 m interval and never before the step they judge began: each
// analysis step waits for the first minute boundary after its start (the 25 % step, which begins a
// few seconds after the 5 % step's boundary, for nearly a minute). The test asserts that every
// measurement was evaluated at or after the start of its step, as the test saw the Release's
// status.stepStartedAt for that step. The release therefore takes two to three minutes.
func TestSeedTemplatesDriveARelease(t *testing.T) {
	t.Parallel()
	if n := strings.Count(seedTemplatesYAML, seedAddress); n != 2 {
		t.Fatalf("seed_templates.yaml names %s %d times, want 2 (one per template)", seedAddress, n)
	}
	s := newScenario(t, scenarioOptions{Namespace: "prod", OwnPrometheus: true})
	manifest := strings.ReplaceAll(seedTemplatesYAML, seedAddress, s.prom.Address())
	t.Logf("applying the seed's templates with address %s instead of %s", s.prom.Address(), seedAddress)
	s.kubectlApply([]byte(manifest))
	queries := seedQueries(t)

	starts := watchStepStarts(t, s.ns)
	s.apply(v2)
	_, name := s.mustHeld()
	rel := s.mustPhase(name, slogatev1alpha1.PhaseSucceeded, releaseTimeout)

	if rel.Spec.Policy != "RolloutPolicy/payments-api" {
		t.Errorf("release policy %q, want RolloutPolicy/payments-api", rel.Spec.Policy)
	}
	if got, want := s.weights.get(), []int32{0, 5, 25, 50, 100, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if got := countVerdicts(rel); got[slogatev1alpha1.VerdictFailed] > 0 || got[slogatev1alpha1.VerdictInconclusive] > 0 {
		t.Errorf("measurements by verdict: %v, want no Failed or Inconclusive", got)
	}
	for tpl, query := range queries {
		ok := measurements(rel, tpl, slogatev1alpha1.VerdictSuccessful)
		var steps []int32
		for _, m := range ok {
			steps = append(steps, m.Step)
			if strings.TrimSpace(m.Query) != strings.TrimSpace(query) {
				t.Errorf("%s sent %q, want the seed's query %q", tpl, m.Query, query)
			}
		}
		if !slices.Contains(steps, 2) || !slices.Contains(steps, 5) {
			t.Errorf("Successful %s measurements at steps %v, want both analyses (steps 2 and 5)", tpl, steps)
		}
	}
	// Stable and canary alike answer every request, in about 50 ms (a p95 of about 74 ms when the
	// machine is idle).
	mustValuesWithin(t, measurements(rel, "success-rate-check", slogatev1alpha1.VerdictSuccessful), 100, 100)
	mustValuesWithin(t, measurements(rel, "latency-p95-check", slogatev1alpha1.VerdictSuccessful), 50, 350)
	// Nothing but a measurement of the step widens traffic: every value was evaluated (its time)
	// at or after its step began. Both times are whole seconds as the API stores them; the
	// evaluation time is truncated, so a value evaluated in the step's first second still passes
	// and one evaluated before it cannot.
	for _, m := range rel.Status.Measurements {
		started, ok := starts.of(name, m.Step)
		t.Logf("%s %s step %d (started %s) at %d %% (route at %d %% since %s): %s %s %s", m.Time.Format("15:04:05"), m.Template,
			m.Step, started.Format("15:04:05"), m.Weight, m.Weight, s.weights.since(m.Weight).Format("15:04:05.000"),
			m.Verdict, m.Value, m.Message)
		switch {
		case !ok:
			t.Errorf("%s measurement of step %d at %s: the start of step %d was never seen (starts seen: %v)", m.Template, m.Step,
				m.Time.Format(time.RFC3339), m.Step, starts.all(name))
		case m.Time.Before(&started):
			t.Errorf("%s measurement of step %d (%s %s) evaluated at %s, before the step began at %s", m.Template, m.Step,
				m.Verdict, m.Value, m.Time.Format(time.RFC3339), started.Format(time.RFC3339))
		}
	}
}

// stepStarts records, per Release and step index, the first status.stepStartedAt seen for that
// step, from one watch of the namespace's Releases started before the release (so in order, and
// every status write is seen).
type stepStarts struct {
	mu     sync.Mutex
	starts map[string]map[int32]metav1.Time
}

// of is when the Release's step began, and whether it was seen.
func (s *stepStarts) of(release string, step int32) (metav1.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.starts[release][step]
	return t, ok
}

// all is every step start seen of the Release, for messages.
func (s *stepStarts) all(release string) map[int32]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int32]string{}
	for step, t := range s.starts[release] {
		out[step] = t.Format(time.RFC3339)
	}
	return out
}

// watchStepStarts watches the Releases of ns until the test ends.
func watchStepStarts(t *testing.T, ns string) *stepStarts {
	t.Helper()
	wc, err := client.NewWithWatch(env.RESTConfig(), client.Options{Scheme: env.Scheme()})
	if err != nil {
		t.Fatalf("watch client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	w, err := wc.Watch(ctx, &slogatev1alpha1.ReleaseList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatalf("watching Releases: %v", err)
	}
	out := &stepStarts{starts: map[string]map[int32]metav1.Time{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); w.Stop(); wg.Wait() })
	wg.Go(func() {
		for ev := range w.ResultChan() {
			rel, ok := ev.Object.(*slogatev1alpha1.Release)
			if !ok || rel.Status.StepStartedAt == nil {
				continue
			}
			out.mu.Lock()
			if out.starts[rel.Name] == nil {
				out.starts[rel.Name] = map[int32]metav1.Time{}
			}
			if _, seen := out.starts[rel.Name][rel.Status.StepIndex]; !seen {
				out.starts[rel.Name][rel.Status.StepIndex] = *rel.Status.StepStartedAt
			}
			out.mu.Unlock()
		}
	})
	return out
}

// seedQueries returns each seed template's query, by template name, from seed_templates.yaml.
func seedQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, doc := range strings.Split(seedTemplatesYAML, "\n---\n") {
		var tpl slogatev1alpha1.AnalysisTemplate
		if err := yaml.Unmarshal([]byte(doc), &tpl); err != nil {
			t.Fatalf("parsing seed_templates.yaml: %v", err)
		}
		if tpl.Kind == "AnalysisTemplate" {
			out[tpl.Name] = tpl.Spec.Metrics[0].Provider.Prometheus.Query
		}
	}
	if len(out) != 2 {
		t.Fatalf("seed_templates.yaml holds %d AnalysisTemplates, want 2", len(out))
	}
	return out
}
