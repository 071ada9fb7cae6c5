package slo

import (
	_ "embed"
	"slices"
	"strings"
	"testing"
	"time"

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
// at the start of each 1 m interval: the first measurement may find no samples yet (Error) and the
// next comes a minute later. The release therefore takes one to two minutes.
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
	// The record, with when the route took each weight and when Prometheus was asked: a grouped
	// query is evaluated at the start of its interval, which may be before the step began.
	for _, m := range rel.Status.Measurements {
		t.Logf("%s %s step %d at %d %% (route at %d %% since %s; evaluated at %s): %s %s %s", m.Time.Format("15:04:05"), m.Template,
			m.Step, m.Weight, m.Weight, s.weights.since(m.Weight).Format("15:04:05.000"), m.Time.Truncate(time.Minute).Format("15:04:05"),
			m.Verdict, m.Value, m.Message)
	}
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
