package dataplane

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// podBuilder builds pods for tests: makePod("web-1").labels(...).ready().obj().
type podBuilder struct{ pod corev1.Pod }

func makePod(name string) *podBuilder {
	return &podBuilder{pod: corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name, Labels: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}}
}

func (b *podBuilder) ns(ns string) *podBuilder { b.pod.Namespace = ns; return b }

func (b *podBuilder) label(k, v string) *podBuilder { b.pod.Labels[k] = v; return b }

// rev sets the app, revision and pod-template-hash labels of a Deployment's pod.
func (b *podBuilder) rev(app, revision, hash string) *podBuilder {
	b.pod.Labels["app"] = app
	if revision != "" {
		b.pod.Labels["slogate.io/revision"] = revision
	}
	b.pod.Labels["pod-template-hash"] = hash
	return b
}

func (b *podBuilder) env(name, value string) *podBuilder {
	b.pod.Spec.Containers[0].Env = append(b.pod.Spec.Containers[0].Env, corev1.EnvVar{Name: name, Value: value})
	return b
}

func (b *podBuilder) ownedBy(rs string) *podBuilder {
	b.pod.OwnerReferences = append(b.pod.OwnerReferences, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs})
	return b
}

func (b *podBuilder) ready() *podBuilder {
	b.pod.Status.Phase = corev1.PodRunning
	b.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	return b
}

func (b *podBuilder) runningNotReady() *podBuilder {
	b.pod.Status.Phase = corev1.PodRunning
	b.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	return b
}

func (b *podBuilder) terminating() *podBuilder {
	b.pod.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	return b
}

func (b *podBuilder) obj() corev1.Pod { return b.pod }

func makeService(name string, selector map[string]string) corev1.Service {
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

// routeBuilder builds HTTPRoutes: makeRoute("web-route").rule(backend("a", 90), backend("b", 10)).obj().
type routeBuilder struct{ route gatewayv1.HTTPRoute }

func makeRoute(name string) *routeBuilder {
	return &routeBuilder{route: gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name}}}
}

func (b *routeBuilder) rule(refs ...gatewayv1.HTTPBackendRef) *routeBuilder {
	b.route.Spec.Rules = append(b.route.Spec.Rules, gatewayv1.HTTPRouteRule{BackendRefs: refs})
	return b
}

func (b *routeBuilder) ruleWith(match gatewayv1.HTTPRouteMatch, refs ...gatewayv1.HTTPBackendRef) *routeBuilder {
	b.route.Spec.Rules = append(b.route.Spec.Rules, gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{match}, BackendRefs: refs})
	return b
}

func (b *routeBuilder) obj() gatewayv1.HTTPRoute { return b.route }

func backend(name string, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(80))},
		Weight:                 ptr.To(weight),
	}}
}

func prodSvc(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "prod", Name: name}
}

var (
	stableGroup = Group{Namespace: "prod", App: "payments-api", Revision: "r1", PodTemplateHash: "h1"}
	canaryGroup = Group{Namespace: "prod", App: "payments-api", Revision: "r2", PodTemplateHash: "h2"}
	getRoot     = Request{Method: "GET", Path: "/"}
)

func TestResolve(t *testing.T) {
	stablePods := func() []corev1.Pod {
		return []corev1.Pod{
			makePod("s-1").rev("payments-api", "r1", "h1").ready().obj(),
			makePod("s-2").rev("payments-api", "r1", "h1").ready().obj(),
			makePod("s-3").rev("payments-api", "r1", "h1").ready().obj(),
		}
	}
	canaryPod := makePod("c-1").rev("payments-api", "r2", "h2").env(EnvErrorRate, "0.05").env(EnvLatency, "300ms").ready().obj()
	canaryBehaviour := Behaviour{ErrorRate: 0.05, Latency: 300 * time.Millisecond}
	seedRoute := makeRoute("payments-api-route").
		ruleWith(gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/payments")}},
			backend("payments-api-stable", 90), backend("payments-api-canary", 10)).obj()
	pinnedServices := []corev1.Service{
		makeService("payments-api-stable", map[string]string{"app": "payments-api", "slogate.io/revision": "r1"}),
		makeService("payments-api-canary", map[string]string{"app": "payments-api", "slogate.io/revision": "r2"}),
	}
	workloads := []Workload{
		{Group: stableGroup, ReadyPods: 3},
		{Group: canaryGroup, Behaviour: canaryBehaviour, ReadyPods: 1},
	}

	tests := map[string]struct {
		routes   []gatewayv1.HTTPRoute
		services []corev1.Service
		pods     []corev1.Pod
		want     Plan
	}{
		"seed route with pinned services splits 90/10 by revision": {
			routes:   []gatewayv1.HTTPRoute{seedRoute},
			services: pinnedServices,
			pods:     append(stablePods(), canaryPod),
			want: Plan{
				Workloads: workloads,
				Routes: []RoutePlan{{Route: prodSvc("payments-api-route"), Rules: []RulePlan{{
					Index:   0,
					Request: Request{Method: "GET", Path: "/payments"},
					Backends: []BackendPlan{
						{Service: prodSvc("payments-api-stable"), Weight: 90, Groups: []GroupShare{{Group: stableGroup, ReadyPods: 3}}},
						{Service: prodSvc("payments-api-canary"), Weight: 10, Groups: []GroupShare{{Group: canaryGroup, ReadyPods: 1}}},
					},
				}}}},
			},
		},
		"an unpinned stable service also selects canary pods": {
			routes: []gatewayv1.HTTPRoute{seedRoute},
			services: []corev1.Service{
				makeService("payments-api-stable", map[string]string{"app": "payments-api"}),
				pinnedServices[1],
			},
			pods: append(stablePods(), canaryPod),
			want: Plan{
				Workloads: workloads,
				Routes: []RoutePlan{{Route: prodSvc("payments-api-route"), Rules: []RulePlan{{
					Request: Request{Method: "GET", Path: "/payments"},
					Backends: []BackendPlan{
						{Service: prodSvc("payments-api-stable"), Weight: 90, Groups: []GroupShare{{Group: stableGroup, ReadyPods: 3}, {Group: canaryGroup, ReadyPods: 1}}},
						{Service: prodSvc("payments-api-canary"), Weight: 10, Groups: []GroupShare{{Group: canaryGroup, ReadyPods: 1}}},
					},
				}}}},
			},
		},
		"pods that are not ready, not running or terminating are no endpoints": {
			routes:   []gatewayv1.HTTPRoute{makeRoute("r").rule(backend("payments-api-stable", 100)).obj()},
			services: pinnedServices[:1],
			pods: []corev1.Pod{
				makePod("s-1").rev("payments-api", "r1", "h1").ready().obj(),
				makePod("s-2").rev("payments-api", "r1", "h1").obj(),
				makePod("s-3").rev("payments-api", "r1", "h1").runningNotReady().obj(),
				makePod("s-4").rev("payments-api", "r1", "h1").ready().terminating().obj(),
			},
			want: Plan{
				Workloads: []Workload{{Group: stableGroup, ReadyPods: 1}},
				Routes: []RoutePlan{{Route: prodSvc("r"), Rules: []RulePlan{{
					Request:  getRoot,
					Backends: []BackendPlan{{Service: prodSvc("payments-api-stable"), Weight: 100, Groups: []GroupShare{{Group: stableGroup, ReadyPods: 1}}}},
				}}}},
			},
		},
		"pods without a revision label are grouped by pod-template-hash": {
			routes:   []gatewayv1.HTTPRoute{makeRoute("r").rule(backend("web", 100)).obj()},
			services: []corev1.Service{makeService("web", map[string]string{"app": "web"})},
			pods: []corev1.Pod{
				makePod("old-1").rev("web", "", "aaa").ready().obj(),
				makePod("old-2").rev("web", "", "aaa").ready().obj(),
				makePod("new-1").rev("web", "r9", "bbb").ready().obj(),
			},
			want: Plan{
				Workloads: []Workload{
					{Group: Group{Namespace: "prod", App: "web", PodTemplateHash: "aaa"}, ReadyPods: 2},
					{Group: Group{Namespace: "prod", App: "web", Revision: "r9", PodTemplateHash: "bbb"}, ReadyPods: 1},
				},
				Routes: []RoutePlan{{Route: prodSvc("r"), Rules: []RulePlan{{
					Request: getRoot,
					Backends: []BackendPlan{{Service: prodSvc("web"), Weight: 100, Groups: []GroupShare{
						{Group: Group{Namespace: "prod", App: "web", PodTemplateHash: "aaa"}, ReadyPods: 2},
						{Group: Group{Namespace: "prod", App: "web", Revision: "r9", PodTemplateHash: "bbb"}, ReadyPods: 1},
					}}},
				}}}},
			},
		},
		"backends that cannot serve say why": {
			routes: []gatewayv1.HTTPRoute{makeRoute("r").rule(
				backend("missing", 1),
				backend("headless-selector", 1),
				backend("external", 1),
				backend("nobody-home", 1),
				gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Group: ptr.To(gatewayv1.Group("example.com")), Kind: ptr.To(gatewayv1.Kind("Bucket")), Name: "b",
				}}},
			).obj()},
			services: []corev1.Service{
				makeService("headless-selector", nil),
				{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "external"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
				makeService("nobody-home", map[string]string{"app": "nobody"}),
			},
			want: Plan{Routes: []RoutePlan{{Route: prodSvc("r"), Rules: []RulePlan{{
				Request: getRoot,
				Backends: []BackendPlan{
					{Service: prodSvc("missing"), Weight: 1, Problem: "service not found"},
					{Service: prodSvc("headless-selector"), Weight: 1, Problem: "service has no selector"},
					{Service: prodSvc("external"), Weight: 1, Problem: "service is of type ExternalName"},
					{Service: prodSvc("nobody-home"), Weight: 1, Problem: "no ready pod selected"},
					{Service: prodSvc("b"), Weight: 1, Problem: "backend kind Bucket.example.com is not a core Service"},
				},
			}}}}},
		},
		"unset weight is 1, rules without backends are left out, the match shapes the request": {
			routes: []gatewayv1.HTTPRoute{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "r"},
				Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
					{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect}}},
					{
						Matches: []gatewayv1.HTTPRouteMatch{{
							Path:        &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To("/pay")},
							Method:      ptr.To(gatewayv1.HTTPMethodPost),
							Headers:     []gatewayv1.HTTPHeaderMatch{{Name: "X-Tenant", Value: "a"}, {Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Name: "X-Re", Value: ".*"}},
							QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "v", Value: "2"}},
						}},
						BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "payments-api-stable"}}}},
					},
					{
						Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To("/x.*")}}},
						BackendRefs: []gatewayv1.HTTPBackendRef{backend("payments-api-stable", 0)},
					},
				}},
			}},
			services: pinnedServices[:1],
			pods:     stablePods(),
			want: Plan{
				Workloads: []Workload{{Group: stableGroup, ReadyPods: 3}},
				Routes: []RoutePlan{{Route: prodSvc("r"), Rules: []RulePlan{
					{
						Index:    1,
						Request:  Request{Method: "POST", Path: "/pay", Headers: map[string]string{"X-Tenant": "a"}, Query: map[string]string{"v": "2"}},
						Backends: []BackendPlan{{Service: prodSvc("payments-api-stable"), Weight: 1, Groups: []GroupShare{{Group: stableGroup, ReadyPods: 3}}}},
					},
					{
						Index:    2,
						Request:  getRoot,
						Backends: []BackendPlan{{Service: prodSvc("payments-api-stable"), Weight: 0, Groups: []GroupShare{{Group: stableGroup, ReadyPods: 3}}}},
					},
				}}},
			},
		},
		"a backend in another namespace resolves there, a service never selects across namespaces": {
			routes: []gatewayv1.HTTPRoute{makeRoute("r").rule(
				gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "web", Namespace: ptr.To(gatewayv1.Namespace("shop")),
				}, Weight: ptr.To[int32](100)}},
				backend("web", 0),
			).obj()},
			services: []corev1.Service{
				{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
			},
			pods: []corev1.Pod{makePod("w-1").ns("shop").rev("web", "r5", "h5").ready().obj()},
			want: Plan{
				Workloads: []Workload{{Group: Group{Namespace: "shop", App: "web", Revision: "r5", PodTemplateHash: "h5"}, ReadyPods: 1}},
				Routes: []RoutePlan{{Route: prodSvc("r"), Rules: []RulePlan{{
					Request: getRoot,
					Backends: []BackendPlan{
						{Service: types.NamespacedName{Namespace: "shop", Name: "web"}, Weight: 100, Groups: []GroupShare{{Group: Group{Namespace: "shop", App: "web", Revision: "r5", PodTemplateHash: "h5"}, ReadyPods: 1}}},
						{Service: prodSvc("web"), Weight: 0, Problem: "no ready pod selected"},
					},
				}}}},
			},
		},
		"env that does not parse makes a workload with a problem, not a healthy one": {
			pods: []corev1.Pod{
				makePod("c-1").rev("payments-api", "r2", "h2").env(EnvErrorRate, "5%").env(EnvLatency, "300").ready().obj(),
			},
			want: Plan{Workloads: []Workload{{
				Group:     canaryGroup,
				ReadyPods: 1,
				Problem:   `env DEMO_ERROR_RATE="5%" is not a fraction within [0, 1]; env DEMO_LATENCY="300" is not a non-negative duration`,
			}}},
		},
		"the app falls back to app.kubernetes.io/name, then to the Deployment's name": {
			pods: []corev1.Pod{
				makePod("a-1").label("app.kubernetes.io/name", "cart").label("pod-template-hash", "h7").ready().obj(),
				makePod("checkout-5d8f-x").label("pod-template-hash", "5d8f").ownedBy("checkout-5d8f").ready().obj(),
				makePod("lonely").ready().obj(),
			},
			want: Plan{Workloads: []Workload{
				{Group: Group{Namespace: "prod", App: "cart", PodTemplateHash: "h7"}, ReadyPods: 1},
				{Group: Group{Namespace: "prod", App: "checkout", PodTemplateHash: "5d8f"}, ReadyPods: 1},
				{Group: Group{Namespace: "prod", App: "lonely"}, ReadyPods: 1},
			}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Resolve(tc.routes, tc.services, tc.pods)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupRevisionKey(t *testing.T) {
	tests := map[string]struct {
		g    Group
		want string
	}{
		"revision label":            {g: Group{Revision: "r1", PodTemplateHash: "h1"}, want: "r1"},
		"no revision label":         {g: Group{PodTemplateHash: "h1"}, want: "h1"},
		"neither revision nor hash": {g: Group{}, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.g.RevisionKey(); got != tc.want {
				t.Errorf("RevisionKey: want %q, got %q", tc.want, got)
			}
		})
	}
}
