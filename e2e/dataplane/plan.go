package dataplane

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Pod env that sets a group's behaviour (first container, literal values only).
const (
	// EnvErrorRate is the fraction of requests answered 500, e.g. "0.05".
	EnvErrorRate = "DEMO_ERROR_RATE"
	// EnvLatency is the delay added to every request, a Go duration, e.g. "300ms".
	EnvLatency = "DEMO_LATENCY"
)

// Group is the ready pods of one namespace, app, revision and pod template: what one demo-app
// process stands in for.
type Group struct {
	Namespace string
	// App is the pod's `app` label (see appOf for the fall-backs).
	App string
	// Revision is the pod's slogate.io/revision label; empty on pods without it.
	Revision string
	// PodTemplateHash is the pod's pod-template-hash label; empty on pods without it.
	PodTemplateHash string
}

// RevisionKey is the revision of the group as the data plane counts it: Revision, or
// PodTemplateHash for pods that lack the revision label.
func (g Group) RevisionKey() string {
	if g.Revision != "" {
		return g.Revision
	}
	return g.PodTemplateHash
}

func (g Group) String() string {
	return fmt.Sprintf("%s/%s@%s", g.Namespace, g.App, g.RevisionKey())
}

func compareGroups(a, b Group) int {
	return cmp.Or(
		strings.Compare(a.Namespace, b.Namespace),
		strings.Compare(a.App, b.App),
		strings.Compare(a.Revision, b.Revision),
		strings.Compare(a.PodTemplateHash, b.PodTemplateHash),
	)
}

// Behaviour is what a group's demo-app does, read from the pods' env.
type Behaviour struct {
	ErrorRate float64
	Latency   time.Duration
}

// Workload is a group with ready pods, which needs a demo-app process.
type Workload struct {
	Group     Group
	Behaviour Behaviour
	// ReadyPods counts the group's ready pods.
	ReadyPods int
	// Problem, when set, says why no process can run for the group (an env value that does not
	// parse). Such a group serves nothing: its requests fail, loudly, rather than pass as healthy.
	Problem string
}

// Plan is where traffic goes: every workload to run and, for each route, how its requests split.
type Plan struct {
	// Workloads are sorted by group.
	Workloads []Workload
	// Routes are sorted by namespace and name.
	Routes []RoutePlan
}

// RoutePlan is how one HTTPRoute's requests split.
type RoutePlan struct {
	Route types.NamespacedName
	// Rules that have backendRefs, in the route's order. The route's requests are shared evenly
	// among them.
	Rules []RulePlan
}

// RulePlan is one rule: the request that matches it and the backends it splits over.
type RulePlan struct {
	// Index of the rule in the route's spec.rules.
	Index int
	// Request is a request the rule matches.
	Request Request
	// Backends in the rule's order, with their weights.
	Backends []BackendPlan
}

// Request is an HTTP request as the traffic driver sends it.
type Request struct {
	Method  string
	Path    string
	Query   map[string]string `json:",omitempty"`
	Headers map[string]string `json:",omitempty"`
}

// BackendPlan is one backendRef of a rule.
type BackendPlan struct {
	// Service is the referenced Service.
	Service types.NamespacedName
	// Weight as written in the route (1 when unset, as Gateway API defines).
	Weight int32
	// Groups are the ready pods the Service selects, by group; a request sent to the backend goes
	// to one of them in proportion to ReadyPods, as a Service's endpoints would share it.
	Groups []GroupShare
	// Problem says why the backend has nowhere to send requests (unsupported kind, missing Service,
	// no selector, no ready pod). A gateway answers such requests itself (500 or 503).
	Problem string
}

// GroupShare is a group behind a backend and the number of its ready pods the Service selects.
type GroupShare struct {
	Group     Group
	ReadyPods int
}

// Resolve computes the traffic plan: it is what a Gateway and the Services' endpoints would do
// with the routes, given the pods. Pods and Services of every namespace may be passed; only routes
// passed are planned, and workloads are listed for the namespaces of pods passed. Pure: the inputs
// are not changed.
func Resolve(routes []gatewayv1.HTTPRoute, services []corev1.Service, pods []corev1.Pod) Plan {
	var plan Plan

	byGroup := map[Group]*Workload{}
	readyByNamespace := map[string][]readyPod{}
	for i := range pods {
		pod := &pods[i]
		if !isReady(pod) {
			continue
		}
		g := groupOf(pod)
		readyByNamespace[pod.Namespace] = append(readyByNamespace[pod.Namespace], readyPod{pod: pod, group: g})
		w, ok := byGroup[g]
		if !ok {
			b, problem := behaviourOf(pod)
			w = &Workload{Group: g, Behaviour: b, Problem: problem}
			byGroup[g] = w
		}
		w.ReadyPods++
	}
	for _, w := range byGroup {
		plan.Workloads = append(plan.Workloads, *w)
	}
	slices.SortFunc(plan.Workloads, func(a, b Workload) int { return compareGroups(a.Group, b.Group) })

	svcs := map[types.NamespacedName]*corev1.Service{}
	for i := range services {
		svcs[types.NamespacedName{Namespace: services[i].Namespace, Name: services[i].Name}] = &services[i]
	}

	for i := range routes {
		route := &routes[i]
		rp := RoutePlan{Route: types.NamespacedName{Namespace: route.Namespace, Name: route.Name}}
		for ri, rule := range route.Spec.Rules {
			if len(rule.BackendRefs) == 0 {
				continue
			}
			rule := RulePlan{Index: ri, Request: requestOf(rule.Matches)}
			for _, ref := range route.Spec.Rules[ri].BackendRefs {
				rule.Backends = append(rule.Backends, resolveBackend(route.Namespace, ref, svcs, readyByNamespace))
			}
			rp.Rules = append(rp.Rules, rule)
		}
		plan.Routes = append(plan.Routes, rp)
	}
	slices.SortFunc(plan.Routes, func(a, b RoutePlan) int {
		return cmp.Or(strings.Compare(a.Route.Namespace, b.Route.Namespace), strings.Compare(a.Route.Name, b.Route.Name))
	})
	return plan
}

type readyPod struct {
	pod   *corev1.Pod
	group Group
}

func resolveBackend(routeNamespace string, ref gatewayv1.HTTPBackendRef, svcs map[types.NamespacedName]*corev1.Service, ready map[string][]readyPod) BackendPlan {
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	b := BackendPlan{Service: types.NamespacedName{Namespace: ns, Name: string(ref.Name)}, Weight: 1}
	if ref.Weight != nil {
		b.Weight = *ref.Weight
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Service") {
		b.Problem = fmt.Sprintf("backend kind %s is not a core Service", groupKind(ref))
		return b
	}
	svc, ok := svcs[b.Service]
	switch {
	case !ok:
		b.Problem = "service not found"
		return b
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		b.Problem = "service is of type ExternalName"
		return b
	case len(svc.Spec.Selector) == 0:
		b.Problem = "service has no selector"
		return b
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	counts := map[Group]int{}
	for _, rp := range ready[ns] {
		if sel.Matches(labels.Set(rp.pod.Labels)) {
			counts[rp.group]++
		}
	}
	for g, n := range counts {
		b.Groups = append(b.Groups, GroupShare{Group: g, ReadyPods: n})
	}
	slices.SortFunc(b.Groups, func(x, y GroupShare) int { return compareGroups(x.Group, y.Group) })
	if len(b.Groups) == 0 {
		b.Problem = "no ready pod selected"
	}
	return b
}

func groupKind(ref gatewayv1.HTTPBackendRef) string {
	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// requestOf is a request the first match accepts (GET / when the rule has no match). Only exact
// values can be reproduced: a regular-expression path is sent as "/", and headers or query
// parameters matched by regular expression are left out.
func requestOf(matches []gatewayv1.HTTPRouteMatch) Request {
	req := Request{Method: "GET", Path: "/"}
	if len(matches) == 0 {
		return req
	}
	m := matches[0]
	if m.Path != nil && m.Path.Value != nil &&
		(m.Path.Type == nil || *m.Path.Type != gatewayv1.PathMatchRegularExpression) {
		req.Path = *m.Path.Value
	}
	if m.Method != nil {
		req.Method = string(*m.Method)
	}
	for _, h := range m.Headers {
		if h.Type == nil || *h.Type == gatewayv1.HeaderMatchExact {
			if req.Headers == nil {
				req.Headers = map[string]string{}
			}
			req.Headers[string(h.Name)] = h.Value
		}
	}
	for _, q := range m.QueryParams {
		if q.Type == nil || *q.Type == gatewayv1.QueryParamMatchExact {
			if req.Query == nil {
				req.Query = map[string]string{}
			}
			req.Query[string(q.Name)] = q.Value
		}
	}
	return req
}

// isReady tells whether a pod would be an endpoint of a Service: running, Ready, not terminating.
func isReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func groupOf(pod *corev1.Pod) Group {
	return Group{
		Namespace:       pod.Namespace,
		App:             appOf(pod),
		Revision:        pod.Labels[slogatev1alpha1.RevisionLabel],
		PodTemplateHash: pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey],
	}
}

// appOf is the pod's `app` label, else its `app.kubernetes.io/name` label, else the name of the
// Deployment that owns it (its ReplicaSet's name less the pod-template-hash), else the pod's name.
func appOf(pod *corev1.Pod) string {
	if v := pod.Labels["app"]; v != "" {
		return v
	}
	if v := pod.Labels["app.kubernetes.io/name"]; v != "" {
		return v
	}
	hash := pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	for _, o := range pod.OwnerReferences {
		if o.Kind == "ReplicaSet" {
			if hash != "" {
				return strings.TrimSuffix(o.Name, "-"+hash)
			}
			return o.Name
		}
	}
	return pod.Name
}

// behaviourOf reads the behaviour from the env of the pod's first container.
func behaviourOf(pod *corev1.Pod) (Behaviour, string) {
	var b Behaviour
	if len(pod.Spec.Containers) == 0 {
		return b, ""
	}
	var problems []string
	for _, e := range pod.Spec.Containers[0].Env {
		switch e.Name {
		case EnvErrorRate:
			v, err := strconv.ParseFloat(strings.TrimSpace(e.Value), 64)
			if err != nil || v < 0 || v > 1 {
				problems = append(problems, fmt.Sprintf("env %s=%q is not a fraction within [0, 1]", e.Name, e.Value))
				continue
			}
			b.ErrorRate = v
		case EnvLatency:
			v, err := time.ParseDuration(strings.TrimSpace(e.Value))
			if err != nil || v < 0 {
				problems = append(problems, fmt.Sprintf("env %s=%q is not a non-negative duration", e.Name, e.Value))
				continue
			}
			b.Latency = v
		}
	}
	return b, strings.Join(problems, "; ")
}
