package webhook_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestStableReapplyEndsTheRelease: re-applying the stable manifest mid-release ends the release at
// once: unpaused, annotations gone, the old ReplicaSet still the only one.
func TestStableReapplyEndsTheRelease(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustApply(t, ns, app{Tag: "v1"})
	mustRolledOut(t, ns, "web")
	mustApply(t, ns, app{Tag: "v2"})
	held := mustGetDeployment(t, ns, "web")
	stable, canary := held.Annotations[slogatev1alpha1.StableRevisionAnnotation], held.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]

	stderr := mustApply(t, ns, app{Tag: "v1"})
	want := fmt.Sprintf("Warning: slogate: stable revision %s re-applied: the release of revision %s ends now and Deployment web is unpaused", stable, canary)
	if !strings.Contains(stderr, want) {
		t.Errorf("kubectl apply printed %q, want %q", stderr, want)
	}
	d := mustRolledOut(t, ns, "web")
	if d.Spec.Paused {
		t.Errorf("the Deployment is still paused")
	}
	for _, k := range []string{slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation} {
		if v, ok := d.Annotations[k]; ok {
			t.Errorf("annotation %s=%s is still there", k, v)
		}
	}
	if diff := cmp.Diff(map[string]int32{"registry.example/web:v1": 3}, replicaSetsOf(t, d)); diff != "" {
		t.Errorf("ReplicaSets, image: ready replicas (-want +got):\n%s", diff)
	}
}
