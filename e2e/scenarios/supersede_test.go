package scenarios

import (
	"slices"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestSupersede: a newer image applied while the canary carries 25 % replaces the canary: the old
// Release ends (Superseded) with all traffic back on stable first, a new Release starts over from
// the first step, and the stable pods never change until the new revision is promoted.
func TestSupersede(t *testing.T) {
	s := newScenario(t, pausedAt25YAML)
	route, stable, canary := s.snapshot()
	stableRev := s.deployment().Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
	pods := s.stablePods(stableRev)

	s.apply(v2)
	oldRev, oldName := s.mustHeld("")
	s.mustPhase(oldName, slogatev1alpha1.PhasePaused, stepTimeout)

	s.apply(v3)
	newRev, newName := s.mustHeld(oldRev)
	old := s.mustPhase(oldName, slogatev1alpha1.PhaseAborted, releaseTimeout)
	if old.Status.Reason != "Superseded" {
		t.Errorf("old release reason %s (%s), want Superseded", old.Status.Reason, old.Status.Message)
	}
	s.mustTrafficFirst(25, true)
	rel := s.mustPhase(newName, slogatev1alpha1.PhasePaused, stepTimeout)
	if rel.Spec.StableRevision != stableRev || rel.Spec.CanaryRevision != newRev {
		t.Errorf("new release revisions %s -> %s, want %s -> %s", rel.Spec.StableRevision, rel.Spec.CanaryRevision, stableRev, newRev)
	}
	if got, want := s.tl.routeWeights(), []int32{0, 5, 25, 0, 5, 25}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v (the new release starts over)", got, want)
	}
	if got := s.stablePods(stableRev); !slices.Equal(got, pods) {
		t.Errorf("the stable pods changed: before %v, after %v", pods, got)
	}
	if d := s.deployment(); !d.Spec.Paused || d.Annotations[slogatev1alpha1.StableRevisionAnnotation] != stableRev {
		t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}

	// kubectl slogate promote passes the manual pause; the new revision is promoted.
	env.MustKubectl(t, "-n", s.ns, "annotate", "deployment", appName, slogatev1alpha1.ActionAnnotation+"="+slogatev1alpha1.ActionPromote)
	s.mustPhase(newName, slogatev1alpha1.PhaseSucceeded, releaseTimeout)
	if _, ok := s.deployment().Annotations[slogatev1alpha1.ActionAnnotation]; ok {
		t.Error("the promote request was not removed")
	}
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(newRev)
	s.mustInvariants()
}
