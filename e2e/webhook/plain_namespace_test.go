package webhook_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestPlainNamespaceIsLeftAlone: in a namespace without the opt-in label, the webhook changes
// nothing: no label, no hold, no warning; the image change rolls out as Kubernetes does it.
func TestPlainNamespaceIsLeftAlone(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name

	if stderr := mustApply(t, ns, app{Tag: "v1"}); strings.Contains(stderr, "slogate") {
		t.Errorf("kubectl apply printed %q, want no word from slogate", stderr)
	}
	v1 := mustRolledOut(t, ns, "web")
	if _, ok := v1.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; ok {
		t.Errorf("the template got %s in a namespace that did not opt in", slogatev1alpha1.RevisionLabel)
	}

	if stderr := mustApply(t, ns, app{Tag: "v2"}); strings.Contains(stderr, "slogate") {
		t.Errorf("kubectl apply printed %q, want no word from slogate", stderr)
	}
	v2 := mustRolledOut(t, ns, "web")
	if v2.Spec.Paused {
		t.Errorf("the Deployment is paused")
	}
	for k := range v2.Annotations {
		if strings.HasPrefix(k, slogatev1alpha1.Prefix) {
			t.Errorf("the Deployment got annotation %s", k)
		}
	}
	if diff := cmp.Diff(map[string]int32{"registry.example/web:v1": 0, "registry.example/web:v2": 3}, replicaSetsOf(t, v2)); diff != "" {
		t.Errorf("ReplicaSets, image: ready replicas (-want +got):\n%s", diff)
	}
}
