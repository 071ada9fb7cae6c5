package slo

import (
	"slices"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestSlowCanaryRolledBack: a canary 300 ms slower than stable on every request (DEMO_LATENCY=300ms,
// no errors) fails latency-p95 (`result[0] < 350`) at the first analysis with a p95 of about 398 ms,
// while its success rate is a clean 100 %: the release is rolled back on latency alone, the route
// back to 100/0.
func TestSlowCanaryRolledBack(t *testing.T) {
	t.Parallel()
	s := newScenario(t, scenarioOptions{})
	s.kubectlApply(sloYAML)

	s.apply(v2slow)
	rev, name := s.mustHeld()
	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)

	if got, want := s.weights.get(), []int32{0, 5, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if rel.Status.Reason != "AnalysisFailed" || !strings.Contains(rel.Status.Message, "latency-p95") {
		t.Errorf("Release reason %q, message %q; want AnalysisFailed naming latency-p95", rel.Status.Reason, rel.Status.Message)
	}
	failed := measurements(rel, "latency-p95", slogatev1alpha1.VerdictFailed)
	if len(failed) != 2 {
		t.Errorf("%d Failed latency-p95 measurements, want 2 (failureLimit 1, then one more): %+v", len(failed), rel.Status.Measurements)
	}
	for _, m := range failed {
		if m.Step != 2 || m.Weight != 5 {
			t.Errorf("a Failed measurement at step %d, %d %%; want the first analysis (step 2) at 5 %%", m.Step, m.Weight)
		}
	}
	// 350 ms (+ up to 10 % jitter) falls in the 350-400 ms bucket: about 398 ms, more on a busy
	// machine.
	mustValuesWithin(t, failed, 350, 700)
	if len(failed) > 0 {
		t.Logf("failing measurement: value %s ms, message %q", failed[len(failed)-1].Value, failed[len(failed)-1].Message)
	}
	// The canary answers no errors: latency alone failed it.
	if bad := measurements(rel, "success-rate", slogatev1alpha1.VerdictFailed); len(bad) > 0 {
		t.Errorf("success-rate Failed for a canary answering no errors: %+v", bad)
	}
	mustValuesWithin(t, measurements(rel, "success-rate", slogatev1alpha1.VerdictSuccessful), 100, 100)
	s.mustRolledBackTo100(rev)
	s.mustEvent(name, "AnalysisFailed", "latency-p95")
}
