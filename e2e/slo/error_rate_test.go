package slo

import (
	"slices"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestErrorRateRolledBack: a canary whose pods answer 5 % of their requests with 500 fails the first
// analysis, at 5 %: success-rate measures about 95 against `result[0] >= 99`, twice (failureLimit 1
// tolerates one), and the release is rolled back: the route goes back to 100/0 with the canary never
// above 5 %, the Release is RolledBack with reason AnalysisFailed naming the metric, the failing
// measurements are in its status, and an Event says so.
func TestErrorRateRolledBack(t *testing.T) {
	t.Parallel()
	s := newScenario(t, scenarioOptions{})
	s.kubectlApply(sloYAML)

	s.apply(v2errors)
	rev, name := s.mustHeld()
	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)

	if got, want := s.weights.get(), []int32{0, 5, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if rel.Status.Reason != "AnalysisFailed" || !strings.Contains(rel.Status.Message, "success-rate") {
		t.Errorf("Release reason %q, message %q; want AnalysisFailed naming success-rate", rel.Status.Reason, rel.Status.Message)
	}
	failed := measurements(rel, "success-rate", slogatev1alpha1.VerdictFailed)
	if len(failed) != 2 {
		t.Errorf("%d Failed success-rate measurements, want 2 (failureLimit 1, then one more): %+v", len(failed), rel.Status.Measurements)
	}
	for _, m := range failed {
		if m.Step != 2 || m.Weight != 5 {
			t.Errorf("a Failed measurement at step %d, %d %%; want the first analysis (step 2) at 5 %%", m.Step, m.Weight)
		}
		if !strings.Contains(m.Query, `slogate_io_revision="`+rev+`"`) {
			t.Errorf("the failing query does not select the canary revision %s: %s", rev, m.Query)
		}
	}
	// Errors are spread evenly by the demo-app (1 in 20): 95 %, give or take one request of the
	// window.
	mustValuesWithin(t, failed, 91, 98.9)
	if ok := measurements(rel, "success-rate", slogatev1alpha1.VerdictSuccessful); len(ok) > 0 {
		t.Errorf("success-rate was Successful for a canary answering 5 %% errors: %+v", ok)
	}
	if len(failed) > 0 {
		t.Logf("failing measurement: value %s, message %q", failed[len(failed)-1].Value, failed[len(failed)-1].Message)
	}
	s.mustRolledBackTo100(rev)
	s.mustEvent(name, "AnalysisFailed", "success-rate")
}
