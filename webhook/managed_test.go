package webhook

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// toObject turns any object into the generic Object the managed rule sees, as the handler decodes it.
func toObject(t *testing.T, obj any) *Object {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	o := &Object{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestValidateManagedChange(t *testing.T) {
	canary := makeDeployment("web-canary").labelled().label(slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue).
		label(slogatev1alpha1.RoleLabel, slogatev1alpha1.RoleCanary)
	const denied = "Deployment web-canary is managed by slogate: only slogate's analyzer changes it, and it goes away when the " +
		"release ends (to end it now: kubectl slogate abort)"
	withFinalizer := canary.obj()
	withFinalizer.Finalizers = []string{"foregroundDeletion"}
	withOwner := canary.obj()
	withOwner.OwnerReferences = []metav1.OwnerReference{{APIVersion: "slogate.io/v1alpha1", Kind: "Release", Name: "web-x", UID: "u"}}

	cases := map[string]struct {
		op         admissionv1.Operation
		old, new   any
		byAnalyzer bool
		wantErrs   []string
	}{
		"the analyzer creates the canary": {op: admissionv1.Create, new: canary.obj(), byAnalyzer: true},
		"a user creates an object labelled managed-by slogate": {
			op: admissionv1.Create, new: canary.obj(),
			wantErrs: []string{"metadata.labels[app.kubernetes.io/managed-by]: Forbidden: objects labelled " +
				"app.kubernetes.io/managed-by=slogate are created by slogate's analyzer only"},
		},
		"a user scales the canary": {
			op: admissionv1.Update, old: canary.obj(), new: canary.replicas(10).obj(),
			wantErrs: []string{"spec: Forbidden: " + denied},
		},
		"a user changes the canary's image": {
			op: admissionv1.Update, old: canary.obj(), new: canary.image("v9").obj(),
			wantErrs: []string{"spec: Forbidden: " + denied},
		},
		"a user removes the managed-by label": {
			op: admissionv1.Update, old: canary.obj(), new: func() any { d := canary.obj(); delete(d.Labels, slogatev1alpha1.ManagedByLabel); return d }(),
			wantErrs: []string{"metadata.labels[app.kubernetes.io/managed-by]: Forbidden: " + denied},
		},
		"a user labels their own object managed-by slogate": {
			op: admissionv1.Update, old: makeDeployment("web").obj(), new: makeDeployment("web").label(slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue).obj(),
			wantErrs: []string{"metadata.labels[app.kubernetes.io/managed-by]: Forbidden: Deployment web is managed by slogate: only " +
				"slogate's analyzer changes it, and it goes away when the release ends (to end it now: kubectl slogate abort)"},
		},
		"a user annotates the canary": {
			op: admissionv1.Update, old: canary.obj(), new: canary.annotation("note", "mine").annotation(slogatev1alpha1.SkipAnnotation, "true").obj(),
			wantErrs: []string{
				"metadata.annotations[note]: Forbidden: " + denied,
				"metadata.annotations[slogate.io/skip]: Forbidden: " + denied,
			},
		},
		"the analyzer changes the canary": {
			op: admissionv1.Update, old: canary.obj(), new: canary.replicas(2).image("v3").obj(), byAnalyzer: true,
		},
		"the Deployment controller's revision annotation": {
			op: admissionv1.Update, old: canary.obj(), new: canary.annotation("deployment.kubernetes.io/revision", "2").obj(),
		},
		"the garbage collector's finalizer": {op: admissionv1.Update, old: canary.obj(), new: withFinalizer},
		"an owner reference":                {op: admissionv1.Update, old: canary.obj(), new: withOwner},
		"a status-only difference": {
			op: admissionv1.Update, old: canary.obj(), new: canary.status(canary.d.Status).generation(9).obj(),
		},
		"a managed Service's selector": {
			op:       admissionv1.Update,
			old:      makeService("web-canary").label(slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue).obj(),
			new:      makeService("web-canary").label(slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue).selector("app", "other").obj(),
			wantErrs: []string{"spec: Forbidden: Service web-canary is managed by slogate: only slogate's analyzer changes it, and it goes away when the release ends (to end it now: kubectl slogate abort)"},
		},
		"an object that is not slogate's": {
			op: admissionv1.Update, old: makeDeployment("web").obj(), new: makeDeployment("web").image("v2").obj(),
		},
		"deletion always passes": {op: admissionv1.Delete, old: canary.obj()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := ManagedRequest{Operation: tc.op, ByAnalyzer: tc.byAnalyzer}
			if tc.old != nil {
				req.Old = toObject(t, tc.old)
			}
			if tc.new != nil {
				req.New = toObject(t, tc.new)
			}
			if diff := cmp.Diff(tc.wantErrs, errorStrings(ValidateManagedChange(req))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
