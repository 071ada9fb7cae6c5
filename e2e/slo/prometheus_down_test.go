package slo

import (
	"context"
	_ "embed"
	"slices"
	"strings"
	"testing"
	"text/template"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

//go:embed prometheus_down.yaml
var prometheusDownYAML string

var prometheusDownTpl = template.Must(template.New("prometheus_down").Delims("[[", "]]").Option("missingkey=error").Parse(prometheusDownYAML))

// TestPrometheusDownRollsBack: Prometheus stops once a healthy canary is at 5 %, before the first
// analysis. Nothing is promoted: every measurement is an Error ("Prometheus unreachable"), the
// release holds at 5 % while they are within consecutiveErrorLimit (3), and the fourth Error in a
// row rolls it back (route 100/0) with the reason in the Release and in an Event. The scenario has
// a Prometheus of its own, so the other scenarios keep theirs.
func TestPrometheusDownRollsBack(t *testing.T) {
	t.Parallel()
	s := newScenario(t, scenarioOptions{OwnPrometheus: true})
	s.kubectlApply(mustRender(prometheusDownTpl, map[string]string{"Prometheus": s.prom.Address()}))

	s.apply(v2)
	rev, name := s.mustHeld()
	s.mustWeight(name, 5)
	if err := s.prom.Stop(); err != nil {
		t.Fatalf("stopping Prometheus: %v", err)
	}

	// Held: Error measurements, the weight unchanged on the route and in the Release.
	cluster.MustPoll(t, weightTimeout, "an Error measurement while the release holds at 5 %", func(ctx context.Context) (bool, error) {
		rel := s.release(name)
		if rel == nil || rel.Status.Phase != slogatev1alpha1.PhaseProgressing {
			return false, nil
		}
		return len(measurements(rel, "success-rate", slogatev1alpha1.VerdictError)) > 0 &&
			rel.Status.CanaryWeight == 5 && canaryWeight(s.route()) == 5, nil
	})

	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)
	if got, want := s.weights.get(), []int32{0, 5, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if got := countVerdicts(rel); len(got) != 1 || got[slogatev1alpha1.VerdictError] != 4 {
		t.Errorf("measurements by verdict: %v, want 4 Error (consecutiveErrorLimit 3, then one more) and nothing else", got)
	}
	for _, m := range rel.Status.Measurements {
		if m.Value != "" || !strings.Contains(m.Message, "Prometheus unreachable") || m.Step != 2 || m.Weight != 5 {
			t.Errorf("measurement at step %d, %d %%: value %q, message %q; want no value, Prometheus unreachable, at step 2 and 5 %%",
				m.Step, m.Weight, m.Value, m.Message)
		}
	}
	const why = "above consecutiveErrorLimit 3"
	if rel.Status.Reason != "AnalysisFailed" || !strings.Contains(rel.Status.Message, why) {
		t.Errorf("Release reason %q, message %q; want AnalysisFailed saying %q", rel.Status.Reason, rel.Status.Message, why)
	}
	e := s.mustEvent(name, "AnalysisFailed", why)
	t.Logf("event %s %s: %s", e.Type, e.Reason, e.Note)
	s.mustRolledBackTo100(rev)
}
