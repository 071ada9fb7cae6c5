package traffic

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var seedBackends = Backends{Stable: "payments-api-stable", Canary: "payments-api-canary"}

func backend(name string, port int32, weight *int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(name),
			Port: ptr(gatewayv1.PortNumber(port)),
		},
		Weight: weight,
	}}
}

func pathRule(prefix string, refs ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{
		Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
			Type:  ptr(gatewayv1.PathMatchPathPrefix),
			Value: ptr(prefix),
		}}},
		BackendRefs: refs,
	}
}

// seedRoute is the route of the seed guide: stable 100, canary 0.
func seedRoute() *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "payments-api-route", Namespace: "prod"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
				Name: "public-gateway", Namespace: ptr(gatewayv1.Namespace("infra")),
			}}},
			Hostnames: []gatewayv1.Hostname{"api.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{pathRule("/payments",
				backend("payments-api-stable", 80, ptr(int32(100))),
				backend("payments-api-canary", 80, ptr(int32(0))),
			)},
		},
	}
}

// richRoute has, besides the seed's rule: a rule for another Service, a rule naming only the stable
// Service with header matches, a rule filter, a mirror filter and a backend-level filter, and a rule
// with a third backend.
func richRoute() *gatewayv1.HTTPRoute {
	r := seedRoute()
	r.Annotations = map[string]string{"team": "payments"}
	headerRule := pathRule("/v2",
		backend("payments-api-stable", 8080, nil),
	)
	headerRule.Matches[0].Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x-beta", Value: "1"}}
	headerRule.Filters = []gatewayv1.HTTPRouteFilter{
		{
			Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
				Add: []gatewayv1.HTTPHeader{{Name: "x-route", Value: "v2"}},
			},
		},
		{
			Type: gatewayv1.HTTPRouteFilterRequestMirror,
			RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{
				Name: "payments-api-stable", Port: ptr(gatewayv1.PortNumber(9090)),
			}},
		},
	}
	headerRule.BackendRefs[0].Filters = []gatewayv1.HTTPRouteFilter{{
		Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: "x-served-by", Value: "payments"}},
		},
	}}
	r.Spec.Rules = append(r.Spec.Rules,
		pathRule("/ledger", backend("ledger", 80, ptr(int32(1)))),
		headerRule,
		pathRule("/split",
			backend("payments-api-stable", 80, ptr(int32(90))),
			backend("payments-api-canary", 80, ptr(int32(10))),
			backend("payments-api-legacy", 80, ptr(int32(5))),
		),
	)
	return r
}

func TestSetWeights(t *testing.T) {
	cases := map[string]struct {
		route       *gatewayv1.HTTPRoute
		canary      int32
		wantRoute   func() *gatewayv1.HTTPRoute
		wantChanged bool
		wantErr     error
	}{
		"seed route at 5": {
			route:  seedRoute(),
			canary: 5,
			wantRoute: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Annotations = map[string]string{slogatev1alpha1.RouteWeightsAnnotation: "payments-api-stable=95,payments-api-canary=5"}
				r.Spec.Rules[0].BackendRefs[0].Weight = ptr(int32(95))
				r.Spec.Rules[0].BackendRefs[1].Weight = ptr(int32(5))
				return r
			},
			wantChanged: true,
		},
		"rich route at 25 changes only the two backends of the rules naming stable": {
			route:  richRoute(),
			canary: 25,
			wantRoute: func() *gatewayv1.HTTPRoute {
				r := richRoute()
				r.Annotations[slogatev1alpha1.RouteWeightsAnnotation] = "payments-api-stable=75,payments-api-canary=25"
				r.Annotations[slogatev1alpha1.RouteAddedBackendsAnnotation] = "2"
				r.Spec.Rules[0].BackendRefs[0].Weight = ptr(int32(75))
				r.Spec.Rules[0].BackendRefs[1].Weight = ptr(int32(25))
				// The added canary backend copies the stable one: port and backend filters.
				canary := *r.Spec.Rules[2].BackendRefs[0].DeepCopy()
				canary.Name = "payments-api-canary"
				canary.Weight = ptr(int32(25))
				r.Spec.Rules[2].BackendRefs[0].Weight = ptr(int32(75))
				r.Spec.Rules[2].BackendRefs = append(r.Spec.Rules[2].BackendRefs, canary)
				r.Spec.Rules[3].BackendRefs[0].Weight = ptr(int32(75))
				r.Spec.Rules[3].BackendRefs[1].Weight = ptr(int32(25))
				return r
			},
			wantChanged: true,
		},
		"same weight again changes nothing": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				if _, err := SetWeights(r, seedBackends, 50); err != nil {
					t.Fatal(err)
				}
				return r
			}(),
			canary: 50,
			wantRoute: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Annotations = map[string]string{slogatev1alpha1.RouteWeightsAnnotation: "payments-api-stable=50,payments-api-canary=50"}
				r.Spec.Rules[0].BackendRefs[0].Weight = ptr(int32(50))
				r.Spec.Rules[0].BackendRefs[1].Weight = ptr(int32(50))
				return r
			},
		},
		"a backend in another namespace or of another kind is not the stable Service": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs[0].Namespace = ptr(gatewayv1.Namespace("other"))
				r.Spec.Rules[0].BackendRefs[1].Kind = ptr(gatewayv1.Kind("ServiceImport"))
				return r
			}(),
			canary:  5,
			wantErr: ErrNoStableBackend,
			wantRoute: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs[0].Namespace = ptr(gatewayv1.Namespace("other"))
				r.Spec.Rules[0].BackendRefs[1].Kind = ptr(gatewayv1.Kind("ServiceImport"))
				return r
			},
		},
		"weight above 100 is refused": {
			route:     seedRoute(),
			canary:    101,
			wantErr:   errAny,
			wantRoute: seedRoute,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			changed, err := SetWeights(tc.route, seedBackends, tc.canary)
			if !matchErr(tc.wantErr, err) {
				t.Fatalf("SetWeights() error = %v, want %v", err, tc.wantErr)
			}
			if changed != tc.wantChanged {
				t.Errorf("SetWeights() changed = %v, want %v", changed, tc.wantChanged)
			}
			if diff := cmp.Diff(tc.wantRoute(), tc.route); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny matches any non-nil error.
var errAny = errors.New("any error")

func matchErr(want, got error) bool {
	switch want {
	case nil:
		return got == nil
	case errAny: //nolint:errorlint // errAny is a marker of the table, never wrapped
		return got != nil
	default:
		return errors.Is(got, want)
	}
}

// TestWholeRelease runs a route through the weights of the seed schedule and back, and checks that
// nothing but the weights the design allows changed.
func TestWholeRelease(t *testing.T) {
	cases := map[string]struct {
		route func() *gatewayv1.HTTPRoute
		// wantEnd is the route after the release; the seed's route comes back exactly.
		wantEnd func() *gatewayv1.HTTPRoute
	}{
		"seed route": {
			route:   seedRoute,
			wantEnd: seedRoute,
		},
		"rule with only the stable backend at the API server's default weight": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs = []gatewayv1.HTTPBackendRef{backend("payments-api-stable", 80, ptr(int32(1)))}
				return r
			},
			wantEnd: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs = []gatewayv1.HTTPBackendRef{backend("payments-api-stable", 80, ptr(int32(1)))}
				return r
			},
		},
		"rich route": {
			route: richRoute,
			wantEnd: func() *gatewayv1.HTTPRoute {
				r := richRoute()
				// The rule that had both backends ends at 100/0, as after a seed release.
				r.Spec.Rules[3].BackendRefs[0].Weight = ptr(int32(100))
				r.Spec.Rules[3].BackendRefs[1].Weight = ptr(int32(0))
				return r
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := tc.route()
			for _, w := range []int32{0, 5, 25, 50, 100, 0} {
				if _, err := SetWeights(r, seedBackends, w); err != nil {
					t.Fatalf("SetWeights(%d): %v", w, err)
				}
				o := Observe(r, seedBackends)
				if o.MinCanary != w || o.MaxCanary != w || !o.Prepared || !o.Marked {
					t.Fatalf("Observe after SetWeights(%d) = %+v", w, o)
				}
			}
			if !Restore(r, seedBackends) {
				t.Fatal("Restore() = false, want true")
			}
			if diff := cmp.Diff(tc.wantEnd(), r); diff != "" {
				t.Errorf("route after the release (-want +got):\n%s", diff)
			}
			if Restore(r, seedBackends) {
				t.Error("second Restore() = true, want false")
			}
			if o := Observe(r, seedBackends); !o.Restored || o.Marked {
				t.Errorf("Observe after Restore = %+v, want restored and unmarked", o)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	cases := map[string]struct {
		route *gatewayv1.HTTPRoute
		want  Observed
	}{
		"seed route before a release": {
			route: seedRoute(),
			want:  Observed{NamesStable: true, Restored: true},
		},
		"rule without canary is not prepared": {
			route: richRoute(),
			want:  Observed{NamesStable: true, Restored: true, MaxCanary: 10},
		},
		"route for other services": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs = r.Spec.Rules[0].BackendRefs[1:]
				return r
			}(),
			want: Observed{Restored: true},
		},
		"unset weights count as 1": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Spec.Rules[0].BackendRefs[0].Weight = nil
				r.Spec.Rules[0].BackendRefs[1].Weight = nil
				return r
			}(),
			want: Observed{NamesStable: true, Restored: true, MinCanary: 50, MaxCanary: 50},
		},
		"mangled annotation still marks the route": {
			route: func() *gatewayv1.HTTPRoute {
				r := seedRoute()
				r.Annotations = map[string]string{slogatev1alpha1.RouteWeightsAnnotation: "{"}
				return r
			}(),
			want: Observed{NamesStable: true, Prepared: true, Marked: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Observe(tc.route, seedBackends)); diff != "" {
				t.Errorf("Observe() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestoreLeavesAChangedRuleAlone(t *testing.T) {
	r := richRoute()
	if _, err := SetWeights(r, seedBackends, 25); err != nil {
		t.Fatal(err)
	}
	// The user re-applies the route with the /v2 rule now pointing elsewhere.
	r.Spec.Rules[2].BackendRefs = []gatewayv1.HTTPBackendRef{backend("payments-api-canary", 80, nil), backend("other", 80, nil)}
	want := r.DeepCopy()
	delete(want.Annotations, slogatev1alpha1.RouteWeightsAnnotation)
	delete(want.Annotations, slogatev1alpha1.RouteAddedBackendsAnnotation)
	Restore(r, seedBackends)
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
}

func TestParseWeights(t *testing.T) {
	cases := map[string]struct {
		value             string
		wantStable, wantC string
		wantWeight        int32
		wantErr           bool
	}{
		"seed at 5":        {value: "web-stable=95,web-canary=5", wantStable: "web-stable", wantC: "web-canary", wantWeight: 5},
		"all on canary":    {value: "a=0,b=100", wantStable: "a", wantC: "b", wantWeight: 100},
		"not 100":          {value: "a=90,b=5", wantErr: true},
		"one entry":        {value: "a=100", wantErr: true},
		"negative":         {value: "a=101,b=-1", wantErr: true},
		"not a number":     {value: "a=x,b=100", wantErr: true},
		"missing name":     {value: "=100,b=0", wantErr: true},
		"three entries":    {value: "a=100,b=0,c=0", wantErr: true},
		"empty annotation": {value: "", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, c, w, err := ParseWeights(tc.value)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseWeights(%q) error = %v, wantErr %v", tc.value, err, tc.wantErr)
			}
			if s != tc.wantStable || c != tc.wantC || w != tc.wantWeight {
				t.Errorf("ParseWeights(%q) = %q, %q, %d, want %q, %q, %d", tc.value, s, c, w, tc.wantStable, tc.wantC, tc.wantWeight)
			}
			if !tc.wantErr {
				if got := FormatWeights(s, c, w); got != tc.value {
					t.Errorf("FormatWeights() = %q, want %q", got, tc.value)
				}
			}
		})
	}
}

func TestAddedAnnotationKeepsOriginalWeights(t *testing.T) {
	r := seedRoute()
	r.Spec.Rules = append(r.Spec.Rules,
		pathRule("/a", backend("payments-api-stable", 80, ptr(int32(1)))),
		pathRule("/b", backend("payments-api-stable", 80, nil)))
	if _, err := SetWeights(r, seedBackends, 5); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Annotations[slogatev1alpha1.RouteAddedBackendsAnnotation], "1=1,2"; got != want {
		t.Errorf("added annotation = %q, want %q", got, want)
	}
	// A later write keeps what was recorded even though the rules now have a canary backend.
	if _, err := SetWeights(r, seedBackends, 25); err != nil {
		t.Fatal(err)
	}
	rec, ok := Recorded(r)
	want := Record{Stable: "payments-api-stable", Canary: "payments-api-canary", Weight: 25,
		Added: []AddedBackend{{Rule: 1, StableWeight: ptr(int32(1))}, {Rule: 2}}}
	if diff := cmp.Diff(want, rec); !ok || diff != "" {
		t.Errorf("Recorded() ok=%v (-want +got):\n%s", ok, diff)
	}
}
