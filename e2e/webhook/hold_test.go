package webhook_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// TestImageChangeIsHeld: kubectl apply of an image change in an opted-in namespace leaves the old
// ReplicaSet serving, and the Deployment paused with the release annotations; kubectl prints the
// warning.
func TestImageChangeIsHeld(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	holdsBefore := mustMetric(t, `slogate_admission_decisions_total{decision="hold",kind="Deployment"}`)

	mustApply(t, ns, app{Tag: "v1"})
	v1 := mustRolledOut(t, ns, "web")
	stable := revision.Of(&v1.Spec.Template)
	if got := v1.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; got != stable {
		t.Fatalf("created template's %s = %q, want %q", slogatev1alpha1.RevisionLabel, got, stable)
	}

	stderr := mustApply(t, ns, app{Tag: "v2"})
	held := mustObserved(t, ns, "web")
	canary := revision.Of(&held.Spec.Template)
	wantWarning := fmt.Sprintf("Warning: slogate: canary release of revision %s started, stable %s keeps serving and "+
		"Deployment web stays paused until it ends; follow it: kubectl slogate status web -n %s --watch", canary, stable, ns)
	if !strings.Contains(stderr, wantWarning) {
		t.Errorf("kubectl apply printed %q, want the warning %q", stderr, wantWarning)
	}
	if !held.Spec.Paused {
		t.Errorf("the Deployment is not paused")
	}
	gotSlogate := map[string]string{
		"image":                                  held.Spec.Template.Spec.Containers[0].Image,
		"template label":                         held.Spec.Template.Labels[slogatev1alpha1.RevisionLabel],
		slogatev1alpha1.StableRevisionAnnotation: held.Annotations[slogatev1alpha1.StableRevisionAnnotation],
		slogatev1alpha1.CanaryRevisionAnnotation: held.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
	}
	wantSlogate := map[string]string{
		"image":                                  "registry.example/web:v2",
		"template label":                         canary,
		slogatev1alpha1.StableRevisionAnnotation: stable,
		slogatev1alpha1.CanaryRevisionAnnotation: canary,
	}
	if diff := cmp.Diff(wantSlogate, gotSlogate); diff != "" {
		t.Errorf("held Deployment (-want +got):\n%s", diff)
	}

	// The controller has seen the paused update: no new ReplicaSet, the old one serves every replica.
	if diff := cmp.Diff(map[string]int32{"registry.example/web:v1": 3}, replicaSetsOf(t, held)); diff != "" {
		t.Errorf("ReplicaSets, image: ready replicas (-want +got):\n%s", diff)
	}
	if s := held.Status; s.UpdatedReplicas != 0 || s.AvailableReplicas != 3 {
		t.Errorf("status: %d replicas updated, %d available; want 0 and 3", s.UpdatedReplicas, s.AvailableReplicas)
	}
	if got := mustMetric(t, `slogate_admission_decisions_total{decision="hold",kind="Deployment"}`); got < holdsBefore+1 {
		t.Errorf("slogate_admission_decisions_total{decision=hold,kind=Deployment} = %v, want at least %v", got, holdsBefore+1)
	}
}
