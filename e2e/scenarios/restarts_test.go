package scenarios

import (
	"context"
	_ "embed"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

//go:embed restarts.yaml
var restartsYAML []byte

// TestRestarts kills the analyzer (SIGKILL) at each phase of a release and starts it again: the
// release resumes from what the API holds and ends as it would have, no Deployment stays held
// without a Release, and no traffic is left on a canary that is gone.
func TestRestarts(t *testing.T) {
	release := func(c change) (*slogatev1alpha1.Release, bool) {
		r, ok := c.object.(*slogatev1alpha1.Release)
		return r, ok
	}
	cases := map[string]struct {
		app  app
		want slogatev1alpha1.ReleasePhase
		// down, when set, stops the analyzer before the apply instead of killing it at killAt.
		down   bool
		killAt func(c change) bool
	}{
		"down when the Deployment is held": {
			app: v2, want: slogatev1alpha1.PhaseSucceeded, down: true,
		},
		"before the canary is ready": {
			app: v2, want: slogatev1alpha1.PhaseSucceeded,
			killAt: func(c change) bool {
				d, ok := c.object.(*appsv1.Deployment)
				return ok && d.Name == appName+"-canary" && d.Status.ReadyReplicas == 0
			},
		},
		"mid-pause": {
			app: v2, want: slogatev1alpha1.PhaseSucceeded,
			killAt: func(c change) bool {
				r, ok := release(c)
				return ok && r.Status.Reason == "Pausing" && r.Status.StepIndex == 1
			},
		},
		"mid-analysis": {
			app: v2, want: slogatev1alpha1.PhaseSucceeded,
			killAt: func(c change) bool {
				r, ok := release(c)
				return ok && r.Status.Reason == "Analyzing" && len(r.Status.Measurements) > 0
			},
		},
		"mid-promotion": {
			app: v2, want: slogatev1alpha1.PhaseSucceeded,
			killAt: func(c change) bool {
				r, ok := release(c)
				return ok && r.Status.Phase == slogatev1alpha1.PhasePromoting &&
					meta.IsStatusConditionTrue(r.Status.Conditions, slogatev1alpha1.ConditionRollingOut)
			},
		},
		"mid-rollback": {
			app: v2bad, want: slogatev1alpha1.PhaseRolledBack,
			killAt: func(c change) bool {
				r, ok := release(c)
				return ok && r.Status.Phase == slogatev1alpha1.PhaseRolledBack &&
					!meta.IsStatusConditionTrue(r.Status.Conditions, slogatev1alpha1.ConditionCompleted)
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newScenario(t, restartsYAML)
			route, stable, canary := s.snapshot()
			stableRev := s.deployment().Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
			t.Cleanup(func() { mustAnalyzerRunning(t) })

			mark := s.tl.len()
			if tc.down {
				analyzer.Stop()
			}
			s.apply(tc.app)
			rev, relName := s.mustHeld("")
			if tc.down {
				s.mustNoReleaseFor(quietPeriod/2, relName)
			} else {
				s.mustKillWhen(mark, tc.killAt)
			}
			killedAt := s.release(relName)
			if err := analyzer.Start(t.Context()); err != nil {
				t.Fatalf("restarting the analyzer: %v", err)
			}
			if killedAt != nil {
				t.Logf("analyzer restarted; the release was %s at step %d (%s)", killedAt.Status.Phase, killedAt.Status.StepIndex, killedAt.Status.Reason)
			}

			rel := s.mustPhase(relName, tc.want, releaseTimeout)
			t.Logf("release ended %s: %s", rel.Status.Phase, rel.Status.Message)
			d := s.deployment()
			switch tc.want {
			case slogatev1alpha1.PhaseSucceeded:
				if d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" {
					t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
				}
				s.mustServedOnlyBy(rev)
			case slogatev1alpha1.PhaseRolledBack:
				if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != rev {
					t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
				}
				s.mustServedOnlyBy(stableRev)
			}
			s.mustNoCanary()
			s.mustUserObjectsAsWritten(route, stable, canary)
			s.mustInvariants()
		})
	}
}

// mustKillWhen kills the analyzer as soon as a change recorded after the first mark matches.
func (s *scenario) mustKillWhen(mark int, match func(change) bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), stepTimeout)
	defer cancel()
	for {
		for _, c := range s.tl.since(mark) {
			if match(c) {
				analyzer.Kill()
				s.t.Logf("analyzer killed after %s", c)
				return
			}
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("the phase to kill the analyzer in never came")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// mustNoReleaseFor checks that no Release appears while the analyzer is down.
func (s *scenario) mustNoReleaseFor(d time.Duration, name string) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s.release(name) != nil {
			s.t.Fatalf("release %s was created while the analyzer was down", name)
		}
		select {
		case <-s.t.Context().Done():
			return
		case <-time.After(cluster.PollInterval):
		}
	}
}

// mustAnalyzerRunning starts the analyzer if a failed scenario left it down, so that the next
// scenario runs with one.
func mustAnalyzerRunning(t *testing.T) {
	if err := analyzer.Start(context.WithoutCancel(t.Context())); err != nil && err.Error() != "the analyzer is running" {
		t.Errorf("starting the analyzer again: %v", err)
	}
}
