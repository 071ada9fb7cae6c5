package webhook_test

import (
	_ "embed"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

//go:embed route.yaml
var routeYAML []byte

// TestRouteWeightsSurviveReapply: while the analyzer's weights are live, a user's re-apply of the
// route keeps them (with a warning) and takes the rest of the change.
func TestRouteWeightsSurviveReapply(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", optedIn).Name
	mustKubectl(t, routeYAML, "apply", "--namespace", ns, "-f", "-")
	mustKubectl(t, nil, append([]string{"patch", "httproute/web-route", "--namespace", ns, "--type=json", "--patch",
		`[{"op":"add","path":"/metadata/annotations","value":{"slogate.io/weights":"web-stable=75,web-canary=25"}},` +
			`{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":75},` +
			`{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":25}]`}, asAnalyzer...)...)

	changed := []byte(strings.Replace(string(routeYAML), "api.example.com", "shop.example.com", 1))
	_, stderr := mustKubectl(t, changed, "replace", "--namespace", ns, "-f", "-")
	want := "Warning: slogate: kept the live weights web-stable=75,web-canary=25 on HTTPRoute web-route: a canary release sets them " +
		"until it ends; the rest of the change is applied"
	if !strings.Contains(stderr, want) {
		t.Errorf("kubectl replace printed %q, want %q", stderr, want)
	}
	var route gatewayv1.HTTPRoute
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-route"}, &route); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"hostname": string(route.Spec.Hostnames[0])}
	for _, ref := range route.Spec.Rules[0].BackendRefs {
		got[string(ref.Name)] = *ref.Weight
	}
	wantRoute := map[string]any{"hostname": "shop.example.com", "web-stable": int32(75), "web-canary": int32(25)}
	if diff := cmp.Diff(wantRoute, got); diff != "" {
		t.Errorf("the re-applied route (-want +got):\n%s", diff)
	}
}
