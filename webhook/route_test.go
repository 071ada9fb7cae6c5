package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestMutateRoute(t *testing.T) {
	const weights = "web-stable=95,web-canary=5"
	const kept = "slogate: kept the live weights web-stable=95,web-canary=5 on HTTPRoute web-route: a canary release sets them " +
		"until it ends; the rest of the change is applied"
	seed := makeRoute("web-route").rule("/web", "web-stable", 100, "web-canary", 0)
	live := makeRoute("web-route").rule("/web", "web-stable", 95, "web-canary", 5).annotation(slogatev1alpha1.RouteWeightsAnnotation, weights)
	withCanaryFilter := func() *gatewayv1.HTTPRoute {
		r := live.obj()
		r.Spec.Rules[0].BackendRefs[1].Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Canary", Value: "1"}}}}}
		return r
	}

	cases := map[string]struct {
		op         admissionv1.Operation
		old, new   *gatewayv1.HTTPRoute
		byAnalyzer bool
		want       RouteMutation
		wantErrs   []string
	}{
		"a re-apply of the seed route keeps the live weights": {
			op: admissionv1.Update, old: live.obj(), new: seed.obj(),
			want: RouteMutation{Decision: DecisionRestored, Route: live.obj(), Warnings: []string{kept}},
		},
		"a re-apply with a new hostname keeps the weights and takes the hostname": {
			op: admissionv1.Update, old: live.obj(), new: seed.hostname("shop.example.com").obj(),
			want: RouteMutation{Decision: DecisionRestored, Route: live.hostname("shop.example.com").obj(), Warnings: []string{kept}},
		},
		"a re-apply without the canary backend gets the stored one back": {
			op: admissionv1.Update, old: withCanaryFilter(),
			new:  makeRoute("web-route").rule("/web", "web-stable", -1).obj(),
			want: RouteMutation{Decision: DecisionRestored, Route: withCanaryFilter(), Warnings: []string{kept}},
		},
		"a re-apply keeps the rules the analyzer added the canary backend to": {
			op: admissionv1.Update,
			old: makeRoute("web-route").rule("/web", "web-stable", 95, "web-canary", 5).
				annotation(slogatev1alpha1.RouteWeightsAnnotation, weights).annotation(slogatev1alpha1.RouteAddedBackendsAnnotation, "0=100").obj(),
			new: makeRoute("web-route").rule("/web", "web-stable", 100).obj(),
			want: RouteMutation{Decision: DecisionRestored, Warnings: []string{kept},
				Route: makeRoute("web-route").rule("/web", "web-stable", 95, "web-canary", 5).
					annotation(slogatev1alpha1.RouteWeightsAnnotation, weights).annotation(slogatev1alpha1.RouteAddedBackendsAnnotation, "0=100").obj()},
		},
		"a rule that gains the stable backend gets a canary like the stable one when none is stored": {
			op:  admissionv1.Update,
			old: makeRoute("web-route").rule("/web", "web-stable", 95).annotation(slogatev1alpha1.RouteWeightsAnnotation, weights).obj(),
			new: makeRoute("web-route").rule("/web", "web-stable", 100).obj(),
			want: RouteMutation{Decision: DecisionRestored, Warnings: []string{kept},
				Route: makeRoute("web-route").rule("/web", "web-stable", 95, "web-canary", 5).annotation(slogatev1alpha1.RouteWeightsAnnotation, weights).obj()},
		},
		"every rule naming the stable Service, and no other": {
			op:  admissionv1.Update,
			old: live.rule("/admin", "admin", 100).rule("/api", "web-stable", 95, "web-canary", 5).obj(),
			new: seed.rule("/admin", "admin", 50, "admin-v2", 50).rule("/api", "web-stable", 100).obj(),
			want: RouteMutation{Decision: DecisionRestored, Warnings: []string{kept},
				Route: live.rule("/admin", "admin", 50, "admin-v2", 50).rule("/api", "web-stable", 95, "web-canary", 5).obj()},
		},
		"a backend of the same name in another namespace is not the stable Service": {
			op: admissionv1.Update, old: live.obj(),
			new: func() *gatewayv1.HTTPRoute {
				r := seed.obj()
				r.Spec.Rules[0].BackendRefs[0].Namespace = ptr.To[gatewayv1.Namespace]("other")
				r.Spec.Rules[0].BackendRefs[1].Namespace = ptr.To[gatewayv1.Namespace]("other")
				return r
			}(),
			want: RouteMutation{Decision: DecisionRestored, Warnings: []string{kept}, Route: func() *gatewayv1.HTTPRoute {
				r := seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, weights).obj()
				r.Spec.Rules[0].BackendRefs[0].Namespace = ptr.To[gatewayv1.Namespace]("other")
				r.Spec.Rules[0].BackendRefs[1].Namespace = ptr.To[gatewayv1.Namespace]("other")
				return r
			}()},
		},
		"an update that keeps the weights changes nothing": {
			op: admissionv1.Update, old: live.obj(), new: live.hostname("x.example.com").obj(),
			want: RouteMutation{Decision: DecisionUnchanged, Route: live.hostname("x.example.com").obj()},
		},
		"the analyzer moves the weights": {
			op: admissionv1.Update, old: live.obj(), byAnalyzer: true,
			new: makeRoute("web-route").rule("/web", "web-stable", 75, "web-canary", 25).annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable=75,web-canary=25").obj(),
			want: RouteMutation{Decision: DecisionAnalyzer,
				Route: makeRoute("web-route").rule("/web", "web-stable", 75, "web-canary", 25).annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable=75,web-canary=25").obj()},
		},
		"the analyzer ends the release": {
			op: admissionv1.Update, old: live.obj(), new: seed.obj(), byAnalyzer: true,
			want: RouteMutation{Decision: DecisionAnalyzer, Route: seed.obj()},
		},
		"weights that do not add up to 100": {
			op: admissionv1.Update, old: seed.obj(), new: seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable=95,web-canary=10").obj(),
			byAnalyzer: true,
			want:       RouteMutation{Decision: DecisionDenied},
			wantErrs:   []string{`metadata.annotations[slogate.io/weights]: Invalid value: "web-stable=95,web-canary=10": weights add up to 105, not 100`},
		},
		"a malformed weights value": {
			op: admissionv1.Update, old: seed.obj(), new: seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable:95").obj(),
			want: RouteMutation{Decision: DecisionDenied},
			wantErrs: []string{`metadata.annotations[slogate.io/weights]: Invalid value: "web-stable:95": must be ` +
				`<stableService>=<weight>,<canaryService>=<weight> with weights adding up to 100, such as web-stable=95,web-canary=5`},
		},
		"a weight out of range and a bad name": {
			op: admissionv1.Update, old: seed.obj(), new: seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, "Web=-5,web-canary=105").obj(),
			byAnalyzer: true,
			want:       RouteMutation{Decision: DecisionDenied},
			wantErrs: []string{
				`metadata.annotations[slogate.io/weights]: Invalid value: "Web=-5,web-canary=105": service "Web": a DNS-1035 label must ` +
					`consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric ` +
					`character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
				`metadata.annotations[slogate.io/weights]: Invalid value: "Web=-5,web-canary=105": weight "-5" of "Web" must be an integer from 0 to 100`,
				`metadata.annotations[slogate.io/weights]: Invalid value: "Web=-5,web-canary=105": weight "105" of "web-canary" must be an integer from 0 to 100`,
			},
		},
		"the same Service twice": {
			op: admissionv1.Update, old: seed.obj(), new: seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, "web=50,web=50").obj(), byAnalyzer: true,
			want:     RouteMutation{Decision: DecisionDenied},
			wantErrs: []string{`metadata.annotations[slogate.io/weights]: Invalid value: "web=50,web=50": the stable and canary Services must differ`},
		},
		"a stored value slogate cannot read is not kept": {
			op: admissionv1.Update, old: seed.annotation(slogatev1alpha1.RouteWeightsAnnotation, "x").obj(), new: seed.obj(),
			want: RouteMutation{Decision: DecisionUnchanged, Route: seed.obj()},
		},
		"a route without live weights": {
			op: admissionv1.Update, old: seed.obj(), new: seed.hostname("y.example.com").obj(),
			want: RouteMutation{Decision: DecisionUnchanged, Route: seed.hostname("y.example.com").obj()},
		},
		"delete": {op: admissionv1.Delete, old: live.obj(), want: RouteMutation{Decision: DecisionIgnored}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, errs := MutateRoute(RouteRequest{Operation: tc.op, Old: tc.old, New: tc.new, ByAnalyzer: tc.byAnalyzer})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MutateRoute() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErrs, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
