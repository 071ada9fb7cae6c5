package analyzer

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/slogate/slogate/analyzer/gate"
	"github.com/slogate/slogate/analyzer/machine"
	"github.com/slogate/slogate/analyzer/policy"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// weights renders the weights annotation the way the route write log shows it.
func weights(canary int) string {
	return appName + "-stable=" + strconv.Itoa(100-canary) + "," + appName + "-canary=" + strconv.Itoa(canary)
}

// mustUserObjectsUnchanged checks that the route and the Services are as the user wrote them.
func (e *env) mustUserObjectsUnchanged() {
	e.t.Helper()
	want := userRoute()
	got := e.route()
	if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
		e.t.Errorf("route spec after the release (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Annotations, got.Annotations); diff != "" {
		e.t.Errorf("route annotations after the release (-want +got):\n%s", diff)
	}
	for _, name := range []string{appName + "-stable", appName + "-canary"} {
		svc := &corev1.Service{}
		e.mustGet(svc, name)
		want := service(name)
		if diff := cmp.Diff(want.Spec.Selector, svc.Spec.Selector); diff != "" {
			e.t.Errorf("Service %s selector (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(want.Annotations, svc.Annotations); diff != "" {
			e.t.Errorf("Service %s annotations (-want +got):\n%s", name, diff)
		}
	}
	if c := e.canary(); c != nil {
		e.t.Errorf("canary Deployment still there: %v", c.Name)
	}
}

func (e *env) mustReplicaSetReplicas(image string, want int32) {
	e.t.Helper()
	rs := &appsv1.ReplicaSet{}
	e.mustGet(rs, appName+"-"+hashOf(rev(image)))
	if *rs.Spec.Replicas != want {
		e.t.Errorf("ReplicaSet of %s has %d replicas, want %d", image, *rs.Spec.Replicas, want)
	}
}

func TestHappyPath(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.apply("v2")
	name := releaseOf("v2")

	e.mustRunUntil("the canary carries 5 %", e.atStep(name, 1))
	c := e.canary()
	if c == nil {
		t.Fatal("no canary Deployment at 5 %")
	}
	if !machine.IsManaged(c.Labels) || c.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] != rev("v2") ||
		c.Spec.Selector.MatchLabels[slogatev1alpha1.RevisionLabel] != rev("v2") || *c.Spec.Replicas != 1 {
		t.Errorf("canary labels %v, selector %v, replicas %d", c.Labels, c.Spec.Selector.MatchLabels, *c.Spec.Replicas)
	}
	if owner := metav1.GetControllerOf(c); owner == nil || owner.Kind != "Release" || owner.Name != name {
		t.Errorf("canary controller = %v, want Release %s", owner, name)
	}
	stable := &corev1.Service{}
	e.mustGet(stable, appName+"-stable")
	if got := stable.Spec.Selector[appsv1.DefaultDeploymentUniqueLabelKey]; got != hashOf(rev("v1")) {
		t.Errorf("stable Service pinned to %q, want %q", got, hashOf(rev("v1")))
	}
	if got := stable.Annotations[slogatev1alpha1.StablePinAnnotation]; got != appsv1.DefaultDeploymentUniqueLabelKey {
		t.Errorf("stable pin annotation = %q", got)
	}

	e.mustRunUntil("the canary carries 50 %", e.atStep(name, 7))
	if c := e.canary(); *c.Spec.Replicas != 2 {
		t.Errorf("canary at 50 %% of 4 has %d replicas, want 2", *c.Spec.Replicas)
	}
	e.mustReplicaSetReplicas("v1", 4)

	e.mustRunUntil("the release succeeded", e.completed(name, slogatev1alpha1.PhaseSucceeded))

	wantRoutes := []string{weights(0), weights(5), weights(25), weights(50), weights(100), weights(0), ""}
	if diff := cmp.Diff(wantRoutes, e.routeWrites()); diff != "" {
		t.Errorf("route writes (-want +got):\n%s", diff)
	}
	e.mustUserObjectsUnchanged()
	d := e.deployment()
	if d.Spec.Paused {
		t.Error("Deployment still paused")
	}
	if diff := cmp.Diff(template("v2"), d.Spec.Template); diff != "" {
		t.Errorf("Deployment template (-want +got):\n%s", diff)
	}
	for k := range d.Annotations {
		if strings.HasPrefix(k, slogatev1alpha1.Prefix) {
			t.Errorf("Deployment keeps annotation %s", k)
		}
	}
	if diff := cmp.Diff(stableDeployment().Labels, d.Labels); diff != "" {
		t.Errorf("Deployment labels (-want +got):\n%s", diff)
	}
	e.mustReplicaSetReplicas("v1", 0)
	e.mustReplicaSetReplicas("v2", 4)

	rel := e.release(name)
	if rel.Spec.Policy != "RolloutPolicy/fast" || !cmp.Equal(rel.Spec.Steps, fastSteps()) ||
		!cmp.Equal(rel.Spec.HTTPRoutes, []string{appName + "-route"}) {
		t.Errorf("release spec = %+v", rel.Spec)
	}
	if len(rel.Status.Measurements) != 2 || rel.Status.FinishedAt == nil || len(rel.Finalizers) != 0 {
		t.Errorf("release status: %d measurements, finished %v, finalizers %v", len(rel.Status.Measurements), rel.Status.FinishedAt, rel.Finalizers)
	}
	if got := e.rec.reasons("Deployment"); !containsInOrder(got, "ReleaseCreated", "Started", "CanaryCreated", "WeightSet",
		"PauseEnded", "AnalysisPassed", "WeightSet", "PauseEnded", "AnalysisPassed", "WeightSet", "PauseEnded", "WeightSet",
		"Promoting", "RollingOut", "ServicePinned", "Promoted", "CanaryDeleted", "Completed") {
		t.Errorf("Deployment events out of order: %v", got)
	}
	if got := testutil.ToFloat64(e.r.Metrics.promotions.WithLabelValues(machine.ReasonPromoted)); got != 1 {
		t.Errorf("promotions_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.r.Metrics.phase.WithLabelValues(ns, name, string(slogatev1alpha1.PhaseSucceeded))); got != 1 {
		t.Errorf("release_phase{Succeeded} = %v, want 1", got)
	}
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got []string, want ...string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestDefaultPolicy(t *testing.T) {
	e := newEnv(t)
	e.apply("v2")
	e.mustRunUntil("the release exists", func() bool { return e.release(releaseOf("v2")) != nil })
	rel := e.release(releaseOf("v2"))
	if rel.Spec.Policy != policy.DefaultName || !cmp.Equal(rel.Spec.Steps, policy.DefaultSteps()) {
		t.Errorf("release policy %q steps %v, want the default", rel.Spec.Policy, rel.Spec.Steps)
	}
	if rel.Spec.StableService != appName+"-stable" || rel.Spec.CanaryService != appName+"-canary" ||
		rel.Spec.StableRevision != rev("v1") || rel.Spec.CanaryRevision != rev("v2") {
		t.Errorf("release spec %+v", rel.Spec)
	}
	if owner := rel.OwnerReferences; len(owner) != 1 || owner[0].Kind != "Deployment" || owner[0].Name != appName {
		t.Errorf("release owners %v, want the Deployment", owner)
	}
}

func TestRollbackAt25(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.gate.script = map[int32][]gate.Outcome{5: {gate.Failed}}
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("the analysis at 25 %", e.atStep(name, 5))
	n := len(e.writes)
	e.mustRunUntil("the release rolled back", e.completed(name, slogatev1alpha1.PhaseRolledBack))

	w := e.writesSince(n)
	if len(w) < 2 || w[0] != "update HTTPRoute/"+appName+"-route "+weights(0) || w[1] != "status Release/"+name+" RolledBack/5/0" {
		t.Fatalf("writes after the failed analysis start %v, want the route to 0 %% then the status", w[:min(3, len(w))])
	}
	deleted := slices.IndexFunc(w, func(s string) bool { return strings.HasPrefix(s, "delete Deployment/"+appName+"-canary") })
	if deleted < 2 {
		t.Errorf("canary deleted at write %d after the route write: %v", deleted, w)
	}
	rel := e.release(name)
	if rel.Status.Reason != machine.ReasonAnalysisFailed {
		t.Errorf("reason = %s", rel.Status.Reason)
	}
	last := rel.Status.Measurements[len(rel.Status.Measurements)-1]
	if last.Verdict != slogatev1alpha1.VerdictFailed || last.Value != "91.2" || last.Step != 5 || last.Weight != 25 {
		t.Errorf("failed measurement = %+v", last)
	}
	if !meta.IsStatusConditionTrue(rel.Status.Conditions, slogatev1alpha1.ConditionTrafficRestored) {
		t.Error("TrafficRestored is not True")
	}
	d := e.deployment()
	if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != rev("v2") ||
		d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" || d.Annotations[slogatev1alpha1.StableRevisionAnnotation] != rev("v1") {
		t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}
	e.mustReplicaSetReplicas("v1", 4)
	e.mustUserObjectsUnchanged()
	if got := testutil.ToFloat64(e.r.Metrics.rollbacks.WithLabelValues(machine.ReasonAnalysisFailed)); got != 1 {
		t.Errorf("rollbacks_total = %v, want 1", got)
	}

	// The same manifest again starts nothing.
	n = len(e.writes)
	e.apply("v2")
	for range 5 {
		if _, err := e.step(); err != nil {
			t.Fatal(err)
		}
	}
	if w := e.writesSince(n); len(w) != 0 {
		t.Errorf("re-applying the failed manifest wrote %v", w)
	}

	// A new image starts a new release, which succeeds and clears the failed revision.
	e.gate.script = nil
	e.apply("v3")
	e.mustRunUntil("the new release succeeded", e.completed(releaseOf("v3"), slogatev1alpha1.PhaseSucceeded))
	if a := e.deployment().Annotations; a[slogatev1alpha1.FailedRevisionAnnotation] != "" {
		t.Errorf("failed revision still recorded: %v", a)
	}
	e.mustUserObjectsUnchanged()
}

func TestSupersede(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.apply("v2")
	old := releaseOf("v2")
	e.mustRunUntil("the canary carries 25 %", e.atStep(old, 4))
	n := len(e.writes)
	e.apply("v3")
	e.mustRunUntil("the old release ended", e.completed(old, slogatev1alpha1.PhaseAborted))
	w := e.writesSince(n)
	if len(w) < 1 || !strings.HasPrefix(w[0], "create Release/"+releaseOf("v3")) {
		t.Errorf("first write after the newer apply = %v, want the new Release", w[:min(1, len(w))])
	}
	firstRoute := slices.IndexFunc(w, func(s string) bool { return strings.Contains(s, "HTTPRoute/") })
	if firstRoute < 0 || !strings.HasSuffix(w[firstRoute], weights(0)) {
		t.Errorf("first route write after the newer apply = %v, want 0 %% on the canary", w)
	}
	for _, s := range w[:firstRoute] {
		if strings.Contains(s, "Deployment/") || strings.Contains(s, "Service/") {
			t.Errorf("%s before traffic went back to stable", s)
		}
	}
	if r := e.release(old); r.Status.Reason != machine.ReasonSuperseded {
		t.Errorf("old release reason = %s", r.Status.Reason)
	}
	e.mustReplicaSetReplicas("v1", 4)
	e.mustRunUntil("the new release succeeded", e.completed(releaseOf("v3"), slogatev1alpha1.PhaseSucceeded))
	routes := e.routeWrites()
	if !containsInOrder(routes, weights(25), weights(0), weights(5), weights(25), weights(50), weights(100), weights(0), "") {
		t.Errorf("route writes %v: the new release did not start over", routes)
	}
	e.mustUserObjectsUnchanged()
	if diff := cmp.Diff(template("v3"), e.deployment().Spec.Template); diff != "" {
		t.Errorf("Deployment template (-want +got):\n%s", diff)
	}
}

func TestStableReapplied(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("the canary carries 25 %", e.atStep(name, 4))
	n := len(e.writes)
	e.apply("v1")
	e.mustRunUntil("the release ended", e.completed(name, slogatev1alpha1.PhaseAborted))
	w := e.writesSince(n)
	if len(w) < 2 || w[0] != "update HTTPRoute/"+appName+"-route "+weights(0) || !strings.HasPrefix(w[1], "status Release/"+name+" Aborted") {
		t.Errorf("writes after the stable apply start %v, want the route to 0 %% then the status", w[:min(2, len(w))])
	}
	for _, s := range w {
		if strings.Contains(s, "Deployment/"+appName+" ") || strings.HasSuffix(s, "Deployment/"+appName) {
			t.Errorf("the analyzer wrote the user's Deployment: %s", s)
		}
	}
	if r := e.release(name); r.Status.Reason != machine.ReasonStableReapplied {
		t.Errorf("reason = %s", r.Status.Reason)
	}
	d := e.deployment()
	if d.Spec.Paused || len(d.Annotations) != 0 {
		t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
	}
	e.mustReplicaSetReplicas("v1", 4)
	e.mustUserObjectsUnchanged()
}

func TestActions(t *testing.T) {
	manual := fastSteps()
	manual[4] = slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{}}
	cases := map[string]struct {
		steps    []slogatev1alpha1.CanaryStep
		script   map[int32][]gate.Outcome
		wait     func(e *env, name string) func() bool
		action   string
		want     slogatev1alpha1.ReleasePhase
		wantWhy  string
		check    func(t *testing.T, e *env, name string)
		wantGate int
	}{
		"promote passes a manual pause": {
			steps:    manual,
			wait:     func(e *env, name string) func() bool { return e.phaseIs(name, slogatev1alpha1.PhasePaused) },
			action:   slogatev1alpha1.ActionPromote,
			want:     slogatev1alpha1.PhaseSucceeded,
			wantWhy:  machine.ReasonPromoted,
			wantGate: 2,
		},
		"promote-full skips the remaining steps": {
			steps:    fastSteps(),
			wait:     func(e *env, name string) func() bool { return e.atStep(name, 1) },
			action:   slogatev1alpha1.ActionPromoteFull,
			want:     slogatev1alpha1.PhaseSucceeded,
			wantWhy:  machine.ReasonPromoted,
			wantGate: 0,
			check: func(t *testing.T, e *env, _ string) {
				want := []string{weights(0), weights(5), weights(100), weights(0), ""}
				if diff := cmp.Diff(want, e.routeWrites()); diff != "" {
					t.Errorf("route writes (-want +got):\n%s", diff)
				}
			},
		},
		"abort rolls back": {
			steps:    fastSteps(),
			wait:     func(e *env, name string) func() bool { return e.atStep(name, 4) },
			action:   slogatev1alpha1.ActionAbort,
			want:     slogatev1alpha1.PhaseRolledBack,
			wantWhy:  machine.ReasonAbortedByUser,
			wantGate: 1,
			check: func(t *testing.T, e *env, _ string) {
				d := e.deployment()
				if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != rev("v2") {
					t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
				}
			},
		},
		"retry runs the failed revision again": {
			steps:    fastSteps(),
			script:   map[int32][]gate.Outcome{2: {gate.Failed, gate.Successful}},
			wait:     func(e *env, name string) func() bool { return e.completed(name, slogatev1alpha1.PhaseRolledBack) },
			action:   slogatev1alpha1.ActionRetry,
			want:     slogatev1alpha1.PhaseSucceeded,
			wantWhy:  machine.ReasonPromoted,
			wantGate: 3,
			check: func(t *testing.T, e *env, name string) {
				if !slices.Contains(e.rec.reasons("Release"), machine.ReasonRetried) {
					t.Errorf("no Retried event: %v", e.rec.reasons("Release"))
				}
				if a := e.deployment().Annotations; len(a) != 0 {
					t.Errorf("Deployment annotations after the retried release: %v", a)
				}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fastPolicy(tc.steps))
			e.gate.script = tc.script
			e.apply("v2")
			rel := releaseOf("v2")
			e.mustRunUntil("the release is ready for the action", tc.wait(e, rel))
			e.act(tc.action)
			e.mustRunUntil("the release ended", e.completed(rel, tc.want))
			r := e.release(rel)
			if r.Status.Reason != tc.wantWhy {
				t.Errorf("reason = %s, want %s", r.Status.Reason, tc.wantWhy)
			}
			if _, ok := e.deployment().Annotations[slogatev1alpha1.ActionAnnotation]; ok {
				t.Error("the action annotation was not removed")
			}
			if !slices.Contains(e.rec.reasons("Deployment"), machine.ReasonActionTaken) && tc.action != slogatev1alpha1.ActionAbort && tc.action != slogatev1alpha1.ActionRetry {
				t.Errorf("no ActionTaken event: %v", e.rec.reasons("Deployment"))
			}
			if e.gate.calls != tc.wantGate {
				t.Errorf("gate called %d times, want %d", e.gate.calls, tc.wantGate)
			}
			e.mustUserObjectsUnchanged()
			if tc.check != nil {
				tc.check(t, e, rel)
			}
		})
	}
}

func TestActionRefused(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.act(slogatev1alpha1.ActionPromote)
	for range 3 {
		if _, err := e.step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := e.deployment().Annotations[slogatev1alpha1.ActionAnnotation]; ok {
		t.Error("an action without a release stays on the Deployment")
	}
	if got := e.rec.reasons("Deployment"); !slices.Contains(got, machine.ReasonActionRejected) {
		t.Errorf("events %v, want ActionRejected", got)
	}
}

// counting returns a crash predicate that matches the n-th write with the prefix and suffix.
func counting(prefix, suffix string, n int) func(string) bool {
	seen := 0
	return func(w string) bool {
		if strings.HasPrefix(w, prefix) && strings.HasSuffix(w, suffix) {
			seen++
			return seen == n
		}
		return false
	}
}

// TestRestart kills the analyzer at each phase (a write fails and the reconciler is rebuilt over the
// same stored objects) and checks that the release ends as it would have.
func TestRestart(t *testing.T) {
	statusOf := "status Release/" + releaseOf("v2")
	cases := map[string]struct {
		script  map[int32][]gate.Outcome
		crashAt func(string) bool
		// before runs until the phase to kill in, then restarts the analyzer.
		before  func(e *env, name string) func() bool
		want    slogatev1alpha1.ReleasePhase
		wantWhy string
	}{
		"before the canary is ready": {
			before: func(e *env, name string) func() bool {
				e.canaryReady = false
				return func() bool {
					r := e.release(name)
					return r != nil && r.Status.Reason == machine.ReasonWaitingForCanary
				}
			},
			want: slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"creating the canary": {
			crashAt: counting("create Deployment/"+appName+"-canary", "", 1),
			want:    slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"mid-pause": {
			before: func(e *env, name string) func() bool { return e.atStep(name, 1) },
			want:   slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"mid-analysis": {
			script: map[int32][]gate.Outcome{2: {gate.Running, gate.Running, gate.Successful}},
			before: func(e *env, name string) func() bool {
				return func() bool { r := e.release(name); return r != nil && len(r.Status.Measurements) == 1 }
			},
			want: slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"between the 25 % route write and its status": {
			crashAt: counting(statusOf, "Progressing/4/25", 1),
			want:    slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"between the unpause and its status (mid-promotion)": {
			crashAt: counting(statusOf, "Promoting/9/100", 2),
			want:    slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"while the Deployment rolls (mid-promotion)": {
			before: func(e *env, name string) func() bool {
				return func() bool {
					r := e.release(name)
					return r != nil && meta.IsStatusConditionTrue(r.Status.Conditions, slogatev1alpha1.ConditionRollingOut)
				}
			},
			want: slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
		"between the rollback's route write and its status (mid-rollback)": {
			script:  map[int32][]gate.Outcome{5: {gate.Failed}},
			crashAt: counting(statusOf, "RolledBack/5/0", 1),
			want:    slogatev1alpha1.PhaseRolledBack, wantWhy: machine.ReasonTrafficChanged,
		},
		"deleting the canary after a rollback (mid-rollback)": {
			script:  map[int32][]gate.Outcome{5: {gate.Failed}},
			crashAt: counting("delete Deployment/"+appName+"-canary", "", 1),
			want:    slogatev1alpha1.PhaseRolledBack, wantWhy: machine.ReasonAnalysisFailed,
		},
		"restoring the Services after promotion": {
			crashAt: counting("patch Service/"+appName+"-stable", "", 3),
			want:    slogatev1alpha1.PhaseSucceeded, wantWhy: machine.ReasonPromoted,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fastPolicy(fastSteps()))
			e.gate.script = tc.script
			e.crashAt = tc.crashAt
			e.apply("v2")
			rel := releaseOf("v2")
			if tc.before != nil {
				e.mustRunUntil("the phase to kill in", tc.before(e, rel))
				e.restart()
				e.canaryReady = true
			}
			e.mustRunUntil("the release ended", e.completed(rel, tc.want))
			if e.crashAt != nil {
				t.Fatal("the analyzer was never killed")
			}
			r := e.release(rel)
			if r.Status.Reason != tc.wantWhy {
				t.Errorf("reason = %s, want %s (%s)", r.Status.Reason, tc.wantWhy, r.Status.Message)
			}
			e.mustUserObjectsUnchanged()
			d := e.deployment()
			switch tc.want {
			case slogatev1alpha1.PhaseSucceeded:
				if d.Spec.Paused || len(d.Annotations) != 0 {
					t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
				}
			case slogatev1alpha1.PhaseRolledBack:
				if !d.Spec.Paused || d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] != rev("v2") {
					t.Errorf("Deployment paused=%v annotations=%v", d.Spec.Paused, d.Annotations)
				}
				e.mustReplicaSetReplicas("v1", 4)
			}
		})
	}
}

func TestDeploymentDeleted(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("the canary carries 25 %", e.atStep(name, 4))
	// kubectl delete deployment: the Deployment goes, the garbage collector deletes its Release,
	// which the finalizer keeps.
	if err := e.world().Delete(t.Context(), e.deployment()); err != nil {
		t.Fatal(err)
	}
	if err := e.world().Delete(t.Context(), e.release(name)); err != nil {
		t.Fatal(err)
	}
	e.mustRunUntil("the release is gone", func() bool { return e.release(name) == nil })
	e.mustUserObjectsUnchanged()
	if got := e.rec.reasons("Release"); !slices.Contains(got, machine.ReasonDeploymentDeleted) {
		t.Errorf("events %v, want DeploymentDeleted", got)
	}
}

func TestReleaseDeletedRestarts(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("the canary carries 5 %", e.atStep(name, 2))
	if err := e.world().Delete(t.Context(), e.release(name)); err != nil {
		t.Fatal(err)
	}
	e.releaseGap = true
	e.mustRunUntil("the release was recreated and succeeded", e.completed(name, slogatev1alpha1.PhaseSucceeded))
	if got := e.rec.reasons("Deployment"); !slices.Contains(got, machine.ReasonReleaseDeleted) {
		t.Errorf("events %v, want ReleaseDeleted", got)
	}
	e.mustUserObjectsUnchanged()
}

func TestCanaryNotReadyRollsBack(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.canaryReady = false
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("the release rolled back", e.completed(name, slogatev1alpha1.PhaseRolledBack))
	r := e.release(name)
	if r.Status.Reason != machine.ReasonCanaryNotReady {
		t.Errorf("reason = %s", r.Status.Reason)
	}
	for _, w := range e.routeWrites() {
		if w != weights(0) && w != "" {
			t.Errorf("a weight moved before the canary was ready: %s", w)
		}
	}
	e.mustUserObjectsUnchanged()
}

func TestCanaryRefused(t *testing.T) {
	const why = "this cluster admits no canary Deployments"
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	cases := map[string]struct {
		refusal error
	}{
		"forbidden by an admission webhook or Pod Security": {
			refusal: apierrors.NewForbidden(gr, CanaryName(appName), errors.New(why)),
		},
		"invalid by a ValidatingAdmissionPolicy": {
			refusal: apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, CanaryName(appName),
				field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels"), why)}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fastPolicy(fastSteps()))
			e.refuse = func(write string) error {
				if write == "create Deployment/"+CanaryName(appName) {
					return tc.refusal
				}
				return nil
			}
			e.apply("v2")
			rel := releaseOf("v2")
			e.mustRunUntil("the release rolled back", e.completed(rel, slogatev1alpha1.PhaseRolledBack))
			mustRefusalReported(t, e, rel, machine.ReasonCanaryRefused, why)
			if elapsed := e.clock.Now().Sub(t0); elapsed >= time.Minute {
				t.Errorf("the refusal took %v to end the release; want less than the canaryReadyTimeout of 1m", elapsed)
			}
		})
	}
}

func TestCanaryWriteFailingRollsBackAfterTimeout(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	const why = "failed calling webhook: connection refused"
	e.refuse = func(write string) error {
		if write == "create Deployment/"+CanaryName(appName) {
			return apierrors.NewInternalError(errors.New(why))
		}
		return nil
	}
	e.apply("v2")
	rel := releaseOf("v2")
	e.mustRunUntil("the release rolled back", e.completed(rel, slogatev1alpha1.PhaseRolledBack))
	mustRefusalReported(t, e, rel, machine.ReasonCanaryNotReady, why)
	if elapsed := e.clock.Now().Sub(t0); elapsed < time.Minute {
		t.Errorf("the release ended after %v; want it to wait the canaryReadyTimeout of 1m", elapsed)
	}
}

func TestCanaryPodsRefused(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	const why = `pods "payments-api-canary-6d4f-x2" is forbidden: violates PodSecurity "restricted:latest"`
	e.canaryPodsRefused = why
	e.apply("v2")
	rel := releaseOf("v2")
	e.mustRunUntil("the release held on the refused pods", func() bool {
		r := e.release(rel)
		return r != nil && r.Status.Phase == slogatev1alpha1.PhaseProgressing && r.Status.Reason == machine.ReasonCanaryRefused
	})
	e.mustRunUntil("the release rolled back", e.completed(rel, slogatev1alpha1.PhaseRolledBack))
	mustRefusalReported(t, e, rel, machine.ReasonCanaryRefused, why)
}

// mustRefusalReported checks a release that ended because its canary could not run: the reason and
// the API's message in the Release and in a Warning event on the Release and on the Deployment,
// no traffic ever on the canary, and the Deployment held on stable with the failed revision.
func mustRefusalReported(t *testing.T, e *env, name, reason, why string) {
	t.Helper()
	r := e.release(name)
	if r.Status.Reason != reason || !strings.Contains(r.Status.Message, why) {
		t.Errorf("release ended %s: %s; want reason %s and a message with %q", r.Status.Reason, r.Status.Message, reason, why)
	}
	for _, kind := range []string{"Release", "Deployment"} {
		found := false
		for _, ev := range e.rec.events {
			if strings.HasPrefix(ev, kind+"/") && strings.Contains(ev, " Warning "+reason+": ") && strings.Contains(ev, why) {
				found = true
			}
		}
		if !found {
			t.Errorf("no Warning event %s on the %s with %q; events:\n%s", reason, kind, why, strings.Join(e.rec.events, "\n"))
		}
	}
	for _, w := range e.routeWrites() {
		if w != weights(0) && w != "" {
			t.Errorf("a weight moved to a canary that could not run: %s", w)
		}
	}
	d := e.deployment()
	if !d.Spec.Paused {
		t.Error("the Deployment was unpaused; want it held on stable")
	}
	if got := d.Annotations[slogatev1alpha1.FailedRevisionAnnotation]; got != rev("v2") {
		t.Errorf("failed-revision = %q, want %q", got, rev("v2"))
	}
	if _, ok := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]; ok {
		t.Error("the Deployment still names a canary revision")
	}
	e.mustReplicaSetReplicas("v1", 4)
	e.mustUserObjectsUnchanged()
}

func TestRolledBackRevisionAppliedAgainOverNewerStable(t *testing.T) {
	e := newEnv(t, fastPolicy(fastSteps()))
	e.gate.script = map[int32][]gate.Outcome{2: {gate.Failed}}
	e.apply("v2")
	name := releaseOf("v2")
	e.mustRunUntil("v2 rolled back", e.completed(name, slogatev1alpha1.PhaseRolledBack))
	e.gate.script = nil
	e.apply("v3")
	e.mustRunUntil("v3 succeeded", e.completed(releaseOf("v3"), slogatev1alpha1.PhaseSucceeded))

	e.apply("v2")
	e.mustRunUntil("v2 released again", func() bool {
		r := e.release(name)
		return r != nil && r.Status.StepIndex >= 1 && !r.Status.Phase.IsTerminal()
	})
	r := e.release(name)
	if r.Spec.StableRevision != rev("v3") || r.Spec.CanaryRevision != rev("v2") {
		t.Errorf("release of v2 runs stable %s canary %s, want stable %s (v3) canary %s", r.Spec.StableRevision, r.Spec.CanaryRevision, rev("v3"), rev("v2"))
	}
	if r.Status.Reason == machine.ReasonRestarted || slices.Contains(e.rec.reasons("Release"), machine.ReasonRestarted) {
		t.Errorf("the old Release was restarted; want a new one")
	}
	if len(r.Status.Measurements) != 0 {
		t.Errorf("the new release carries %d measurements of the old one", len(r.Status.Measurements))
	}
	if got := e.rec.reasons("Deployment"); !slices.Contains(got, "ReleaseReplaced") {
		t.Errorf("events on the Deployment %v, want ReleaseReplaced", got)
	}
	e.mustRunUntil("v2 succeeded", e.completed(name, slogatev1alpha1.PhaseSucceeded))
	e.mustReplicaSetReplicas("v2", 4)
	e.mustReplicaSetReplicas("v3", 0)
	e.mustUserObjectsUnchanged()
}
