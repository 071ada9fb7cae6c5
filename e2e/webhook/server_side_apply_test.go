package webhook_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestServerSideApplyKeepsTheHold: with server-side apply (as GitOps tools use it), re-applying the
// manifest mid-release keeps the release (paused, annotations, revision label) whoever owns those
// fields; re-applying the stable manifest ends it.
func TestServerSideApplyKeepsTheHold(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	apply := func(tag string) string {
		_, stderr := mustKubectl(t, app{Tag: tag}.yaml(t), "apply", "--server-side", "--field-manager=gitops", "--namespace", ns, "-f", "-")
		return stderr
	}
	slogateFields := func() map[string]any {
		d := mustGetDeployment(t, ns, "web")
		return map[string]any{
			"paused": d.Spec.Paused,
			"label":  d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel],
			"stable": d.Annotations[slogatev1alpha1.StableRevisionAnnotation],
			"canary": d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
		}
	}

	apply("v1")
	mustRolledOut(t, ns, "web")
	apply("v2")
	held := slogateFields()
	if held["paused"] != true || held["canary"] == "" || held["canary"] != held["label"] {
		t.Fatalf("after applying v2: %v, want a held release", held)
	}
	for range 2 {
		apply("v2")
		if diff := cmp.Diff(held, slogateFields()); diff != "" {
			t.Errorf("re-applying v2 server-side changed the release (-before +after):\n%s", diff)
		}
	}

	apply("v1")
	d := mustRolledOut(t, ns, "web")
	if d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" {
		t.Errorf("re-applying v1 server-side did not end the release: paused %v, annotations %v", d.Spec.Paused, d.Annotations)
	}
}
