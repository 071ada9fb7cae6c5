package cli

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// mustImage returns the image of a Deployment's first container.
func mustImage(t *testing.T, ns, name string) string {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// TestPreviewWithoutARelease covers the changes that start no release: a namespace that did
// not opt in, a new Deployment, a change the API server rejects, and files with no Deployment.
func TestPreviewWithoutARelease(t *testing.T) {
	plain, optedIn := mustNamespace(t, false), mustNamespace(t, true)
	mustCreate(t, deployment(plain, "web"))

	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "preview", "-f", "preview_web_v2.yaml", "-n", plain)
			want := "deployment " + plain + "/web: namespace " + plain + " did not opt in (slogate.io/canary=enabled): " +
				"the change would roll out as a plain rolling update\n"
			if r.stdout != want {
				t.Errorf("preview in a namespace that did not opt in:\n got %q\nwant %q", r.stdout, want)
			}
			if img := mustImage(t, plain, "web"); img != "registry.example/web:v1" {
				t.Errorf("preview changed the Deployment: image %s", img)
			}

			r = inv.mustSucceed(t, "preview", "-f", "preview_web_v2.yaml", "-n", optedIn)
			if !strings.HasPrefix(r.stdout, "deployment "+optedIn+"/web: the Deployment would be created with revision ") ||
				!strings.Contains(r.stdout, "a new Deployment has nothing stable to compare against, so no release starts") {
				t.Errorf("preview of a new Deployment = %q", r.stdout)
			}
			err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: optedIn, Name: "web"}, &appsv1.Deployment{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("preview created the Deployment (get: %v)", err)
			}

			r = inv.mustFail(t, "error: the change would be rejected: 1 of 1", "preview", "-f", "preview_invalid.yaml", "-n", optedIn)
			if !strings.Contains(r.stdout, "deployment "+optedIn+"/broken: the API server would reject the change: ") ||
				!strings.Contains(r.stdout, "`selector` does not match template `labels`") {
				t.Errorf("preview of an invalid Deployment = %q", r.stdout)
			}

			r = inv.mustFail(t, "error: no apps/v1 Deployment in [preview_configmap.yaml]", "preview", "-f", "preview_configmap.yaml", "-n", optedIn)
			if !strings.Contains(r.stderr, "skipping ConfigMap "+optedIn+"/settings: only apps/v1 Deployments start releases") {
				t.Errorf("stderr = %q", r.stderr)
			}
			inv.mustFail(t, "preview_absent.yaml", "preview", "-f", "preview_absent.yaml", "-n", optedIn)
			inv.mustFail(t, `required flag(s) "filename" not set`, "preview", "-n", optedIn)
		})
	}
}
