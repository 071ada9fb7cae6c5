package webhook

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestMutateDeployment(t *testing.T) {
	web := makeDeployment("web")
	v1 := web.labelled() // created in an opted-in namespace
	r1 := v1.rev()
	v2 := v1.image("v2") // kubectl apply keeps the stored revision label: it is not in the manifest
	r2 := v2.rev()
	v3 := v1.image("v3")
	r3 := v3.rev()
	const (
		stableKey = slogatev1alpha1.StableRevisionAnnotation
		canaryKey = slogatev1alpha1.CanaryRevisionAnnotation
		failedKey = slogatev1alpha1.FailedRevisionAnnotation
	)
	// held: v2 under test, Deployment paused on the v2 template, v1 serving.
	held := v2.labelled().paused(true).release(r1, r2).generation(5)
	// promoting: the analyzer unpaused it; the Deployment controller rolls to v2.
	promoting := held.paused(false)
	// rolledBack: v2 failed; the Deployment stays paused on it.
	rolledBack := v2.labelled().paused(true).annotation(stableKey, r1).annotation(failedKey, r2).
		status(appsv1.DeploymentStatus{ObservedGeneration: 5, Replicas: 3, UpdatedReplicas: 0, AvailableReplicas: 3}).generation(5)

	started := func(next, stable string) string {
		return fmt.Sprintf("slogate: canary release of revision %s started, stable %s keeps serving and Deployment web stays "+
			"paused until it ends; follow it: kubectl slogate status web -n shop --watch", next, stable)
	}
	noCanary := func(next, why string) string {
		return fmt.Sprintf("slogate: no canary release for revision %s: %s; it rolls out as a plain rolling update", next, why)
	}

	cases := map[string]struct {
		op         admissionv1.Operation
		old, new   *appsv1.Deployment
		byAnalyzer bool
		want       DeploymentMutation
	}{
		"create labels the template": {
			op:   admissionv1.Create,
			new:  web.obj(),
			want: DeploymentMutation{Decision: DecisionLabelled, Deployment: web.labelled().obj()},
		},
		"create replaces a wrong revision label": {
			op:   admissionv1.Create,
			new:  web.revisionLabel("bogus").obj(),
			want: DeploymentMutation{Decision: DecisionLabelled, Deployment: web.labelled().obj()},
		},
		"create removes release annotations of an exported manifest": {
			op:  admissionv1.Create,
			new: web.release("abc", "def").obj(),
			want: DeploymentMutation{Decision: DecisionLabelled, Deployment: web.labelled().obj(), Warnings: []string{
				"slogate: removed annotation slogate.io/stable-revision: only slogate sets it, on a Deployment it holds",
				"slogate: removed annotation slogate.io/canary-revision: only slogate sets it, on a Deployment it holds",
			}},
		},
		"create with skip is left alone": {
			op:   admissionv1.Create,
			new:  web.annotation(slogatev1alpha1.SkipAnnotation, "true").obj(),
			want: DeploymentMutation{Decision: DecisionSkipped, Deployment: web.annotation(slogatev1alpha1.SkipAnnotation, "true").obj()},
		},
		"image change of a settled Deployment starts a release": {
			op: admissionv1.Update, old: v1.obj(), new: v2.obj(),
			want: DeploymentMutation{Decision: DecisionHold, Deployment: v2.labelled().paused(true).release(r1, r2).obj(),
				Warnings: []string{started(r2, r1)}},
		},
		"image change of a Deployment from before the opt-in takes stable from its template": {
			op: admissionv1.Update, old: web.obj(), new: web.image("v2").obj(),
			want: DeploymentMutation{Decision: DecisionHold,
				Deployment: web.image("v2").labelled().paused(true).release(web.rev(), r2).obj(),
				Warnings:   []string{started(r2, web.rev())}},
		},
		"kubectl rollout restart is a template change": {
			op: admissionv1.Update, old: v1.obj(),
			new: func() *appsv1.Deployment {
				d := v1.obj()
				d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-29T04:00:00Z"}
				return d
			}(),
			want: func() DeploymentMutation {
				d := v1.obj()
				d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-29T04:00:00Z"}
				b := deploymentBuilder{d: d}
				return DeploymentMutation{Decision: DecisionHold, Deployment: b.labelled().paused(true).release(r1, b.rev()).obj(),
					Warnings: []string{started(b.rev(), r1)}}
			}(),
		},
		"a Deployment the user paused starts a release like any other": {
			op: admissionv1.Update, old: v1.paused(true).obj(), new: v2.paused(true).obj(),
			want: DeploymentMutation{Decision: DecisionHold, Deployment: v2.labelled().paused(true).release(r1, r2).obj(),
				Warnings: []string{started(r2, r1)}},
		},
		"scale is no template change": {
			op: admissionv1.Update, old: v1.obj(), new: v1.replicas(5).obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: v1.replicas(5).obj()},
		},
		"the Deployment controller's annotation write is no template change": {
			op: admissionv1.Update, old: v1.obj(), new: v1.annotation("deployment.kubernetes.io/revision", "4").obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: v1.annotation("deployment.kubernetes.io/revision", "4").obj()},
		},
		"a label change is no template change": {
			op: admissionv1.Update, old: v1.obj(), new: v1.label("team", "payments").obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: v1.label("team", "payments").obj()},
		},
		"a re-apply that drops the revision label gets it back": {
			op: admissionv1.Update, old: v1.obj(), new: v1.noRevisionLabel().obj(),
			want: DeploymentMutation{Decision: DecisionRestored, Deployment: v1.obj()},
		},
		"a revision label added by hand to an unchanged template is removed": {
			op: admissionv1.Update, old: web.obj(), new: web.revisionLabel("mine").obj(),
			want: DeploymentMutation{Decision: DecisionRestored, Deployment: web.obj()},
		},
		"the stable template re-applied mid-release ends it": {
			op: admissionv1.Update, old: held.obj(), new: held.image("v1").obj(),
			want: DeploymentMutation{Decision: DecisionEnd,
				Deployment: held.image("v1").labelled().paused(false).noAnnotation(stableKey).noAnnotation(canaryKey).obj(),
				Warnings: []string{fmt.Sprintf("slogate: stable revision %s re-applied: the release of revision %s ends now "+
					"and Deployment web is unpaused", r1, r2)}},
		},
		"a newer template mid-release supersedes the canary": {
			op: admissionv1.Update, old: held.obj(), new: held.image("v3").obj(),
			want: DeploymentMutation{Decision: DecisionSupersede, Deployment: held.image("v3").labelled().release(r1, r3).obj(),
				Warnings: []string{fmt.Sprintf("slogate: revision %s supersedes canary %s: the release restarts from its first step, "+
					"stable %s keeps serving; follow it: kubectl slogate status web -n shop --watch", r3, r2, r1)}},
		},
		"a newer template during promotion supersedes and holds again": {
			op: admissionv1.Update, old: promoting.obj(), new: promoting.image("v3").obj(),
			want: DeploymentMutation{Decision: DecisionSupersede, Deployment: held.image("v3").labelled().release(r1, r3).obj(),
				Warnings: []string{fmt.Sprintf("slogate: revision %s supersedes canary %s: the release restarts from its first step, "+
					"stable %s keeps serving; follow it: kubectl slogate status web -n shop --watch", r3, r2, r1)}},
		},
		"the canary template re-applied mid-release changes nothing": {
			op: admissionv1.Update, old: held.obj(), new: held.obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: held.obj()},
		},
		"a re-apply mid-release that drops slogate's fields keeps the release and the hold": {
			op: admissionv1.Update, old: held.obj(),
			new:  held.noRevisionLabel().paused(false).noAnnotation(stableKey).noAnnotation(canaryKey).obj(),
			want: DeploymentMutation{Decision: DecisionRestored, Deployment: held.obj()},
		},
		"a re-apply during promotion that drops slogate's fields keeps it unpaused": {
			op: admissionv1.Update, old: promoting.obj(), new: promoting.noAnnotation(stableKey).noAnnotation(canaryKey).obj(),
			want: DeploymentMutation{Decision: DecisionRestored, Deployment: promoting.obj()},
		},
		"an explicit un-pause mid-release is left for the validating webhook": {
			op: admissionv1.Update, old: held.obj(), new: held.paused(false).obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: held.paused(false).obj()},
		},
		"release annotations a request brings are replaced by the stored ones": {
			op: admissionv1.Update, old: held.obj(), new: held.release("aaa", "bbb").annotation(failedKey, "ccc").obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: held.obj()},
		},
		"release annotations on a Deployment without a release are removed": {
			op: admissionv1.Update, old: v1.obj(), new: v2.release("aaa", "bbb").obj(),
			want: DeploymentMutation{Decision: DecisionHold, Deployment: v2.labelled().paused(true).release(r1, r2).obj(),
				Warnings: []string{started(r2, r1)}},
		},
		"the failed template re-applied while held on it changes nothing": {
			op: admissionv1.Update, old: rolledBack.obj(), new: rolledBack.obj(),
			want: DeploymentMutation{Decision: DecisionUnchanged, Deployment: rolledBack.obj()},
		},
		"the failed template applied again later is held and starts nothing": {
			op: admissionv1.Update, old: v1.annotation(failedKey, r2).obj(), new: v2.annotation(failedKey, r2).obj(),
			want: DeploymentMutation{Decision: DecisionFailedRevision,
				Deployment: v2.labelled().paused(true).annotation(failedKey, r2).annotation(stableKey, r1).obj(),
				Warnings: []string{fmt.Sprintf("slogate: revision %s was rolled back before: no release starts and Deployment web "+
					"stays paused on stable %s; to try it again: kubectl slogate retry web -n shop", r2, r1)}},
		},
		"the failed template applied mid-release of another revision replaces the canary with a hold": {
			op:  admissionv1.Update,
			old: v3.labelled().paused(true).release(r1, r3).annotation(failedKey, r2).obj(),
			new: v2.labelled().paused(true).release(r1, r3).annotation(failedKey, r2).obj(),
			want: DeploymentMutation{Decision: DecisionFailedRevision,
				Deployment: v2.labelled().paused(true).annotation(stableKey, r1).annotation(failedKey, r2).obj(),
				Warnings: []string{fmt.Sprintf("slogate: revision %s was rolled back before: no release starts and Deployment web "+
					"stays paused on stable %s; to try it again: kubectl slogate retry web -n shop", r2, r1)}},
		},
		"the stable template re-applied after a rollback ends the hold": {
			op: admissionv1.Update, old: rolledBack.obj(), new: rolledBack.image("v1").obj(),
			want: DeploymentMutation{Decision: DecisionEnd,
				Deployment: v1.annotation(failedKey, r2).status(rolledBack.d.Status).generation(5).obj(),
				Warnings: []string{fmt.Sprintf("slogate: stable revision %s re-applied: the release of revision %s ends now "+
					"and Deployment web is unpaused", r1, r2)}},
		},
		"a new template after a rollback starts a release from the recorded stable": {
			op: admissionv1.Update, old: rolledBack.obj(), new: rolledBack.image("v3").obj(),
			want: DeploymentMutation{Decision: DecisionHold,
				Deployment: rolledBack.image("v3").labelled().release(r1, r3).obj(),
				Warnings:   []string{started(r3, r1)}},
		},
		"skip on an update is left alone, even mid-release": {
			op: admissionv1.Update, old: held.obj(), new: held.image("v3").paused(false).annotation(slogatev1alpha1.SkipAnnotation, "true").obj(),
			want: DeploymentMutation{Decision: DecisionSkipped,
				Deployment: held.image("v3").paused(false).annotation(slogatev1alpha1.SkipAnnotation, "true").obj()},
		},
		"skip false is no skip": {
			op: admissionv1.Update, old: v1.obj(), new: v2.annotation(slogatev1alpha1.SkipAnnotation, "false").obj(),
			want: DeploymentMutation{Decision: DecisionHold,
				Deployment: v2.annotation(slogatev1alpha1.SkipAnnotation, "false").labelled().paused(true).release(r1, r2).obj(),
				Warnings:   []string{started(r2, r1)}},
		},
		"the analyzer's un-pause is left alone": {
			op: admissionv1.Update, old: held.obj(), new: promoting.obj(), byAnalyzer: true,
			want: DeploymentMutation{Decision: DecisionAnalyzer, Deployment: promoting.obj()},
		},
		"the analyzer's template write is left alone": {
			op: admissionv1.Update, old: v1.obj(), new: v2.obj(), byAnalyzer: true,
			want: DeploymentMutation{Decision: DecisionAnalyzer, Deployment: v2.obj()},
		},
		"replicas 0 in the request: no canary": {
			op: admissionv1.Update, old: v1.obj(), new: v2.replicas(0).obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.replicas(0).labelled().obj(),
				Warnings: []string{noCanary(r2, "replicas is 0")}},
		},
		"stored replicas 0: no canary": {
			op:  admissionv1.Update,
			old: v1.replicas(0).status(appsv1.DeploymentStatus{ObservedGeneration: 4}).obj(),
			new: v2.obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.labelled().obj(),
				Warnings: []string{noCanary(r2, "it was scaled to 0, so no stable revision serves")}},
		},
		"no available replica yet: no canary": {
			op:  admissionv1.Update,
			old: v1.status(appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, UnavailableReplicas: 3}).obj(),
			new: v2.obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.labelled().obj(),
				Warnings: []string{noCanary(r2, "no replica of the current revision is available yet")}},
		},
		"a change the Deployment controller has not observed yet: no canary": {
			op:  admissionv1.Update,
			old: v1.generation(5).obj(),
			new: v2.generation(5).obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.generation(5).labelled().obj(),
				Warnings: []string{noCanary(r2, "the Deployment controller has not yet seen the previous change")}},
		},
		"mid native rollout: no canary": {
			op:  admissionv1.Update,
			old: v1.status(appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 2, AvailableReplicas: 3}).obj(),
			new: v2.obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.labelled().obj(),
				Warnings: []string{noCanary(r2, "the previous rolling update has not finished (2 of 3 replicas updated, 4 in all)")}},
		},
		"old pods still terminating their rollout: no canary": {
			op:  admissionv1.Update,
			old: v1.status(appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3}).obj(),
			new: v2.obj(),
			want: DeploymentMutation{Decision: DecisionNoCanary, Deployment: v2.labelled().obj(),
				Warnings: []string{noCanary(r2, "the previous rolling update has not finished (3 of 3 replicas updated, 4 in all)")}},
		},
		"delete is ignored": {
			op: admissionv1.Delete, old: v1.obj(),
			want: DeploymentMutation{Decision: DecisionIgnored},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := MutateDeployment(DeploymentRequest{Operation: tc.op, Old: tc.old, New: tc.new, ByAnalyzer: tc.byAnalyzer})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MutateDeployment() (-want +got):\n%s", diff)
			}
			if got.Deployment != nil && tc.new != nil {
				assertOnlyOwnedFieldsDiffer(t, tc.new, got.Deployment)
			}
		})
	}
}

// assertOnlyOwnedFieldsDiffer checks that a mutation changed nothing of the user's: with slogate's
// fields reset to the request's, the result is the request's object.
func assertOnlyOwnedFieldsDiffer(t *testing.T, in, out *appsv1.Deployment) {
	t.Helper()
	o := out.DeepCopy()
	o.Spec.Paused = in.Spec.Paused
	restore := func(dst *map[string]string, src map[string]string, keys ...string) {
		for _, k := range keys {
			if v, ok := src[k]; ok {
				setLabel(dst, k, v)
			} else {
				delete(*dst, k)
			}
		}
		if len(*dst) == 0 && src == nil {
			*dst = nil
		}
	}
	restore(&o.Spec.Template.Labels, in.Spec.Template.Labels, slogatev1alpha1.RevisionLabel)
	restore(&o.Annotations, in.Annotations, releaseAnnotations...)
	if diff := cmp.Diff(in, o); diff != "" {
		t.Errorf("the mutation changed fields that are not slogate's (-request +result):\n%s", diff)
	}
}

func TestMutateDeploymentIsIdempotent(t *testing.T) {
	// The API server may call a mutating webhook again on its own result (reinvocation); the
	// second call must change nothing.
	v1 := makeDeployment("web").labelled()
	held := v1.image("v2").labelled().paused(true).release(v1.rev(), v1.image("v2").rev())
	cases := map[string]struct {
		op       admissionv1.Operation
		old, new *appsv1.Deployment
	}{
		"create":     {op: admissionv1.Create, new: makeDeployment("web").obj()},
		"hold":       {op: admissionv1.Update, old: v1.obj(), new: v1.image("v2").obj()},
		"supersede":  {op: admissionv1.Update, old: held.obj(), new: held.image("v3").obj()},
		"end":        {op: admissionv1.Update, old: held.obj(), new: held.image("v1").obj()},
		"restore":    {op: admissionv1.Update, old: held.obj(), new: held.noRevisionLabel().noAnnotations().paused(false).obj()},
		"no canary":  {op: admissionv1.Update, old: v1.replicas(0).obj(), new: v1.image("v2").obj()},
		"unchanged":  {op: admissionv1.Update, old: v1.obj(), new: v1.replicas(7).obj()},
		"failed rev": {op: admissionv1.Update, old: v1.annotation(slogatev1alpha1.FailedRevisionAnnotation, held.rev()).obj(), new: held.noAnnotations().obj()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			first := MutateDeployment(DeploymentRequest{Operation: tc.op, Old: tc.old, New: tc.new})
			second := MutateDeployment(DeploymentRequest{Operation: tc.op, Old: tc.old, New: first.Deployment})
			if diff := cmp.Diff(first.Deployment, second.Deployment); diff != "" {
				t.Errorf("second call changed the result (-first +second):\n%s", diff)
			}
			if edits := deploymentEdits(first.Deployment, second.Deployment); len(edits) != 0 {
				t.Errorf("second call made edits: %v", edits)
			}
		})
	}
}
