package webhook_test

import (
	_ "embed"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed managed.yaml
var managedYAML []byte

// TestManagedCanaryIsTheAnalyzers: only the analyzer creates or edits an object labelled
// app.kubernetes.io/managed-by: slogate; the Deployment controller's own writes pass (the canary
// rolls out) and a user may still delete it.
func TestManagedCanaryIsTheAnalyzers(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	const denied = "Deployment web-canary is managed by slogate: only slogate's analyzer changes it, and it goes away when " +
		"the release ends (to end it now: kubectl slogate abort)"

	stderr := mustKubectlFail(t, managedYAML, "apply", "--namespace", ns, "-f", "-")
	for _, want := range []string{`admission webhook "managed.validate.slogate.io" denied the request`,
		"metadata.labels[app.kubernetes.io/managed-by]: Forbidden: objects labelled app.kubernetes.io/managed-by=slogate " +
			"are created by slogate's analyzer only"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("a user's create printed %q, want it to contain %q", stderr, want)
		}
	}

	mustKubectl(t, managedYAML, append([]string{"create", "--namespace", ns, "-f", "-"}, asAnalyzer...)...)
	d := mustRolledOut(t, ns, "web-canary")
	if v, ok := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; ok {
		t.Errorf("the mutating webhook labelled the canary's template (%s=%s); its objectSelector must leave slogate's objects alone",
			slogatev1alpha1.RevisionLabel, v)
	}

	for name, args := range map[string][]string{
		"set image": {"set", "image", "deployment/web-canary", "web=registry.example/web:v9", "--namespace", ns},
		"label":     {"label", "deployment/web-canary", "team=payments", "--namespace", ns},
		"annotate":  {"annotate", "deployment/web-canary", slogatev1alpha1.SkipAnnotation + "=true", "--namespace", ns},
	} {
		stderr := mustKubectlFail(t, nil, args...)
		if !strings.Contains(stderr, "Forbidden: "+denied) {
			t.Errorf("a user's %s printed %q, want it to contain %q", name, stderr, denied)
		}
	}
	if img := mustGetDeployment(t, ns, "web-canary").Spec.Template.Spec.Containers[0].Image; img != "registry.example/web:v2" {
		t.Errorf("the canary's image is %s after refused edits", img)
	}

	mustKubectl(t, nil, append([]string{"set", "image", "deployment/web-canary", "web=registry.example/web:v3", "--namespace", ns}, asAnalyzer...)...)
	if img := mustRolledOut(t, ns, "web-canary").Spec.Template.Spec.Containers[0].Image; img != "registry.example/web:v3" {
		t.Errorf("the analyzer's edit did not take: image %s", img)
	}

	mustKubectl(t, nil, "delete", "deployment/web-canary", "--namespace", ns, "--wait=false")
}
