package scenarios

import (
	_ "embed"
	"slices"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed paused_at_25.yaml
var pausedAt25YAML []byte

// TestStableReapplied: re-applying the stable manifest while the canary carries 25 % ends the
// release at once: the webhook lifts the hold, the analyzer sends all traffic back to stable in one
// route write before anything else, removes the canary, and the stable pods never change.
func TestStableReapplied(t *testing.T) {
	s := newScenario(t, pausedAt25YAML)
	route, stable, canary := s.snapshot()
	stableRev := s.deployment().Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
	pods := s.stablePods(stableRev)

	s.apply(v2)
	_, name := s.mustHeld("")
	s.mustPhase(name, slogatev1alpha1.PhasePaused, stepTimeout)

	s.apply(v1)
	rel := s.mustPhase(name, slogatev1alpha1.PhaseAborted, releaseTimeout)
	if rel.Status.Reason != "StableReapplied" {
		t.Errorf("reason %s (%s), want StableReapplied", rel.Status.Reason, rel.Status.Message)
	}
	if got := s.tl.routeWeights(); !slices.Equal(got, []int32{0, 5, 25, 0}) {
		t.Errorf("canary weights on the route: got %v, want [0 5 25 0]", got)
	}
	s.mustTrafficFirst(25, true)
	d := s.deployment()
	if d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" || d.Annotations[slogatev1alpha1.StableRevisionAnnotation] != "" {
		t.Errorf("Deployment paused=%v annotations=%v, want a plain Deployment", d.Spec.Paused, d.Annotations)
	}
	if got := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; got != stableRev {
		t.Errorf("Deployment template revision %s, want the stable %s", got, stableRev)
	}
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(stableRev)
	if got := s.stablePods(stableRev); !slices.Equal(got, pods) {
		t.Errorf("the stable pods changed: before %v, after %v", pods, got)
	}
	s.mustInvariants()
}
