package webhook_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestReplaceKeepsTheHold: kubectl replace of the user's manifest mid-release sends an object
// without slogate's fields (no annotations, not paused, no revision label); the webhook puts the
// stored ones back, so the release goes on and nothing rolls out.
func TestReplaceKeepsTheHold(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustApply(t, ns, app{Tag: "v1"})
	mustRolledOut(t, ns, "web")
	mustApply(t, ns, app{Tag: "v2"})
	slogateFields := func() map[string]any {
		d := mustGetDeployment(t, ns, "web")
		return map[string]any{
			"paused": d.Spec.Paused,
			"label":  d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel],
			"stable": d.Annotations[slogatev1alpha1.StableRevisionAnnotation],
			"canary": d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
		}
	}
	held := slogateFields()

	mustKubectl(t, app{Tag: "v2"}.yaml(t), "replace", "--namespace", ns, "-f", "-")
	if diff := cmp.Diff(held, slogateFields()); diff != "" {
		t.Errorf("kubectl replace changed the release (-before +after):\n%s", diff)
	}
	d := mustObserved(t, ns, "web")
	if diff := cmp.Diff(map[string]int32{"registry.example/web:v1": 3}, replicaSetsOf(t, d)); diff != "" {
		t.Errorf("ReplicaSets, image: ready replicas (-want +got):\n%s", diff)
	}
}
