package webhook_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// TestMalformedAnnotationIsRejected: a malformed slogate.io/* annotation is refused with its field
// path, on create and on update, and nothing is stored.
func TestMalformedAnnotationIsRejected(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name

	stderr := mustKubectlFail(t, app{Tag: "v1", Annotations: map[string]string{slogatev1alpha1.SkipAnnotation: "yes"}}.yaml(t),
		"apply", "--namespace", ns, "-f", "-")
	for _, want := range []string{
		`admission webhook "deployments.validate.slogate.io" denied the request`,
		`metadata.annotations[slogate.io/skip]: Unsupported value: "yes": supported values: "true", "false"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("kubectl printed %q, want it to contain %q", stderr, want)
		}
	}
	err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("reading the refused Deployment: %v, want NotFound", err)
	}

	mustApply(t, ns, app{Tag: "v1"})
	stderr = mustKubectlFail(t, nil, "annotate", "deployment/web", "--namespace", ns, slogatev1alpha1.ActionAnnotation+"=go-faster")
	want := `metadata.annotations[slogate.io/action]: Unsupported value: "go-faster": supported values: "promote", "promote-full", "abort", "retry"`
	if !strings.Contains(stderr, want) {
		t.Errorf("kubectl printed %q, want it to contain %q", stderr, want)
	}
	if v, ok := mustGetDeployment(t, ns, "web").Annotations[slogatev1alpha1.ActionAnnotation]; ok {
		t.Errorf("the refused annotation was stored: %s", v)
	}
}
