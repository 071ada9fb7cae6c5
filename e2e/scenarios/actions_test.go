package scenarios

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

// TestActions steers a release with kubectl slogate (bin/kubectl-slogate): abort at a manual pause
// rolls it back, traffic first, and leaves the Deployment paused on the aborted revision; retry runs
// the same revision again from the first step, under the same Release; promote passes the manual
// pause, and the release succeeds.
func TestActions(t *testing.T) {
	plugin, err := cluster.Binary("kubectl-slogate")
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario(t, pausedAt25YAML)
	route, stable, canary := s.snapshot()
	stableRev := s.deployment().Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
	slogate := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), plugin, append([]string{"--kubeconfig", env.Kubeconfig(), "-n", s.ns}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl slogate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("kubectl slogate %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	}

	s.apply(v2)
	rev, name := s.mustHeld("")
	s.mustPhase(name, slogatev1alpha1.PhasePaused, stepTimeout)

	slogate("abort", appName)
	rel := s.mustPhase(name, slogatev1alpha1.PhaseRolledBack, releaseTimeout)
	if rel.Status.Reason != "AbortedByUser" {
		t.Errorf("reason %s (%s), want AbortedByUser", rel.Status.Reason, rel.Status.Message)
	}
	s.mustTrafficFirst(25, true)
	if d := s.deployment(); !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != rev {
		t.Errorf("after abort: paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}
	s.mustNoCanary()
	s.mustServedOnlyBy(stableRev)

	slogate("retry", appName)
	s.mustPhase(name, slogatev1alpha1.PhasePaused, releaseTimeout)
	if got, want := s.tl.routeWeights(), []int32{0, 5, 25, 0, 5, 25}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v (the retry starts over)", got, want)
	}

	slogate("promote", appName)
	rel = s.mustPhase(name, slogatev1alpha1.PhaseSucceeded, releaseTimeout)
	d := s.deployment()
	if d.Spec.Paused {
		t.Error("the Deployment is still paused after promotion")
	}
	for k, v := range d.Annotations {
		if strings.HasPrefix(k, slogatev1alpha1.Prefix) {
			t.Errorf("after promotion the Deployment keeps %s=%s", k, v)
		}
	}
	if !slices.ContainsFunc(rel.Status.Measurements, func(m slogatev1alpha1.Measurement) bool { return m.Step == 5 }) {
		t.Errorf("no measurement of the analysis after the promoted pause: %+v", rel.Status.Measurements)
	}
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustServedOnlyBy(rev)
	s.mustInvariants()
}
