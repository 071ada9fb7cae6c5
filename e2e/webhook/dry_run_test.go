package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// TestServerSideDryRunShowsTheHold: kubectl apply --dry-run=server shows the mutation (and the
// warning) and persists nothing.
func TestServerSideDryRunShowsTheHold(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustApply(t, ns, app{Tag: "v1"})
	before := mustRolledOut(t, ns, "web")

	stdout, stderr := mustKubectl(t, app{Tag: "v2"}.yaml(t), "apply", "--dry-run=server", "--output=json", "--namespace", ns, "-f", "-")
	var shown appsv1.Deployment
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil {
		t.Fatalf("decoding the dry run's output: %v\n%s", err, stdout)
	}
	canary := revision.Of(&shown.Spec.Template)
	stable := revision.Of(&before.Spec.Template)
	got := map[string]any{
		"paused": shown.Spec.Paused,
		"stable": shown.Annotations[slogatev1alpha1.StableRevisionAnnotation],
		"canary": shown.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
		"label":  shown.Spec.Template.Labels[slogatev1alpha1.RevisionLabel],
		"image":  shown.Spec.Template.Spec.Containers[0].Image,
		"warns":  strings.Contains(stderr, "Warning: slogate: canary release of revision "+canary+" started"),
	}
	want := map[string]any{"paused": true, "stable": stable, "canary": canary, "label": canary,
		"image": "registry.example/web:v2", "warns": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the dry run's result (-want +got):\n%s\nkubectl printed: %s", diff, stderr)
	}

	after := mustGetDeployment(t, ns, "web")
	if after.Generation != before.Generation || after.Spec.Paused || after.Spec.Template.Spec.Containers[0].Image != "registry.example/web:v1" {
		t.Errorf("the dry run persisted something: generation %d (was %d), paused %v, image %s",
			after.Generation, before.Generation, after.Spec.Paused, after.Spec.Template.Spec.Containers[0].Image)
	}
	for _, k := range []string{slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation} {
		if v, ok := after.Annotations[k]; ok {
			t.Errorf("the dry run persisted %s=%s", k, v)
		}
	}
}
