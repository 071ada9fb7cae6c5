package webhook_test

import (
	"fmt"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestUserUnpauseIsRejected: a user's un-pause of a Deployment with a live release is refused and
// points to kubectl slogate; the analyzer's un-pause (promotion) goes through.
func TestUserUnpauseIsRejected(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustApply(t, ns, app{Tag: "v1"})
	mustRolledOut(t, ns, "web")
	mustApply(t, ns, app{Tag: "v2"})
	canary := mustGetDeployment(t, ns, "web").Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	want := fmt.Sprintf(`spec.paused: Forbidden: the canary release of revision %s is live and slogate holds Deployment web `+
		`paused until it ends: use kubectl slogate promote web -n %s, or kubectl slogate abort web -n %s`, canary, ns, ns)

	for name, args := range map[string][]string{
		"kubectl rollout resume": {"rollout", "resume", "deployment/web", "--namespace", ns},
		"kubectl patch":          {"patch", "deployment/web", "--namespace", ns, "--type=merge", "--patch", `{"spec":{"paused":false}}`},
	} {
		stderr := mustKubectlFail(t, nil, args...)
		if !strings.Contains(stderr, want) {
			t.Errorf("%s printed %q, want it to contain %q", name, stderr, want)
		}
	}
	if !mustGetDeployment(t, ns, "web").Spec.Paused {
		t.Fatalf("the Deployment was unpaused by a user")
	}

	mustKubectl(t, nil, append([]string{"rollout", "resume", "deployment/web", "--namespace", ns}, asAnalyzer...)...)
	if d := mustRolledOut(t, ns, "web"); d.Spec.Paused || d.Spec.Template.Spec.Containers[0].Image != "registry.example/web:v2" {
		t.Errorf("after the analyzer's un-pause: paused %v, image %s; want a rollout to v2", d.Spec.Paused, d.Spec.Template.Spec.Containers[0].Image)
	}
}
