package webhook_test

import (
	_ "embed"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed pin.yaml
var pinYAML []byte

// TestPinSurvivesReplace: the analyzer pins the stable Service's selector; a user's kubectl replace
// of the Service from its manifest keeps the pin (with a warning) and takes the rest.
func TestPinSurvivesReplace(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustKubectl(t, pinYAML, "apply", "--namespace", ns, "-f", "-")
	mustKubectl(t, nil, append([]string{"patch", "service/web-stable", "--namespace", ns, "--type=merge", "--patch",
		`{"metadata":{"annotations":{"slogate.io/pinned":"pod-template-hash"}},"spec":{"selector":{"pod-template-hash":"6b9f7c8d5"}}}`},
		asAnalyzer...)...)

	replaced := []byte(strings.Replace(string(pinYAML), "port: 80", "port: 8080", 1))
	_, stderr := mustKubectl(t, replaced, "replace", "--namespace", ns, "-f", "-")
	want := "Warning: slogate: kept slogate.io/pinned annotation and selector pod-template-hash=6b9f7c8d5 on Service web-stable: " +
		"a canary release pins it until it ends"
	if !strings.Contains(stderr, want) {
		t.Errorf("kubectl replace printed %q, want %q", stderr, want)
	}
	var svc corev1.Service
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-stable"}, &svc); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"selector": svc.Spec.Selector, "pin": svc.Annotations[slogatev1alpha1.StablePinAnnotation], "port": svc.Spec.Ports[0].Port}
	wantSvc := map[string]any{"selector": map[string]string{"app": "web", "pod-template-hash": "6b9f7c8d5"}, "pin": "pod-template-hash", "port": int32(8080)}
	if diff := cmp.Diff(wantSvc, got); diff != "" {
		t.Errorf("the replaced Service (-want +got):\n%s", diff)
	}

	// The analyzer removes the pin at the end of a release.
	mustKubectl(t, nil, append([]string{"patch", "service/web-stable", "--namespace", ns, "--type=json", "--patch",
		`[{"op":"remove","path":"/metadata/annotations/slogate.io~1pinned"},{"op":"remove","path":"/spec/selector/pod-template-hash"}]`},
		asAnalyzer...)...)
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-stable"}, &svc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"app": "web"}, svc.Spec.Selector); diff != "" {
		t.Errorf("selector after the analyzer unpinned (-want +got):\n%s", diff)
	}
}
