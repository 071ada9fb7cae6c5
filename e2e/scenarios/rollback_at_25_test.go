package scenarios

import (
	_ "embed"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

//go:embed rollback_at_25.yaml
var rollbackAt25YAML []byte

// TestRollbackAt25: a canary whose pods answer half their requests with errors fails its analysis at
// 25 %. The weight returns to 0 on the canary in one route write before anything else changes, the
// canary is removed, the Release is RolledBack with the measurement that failed, the Deployment
// stays paused with slogate.io/failed-revision while the old pods keep serving. Re-applying the
// same manifest starts nothing; a new image starts a new release, which succeeds.
func TestRollbackAt25(t *testing.T) {
	s := newScenario(t, rollbackAt25YAML)
	route, stable, canary := s.snapshot()
	stableRev := s.deployment().Spec.Template.Labels[slogatev1alpha1.RevisionLabel]

	s.apply(v2bad)
	badRev, name := s.mustHeld("")
	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)

	// The measurement that failed, at 25 %.
	if rel.Status.Reason != "AnalysisFailed" {
		t.Errorf("reason %s (%s), want AnalysisFailed", rel.Status.Reason, rel.Status.Message)
	}
	failed := slices.IndexFunc(rel.Status.Measurements, func(m slogatev1alpha1.Measurement) bool {
		return m.Verdict == slogatev1alpha1.VerdictFailed && m.Weight == 25 && m.Template == "success-rate"
	})
	if failed < 0 {
		t.Errorf("no Failed success-rate measurement at 25 %%: %+v", rel.Status.Measurements)
	} else {
		t.Logf("failed measurement: %+v", rel.Status.Measurements[failed])
	}
	if got := s.tl.routeWeights(); !slices.Equal(got, []int32{0, 5, 25, 0}) {
		t.Errorf("canary weights on the route: got %v, want [0 5 25 0]", got)
	}
	s.mustTrafficFirst(25, false)

	d := s.deployment()
	if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != badRev ||
		d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" || d.Annotations[slogatev1alpha1.StableRevisionAnnotation] != stableRev {
		t.Errorf("Deployment paused=%v annotations=%v; want paused on failed revision %s, stable %s", d.Spec.Paused, d.Annotations, badRev, stableRev)
	}
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(stableRev)

	// The same manifest again (a GitOps loop) starts nothing.
	before := s.tl.len()
	s.apply(v2bad)
	s.mustNothingStartsFor(quietPeriod, before)
	if d := s.deployment(); !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != badRev {
		t.Errorf("after re-applying the failed manifest: paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}

	// A new image starts a new release.
	s.apply(v3)
	newRev, newName := s.mustHeld(badRev)
	if newName == name {
		t.Fatalf("a new image reused release %s", name)
	}
	s.mustPhase(newName, slogatev1alpha1.PhaseSucceeded, releaseTimeout)
	d = s.deployment()
	if d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != "" {
		t.Errorf("after the new release: paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(newRev)
	s.mustInvariants()
}

// mustTrafficFirst checks, in the recorded changes, that the route went from `from` % on the canary
// to 0 in a single write, and that nothing else (canary Deployment, Services, the user's Deployment
// spec or annotations, a terminal Release) changed between the route's previous write and that
// one. userTriggered allows changes of the user's Deployment in between: the apply (through the
// webhook) that ends the release.
func (s *scenario) mustTrafficFirst(from int32, userTriggered bool) {
	s.t.Helper()
	changes := s.tl.sorted()
	zero := -1
	for i, c := range changes {
		if r, ok := c.object.(*gatewayv1.HTTPRoute); ok && canaryWeight(r) == 0 && i > 0 && s.lastRouteWeight(changes[:i]) == from {
			zero = i
			break
		}
	}
	if zero < 0 {
		s.t.Fatalf("no route write from %d %% to 0", from)
	}
	// Walk back to the previous route change: every change in between must be a Release status or a
	// status-only change of a Deployment (kwok, the Deployment controller).
	prevRoute := -1
	for i := zero - 1; i >= 0; i-- {
		if changes[i].kind == "HTTPRoute" {
			prevRoute = i
			break
		}
	}
	for i := prevRoute + 1; i < zero; i++ {
		c := changes[i]
		switch o := c.object.(type) {
		case *slogatev1alpha1.Release:
			if o.Status.Phase.IsTerminal() {
				s.t.Errorf("the release ended before the route write: %s", c)
			}
		case *appsv1.Deployment:
			if userTriggered && o.Name == appName {
				continue
			}
			if c.typ == watch.Deleted || o.DeletionTimestamp != nil || s.specChanged(changes[:i], c) {
				s.t.Errorf("a Deployment changed before the route went back to stable: %s", c)
			}
		default:
			s.t.Errorf("%s changed before the route went back to stable: %s", c.kind, c)
		}
	}
	// The canary still existed when the weight went to 0, and was deleted after.
	deleted := slices.IndexFunc(changes, func(c change) bool {
		return c.kind == "Deployment" && c.name == appName+"-canary" && (c.typ == watch.Deleted || c.object.GetDeletionTimestamp() != nil)
	})
	if deleted >= 0 && deleted < zero {
		s.t.Errorf("the canary was deleted (%s) before the route write (%s)", changes[deleted], changes[zero])
	}
}

func (s *scenario) lastRouteWeight(changes []change) int32 {
	for i := len(changes) - 1; i >= 0; i-- {
		if r, ok := changes[i].object.(*gatewayv1.HTTPRoute); ok {
			return canaryWeight(r)
		}
	}
	return -1
}

// specChanged reports whether a Deployment change altered more than its status: generation,
// labels or annotations differ from the object's previous change.
func (s *scenario) specChanged(before []change, c change) bool {
	d := c.object.(*appsv1.Deployment)
	for i := len(before) - 1; i >= 0; i-- {
		if before[i].kind == c.kind && before[i].name == c.name {
			p := before[i].object.(*appsv1.Deployment)
			return p.Generation != d.Generation || !equalJSON(p.Annotations, d.Annotations) || !equalJSON(p.Labels, d.Labels)
		}
	}
	return true
}

// mustNothingStartsFor watches for d, failing as soon as a change recorded after the first n
// starts a release: a Release or a canary Deployment created, or weight on the canary.
func (s *scenario) mustNothingStartsFor(d time.Duration, n int) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, c := range s.tl.since(n) {
			started := c.typ == watch.Added && (c.kind == "Release" || c.name == appName+"-canary")
			if r, ok := c.object.(*gatewayv1.HTTPRoute); ok && canaryWeight(r) > 0 {
				started = true
			}
			if started {
				s.t.Fatalf("a release started after re-applying the failed manifest: %s", c)
			}
		}
		select {
		case <-s.t.Context().Done():
			return
		case <-time.After(cluster.PollInterval):
		}
	}
}
