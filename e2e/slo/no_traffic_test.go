package slo

import (
	_ "embed"
	"slices"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed no_traffic.yaml
var noTrafficYAML []byte

// TestNoTrafficNeverPromoted: the route carries no traffic at all (the data plane's rate for it is
// 0), so the canary, though at 5 % and healthy, serves nothing. Every measurement is Inconclusive
// (0 requests in the window, below minRequests 100), never Successful: the release holds at 5 %
// and, at the fourth Inconclusive measurement (inconclusiveLimit defaults to 3), is rolled back.
func TestNoTrafficNeverPromoted(t *testing.T) {
	t.Parallel()
	s := newScenario(t, scenarioOptions{})
	s.kubectlApply(noTrafficYAML)
	s.plane.SetRate(s.routeKey(), 0)
	before := s.plane.Stats(s.routeKey())

	s.apply(v2)
	rev, name := s.mustHeld()
	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)

	if sent := s.plane.Stats(s.routeKey()).Since(before); sent.Sent != 0 {
		t.Fatalf("the data plane sent %d requests on a silenced route (%v)", sent.Sent, sent.Revisions)
	}
	if got, want := s.weights.get(), []int32{0, 5, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if got := countVerdicts(rel); len(got) != 1 || got[slogatev1alpha1.VerdictInconclusive] == 0 {
		t.Errorf("measurements by verdict: %v, want Inconclusive only", got)
	}
	perMetric := map[string]int{}
	for _, m := range rel.Status.Measurements {
		perMetric[m.Template]++
		if m.Step != 2 || m.Weight != 5 || !strings.Contains(m.Message, "0 requests in the window, below minRequests 100") {
			t.Errorf("measurement %s at step %d, %d %%: %q; want step 2, 5 %%, 0 requests below minRequests 100", m.Template, m.Step, m.Weight, m.Message)
		}
	}
	if n := max(perMetric["success-rate"], perMetric["latency-p95"]); n != 4 {
		t.Errorf("Inconclusive measurements per template: %v; want 4 for the metric that failed (inconclusiveLimit 3, then one more)", perMetric)
	}
	const why = "above inconclusiveLimit 3"
	if rel.Status.Reason != "AnalysisFailed" || !strings.Contains(rel.Status.Message, why) {
		t.Errorf("Release reason %q, message %q; want AnalysisFailed saying %q", rel.Status.Reason, rel.Status.Message, why)
	}
	s.mustEvent(name, "AnalysisFailed", why)
	s.mustRolledBackTo100(rev)
}
