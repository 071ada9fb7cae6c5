package scenarios

import (
	_ "embed"
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed route_extras.yaml
var routeExtrasYAML []byte

// TestRouteExtras: a route with extra rules, matches and filters keeps them unchanged through a
// whole release. At every write the release made, the rule of another Service is untouched, the
// matches and filters of every rule are untouched, and the rule that named only the stable Service
// has the stable backend (with its filter) and a canary backend made like it; at the end the route
// is exactly as the user wrote it.
func TestRouteExtras(t *testing.T) {
	s := newScenario(t, routeExtrasYAML)
	route, stable, canary := s.snapshot()

	s.apply(v2)
	_, name := s.mustHeld("")
	s.mustPhase(name, slogatev1alpha1.PhaseSucceeded, releaseTimeout)

	writes := 0
	for _, c := range s.tl.sorted() {
		r, ok := c.object.(*gatewayv1.HTTPRoute)
		if !ok || r.Annotations[slogatev1alpha1.RouteWeightsAnnotation] == "" {
			continue
		}
		writes++
		s.mustOnlyWeightsChanged(route, r)
	}
	if writes < 5 {
		t.Errorf("%d route writes under release, want at least 5 (prepare, 5, 25, 50, 100, 0)", writes)
	}
	if got, want := s.tl.routeWeights(), []int32{0, 5, 25, 50, 100, 0}; !slices.Equal(got, want) {
		t.Errorf("canary weights on the route: got %v, want %v", got, want)
	}
	s.mustNoCanary()
	s.mustUserObjectsAsWritten(route, stable, canary)
	s.mustInvariants()
}

// mustOnlyWeightsChanged compares a route under release with the user's: same everything but the
// two weights on rules naming the stable Service, and a canary backend added, like the stable one,
// to the rule that lacked it.
func (s *scenario) mustOnlyWeightsChanged(user, got *gatewayv1.HTTPRoute) {
	s.t.Helper()
	if !equalJSON(user.Spec.CommonRouteSpec, got.Spec.CommonRouteSpec) || !equalJSON(user.Spec.Hostnames, got.Spec.Hostnames) {
		s.t.Errorf("parentRefs or hostnames changed: %s", toJSON(got.Spec))
	}
	if len(got.Spec.Rules) != len(user.Spec.Rules) {
		s.t.Fatalf("%d rules, the user wrote %d", len(got.Spec.Rules), len(user.Spec.Rules))
	}
	for i := range user.Spec.Rules {
		u, g := user.Spec.Rules[i].DeepCopy(), got.Spec.Rules[i].DeepCopy()
		if !equalJSON(u.Matches, g.Matches) || !equalJSON(u.Filters, g.Filters) || !equalJSON(u.Timeouts, g.Timeouts) {
			s.t.Errorf("rule %d: matches or filters changed:\nuser %s\ngot  %s", i, toJSON(u), toJSON(g))
		}
		names := func(r *gatewayv1.HTTPRouteRule, svc string) bool {
			return slices.ContainsFunc(r.BackendRefs, func(b gatewayv1.HTTPBackendRef) bool { return string(b.Name) == svc })
		}
		if !names(u, stableSvc) {
			if !equalJSON(u.BackendRefs, g.BackendRefs) {
				s.t.Errorf("rule %d of another Service changed:\nuser %s\ngot  %s", i, toJSON(u.BackendRefs), toJSON(g.BackendRefs))
			}
			continue
		}
		if !names(u, canarySvc) {
			// The canary backend was added: a copy of the stable one but for its name and weight.
			if len(g.BackendRefs) != len(u.BackendRefs)+1 {
				s.t.Errorf("rule %d: backends %s, want the user's and a canary", i, toJSON(g.BackendRefs))
				continue
			}
			added := g.BackendRefs[len(g.BackendRefs)-1]
			like := g.BackendRefs[0]
			added.Name, added.Weight, like.Weight = like.Name, nil, nil
			if !equalJSON(like, added) {
				s.t.Errorf("rule %d: the added canary backend is not made like the stable one: %s", i, toJSON(g.BackendRefs))
			}
			g.BackendRefs = g.BackendRefs[:len(g.BackendRefs)-1]
		}
		for j := range u.BackendRefs {
			u.BackendRefs[j].Weight, g.BackendRefs[j].Weight = nil, nil
		}
		if !equalJSON(u.BackendRefs, g.BackendRefs) {
			s.t.Errorf("rule %d: backends changed beyond their weights:\nuser %s\ngot  %s", i, toJSON(u.BackendRefs), toJSON(g.BackendRefs))
		}
	}
}
