package scenarios

import (
	"context"
	"slices"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

// TestHappyPath: an image change applied with kubectl in an opted-in namespace goes 5 -> 25 -> 50 ->
// 100 on the seed's HTTPRoute, passing two analyses against Prometheus, and ends with the
// Deployment unpaused on the new image, every replica updated and available, the weights back to
// 100/0, the canary Deployment gone, the Release Succeeded, and nothing of the user's route, Services
// or Deployment changed beyond what the design allows.
func TestHappyPath(t *testing.T) {
	s := newScenario(t, nil)
	route, stable, canary := s.snapshot()

	s.apply(v2)
	rev, name := s.mustHeld("")
	held := s.deployment()
	rel := s.mustPhase(name, slogatev1alpha1.PhaseSucceeded, releaseTimeout)

	if got, want := s.tl.routeWeights(), []int32{0, 5, 25, 50, 100, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	if rel.Spec.Policy != "RolloutPolicy/seed-fast" || rel.Spec.CanaryRevision != rev || len(rel.Spec.Steps) != 9 {
		t.Errorf("release spec: %+v", rel.Spec)
	}
	var passed int
	for _, m := range rel.Status.Measurements {
		if m.Verdict == slogatev1alpha1.VerdictSuccessful {
			passed++
		}
	}
	if passed < 8 {
		t.Errorf("%d successful measurements, want at least 8 (2 metrics x 2 counts x 2 analyses): %+v", passed, rel.Status.Measurements)
	}

	d := s.deployment()
	if d.Spec.Paused {
		t.Error("the Deployment is still paused")
	}
	if !equalJSON(held.Spec.Template, d.Spec.Template) {
		t.Errorf("the Deployment's template changed after the hold:\nheld %s\nend  %s", toJSON(held.Spec.Template), toJSON(d.Spec.Template))
	}
	if !equalJSON(held.Labels, d.Labels) || !equalJSON(userAnnotations(held), userAnnotations(d)) {
		t.Errorf("the Deployment's metadata changed: labels %v -> %v, annotations %v -> %v",
			held.Labels, d.Labels, userAnnotations(held), userAnnotations(d))
	}
	for k, v := range d.Annotations {
		if strings.HasPrefix(k, slogatev1alpha1.Prefix) {
			t.Errorf("the Deployment keeps annotation %s=%s", k, v)
		}
	}
	cluster.MustPoll(t, appReadyTimeout, "every replica updated and available", func(ctx context.Context) (bool, error) {
		d := s.deployment()
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == 4 &&
			d.Status.AvailableReplicas == 4 && d.Status.Replicas == 4, nil
	})
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(rev)
	s.mustInvariants()
}
