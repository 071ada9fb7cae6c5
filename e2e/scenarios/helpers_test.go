package scenarios

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

//go:embed scenario.yaml
var scenarioYAML []byte

//go:embed app.yaml
var appYAML string

const (
	appName   = "payments-api"
	routeName = "payments-api-route"
	stableSvc = "payments-api-stable"
	canarySvc = "payments-api-canary"
)

// app is one version of the user's Deployment manifest.
type app struct {
	Image     string
	ErrorRate string
}

var (
	v1     = app{Image: "2026.04.15", ErrorRate: "0"}
	v2     = app{Image: "2026.04.16", ErrorRate: "0"}
	v3     = app{Image: "2026.04.17", ErrorRate: "0"}
	v2bad  = app{Image: "2026.04.16-bad", ErrorRate: "0.5"}
	appTpl = template.Must(template.New("app").Delims("[[", "]]").Parse(appYAML))
)

func (a app) manifest() []byte {
	var b bytes.Buffer
	if err := appTpl.Execute(&b, a); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// scenario is one test's namespace with the seed's objects, and a record of every change in it.
type scenario struct {
	t  *testing.T
	ns string
	c  client.Client
	tl *timeline
}

// newScenario makes an opted-in namespace, applies scenario.yaml and then extra (the scenario's own
// YAML, which may replace objects of scenario.yaml), starts recording, has the data plane serve the
// namespace, and applies v1 of the app and waits until it serves.
func newScenario(t *testing.T, extra []byte) *scenario {
	t.Helper()
	ns := env.MustCreateNamespace(t, "", map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}).Name
	s := &scenario{t: t, ns: ns, c: env.Client()}
	s.tl = startTimeline(t, ns)
	s.kubectlApply(scenarioYAML)
	if len(extra) > 0 {
		s.kubectlApply(extra)
	}
	plane.Serve(ns)
	t.Cleanup(func() { plane.Forget(ns) })
	s.apply(v1)
	s.mustAppServing()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("changes in %s:\n%s", ns, s.tl.String())
			t.Logf("analyzer log (end):\n%s", analyzer.Log(20000))
		}
	})
	return s
}

func (s *scenario) kubectlApply(yaml []byte) {
	s.t.Helper()
	env.MustKubectlInput(s.t, yaml, "apply", "-n", s.ns, "-f", "-")
}

// apply runs kubectl apply with a version of the app, as a user or a CD pipeline does.
func (s *scenario) apply(a app) {
	s.t.Helper()
	s.kubectlApply(a.manifest())
}

func (s *scenario) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: s.ns, Name: name}
}

func (s *scenario) deployment() *appsv1.Deployment {
	s.t.Helper()
	d := &appsv1.Deployment{}
	if err := s.c.Get(s.t.Context(), s.key(appName), d); err != nil {
		s.t.Fatalf("getting the Deployment: %v", err)
	}
	return d
}

func (s *scenario) route() *gatewayv1.HTTPRoute {
	s.t.Helper()
	r := &gatewayv1.HTTPRoute{}
	if err := s.c.Get(s.t.Context(), s.key(routeName), r); err != nil {
		s.t.Fatalf("getting the route: %v", err)
	}
	return r
}

func (s *scenario) service(name string) *corev1.Service {
	s.t.Helper()
	svc := &corev1.Service{}
	if err := s.c.Get(s.t.Context(), s.key(name), svc); err != nil {
		s.t.Fatalf("getting Service %s: %v", name, err)
	}
	return svc
}

// release returns the Release, nil when there is none.
func (s *scenario) release(name string) *slogatev1alpha1.Release {
	rel := &slogatev1alpha1.Release{}
	if err := s.c.Get(s.t.Context(), s.key(name), rel); err != nil {
		return nil
	}
	return rel
}

// mustHeld waits until the webhook held the Deployment on a new template, and returns the
// canary revision and its Release's name.
func (s *scenario) mustHeld(prevRevision string) (revision, release string) {
	s.t.Helper()
	cluster.MustPoll(s.t, stepTimeout, "the Deployment held on a new revision", func(ctx context.Context) (bool, error) {
		d := s.deployment()
		revision = d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
		return d.Spec.Paused && revision != "" && revision != prevRevision, nil
	})
	return revision, slogatev1alpha1.ReleaseName(appName, revision)
}

// mustAppServing waits until the Deployment is available and the data plane sends its traffic.
func (s *scenario) mustAppServing() {
	s.t.Helper()
	cluster.MustPoll(s.t, appReadyTimeout, "the app available and served", func(ctx context.Context) (bool, error) {
		d := s.deployment()
		if d.Status.ObservedGeneration < d.Generation || d.Status.AvailableReplicas != *d.Spec.Replicas {
			return false, nil
		}
		st := plane.Stats(s.key(routeName))
		return st.Codes[200] > 0, nil
	})
}

// mustPhase waits until the release is in phase (and cleaned up, for a terminal phase).
func (s *scenario) mustPhase(name string, phase slogatev1alpha1.ReleasePhase, timeout time.Duration) *slogatev1alpha1.Release {
	s.t.Helper()
	var rel *slogatev1alpha1.Release
	cluster.MustPoll(s.t, timeout, fmt.Sprintf("release %s %s", name, phase), func(ctx context.Context) (bool, error) {
		rel = s.release(name)
		if rel == nil || rel.Status.Phase != phase {
			return false, nil
		}
		return !phase.IsTerminal() || meta.IsStatusConditionTrue(rel.Status.Conditions, slogatev1alpha1.ConditionCompleted), nil
	})
	return rel
}

// canaryWeight is the canary's share on the route's first rule.
func canaryWeight(r *gatewayv1.HTTPRoute) int32 {
	o := traffic.Observe(r, traffic.Backends{Stable: stableSvc, Canary: canarySvc})
	return o.MaxCanary
}

// mustUserObjectsAsWritten checks the route is as the user wrote it (weights 100/0 as in the seed) and
// both Services are unpinned.
func (s *scenario) mustUserObjectsAsWritten(route *gatewayv1.HTTPRoute, stable, canary *corev1.Service) {
	s.t.Helper()
	got := s.route()
	if !equalJSON(route.Spec, got.Spec) {
		s.t.Errorf("route spec changed:\nbefore %s\nafter  %s", toJSON(route.Spec), toJSON(got.Spec))
	}
	if !equalJSON(route.Annotations, got.Annotations) {
		s.t.Errorf("route annotations changed: before %v, after %v", route.Annotations, got.Annotations)
	}
	for _, want := range []*corev1.Service{stable, canary} {
		svc := s.service(want.Name)
		if !equalJSON(want.Spec, svc.Spec) || !equalJSON(want.Annotations, svc.Annotations) || !equalJSON(want.Labels, svc.Labels) {
			s.t.Errorf("Service %s changed:\nbefore %s %v\nafter  %s %v", want.Name, toJSON(want.Spec), want.Annotations,
				toJSON(svc.Spec), svc.Annotations)
		}
	}
}

// snapshot returns the route and both Services as they are now.
func (s *scenario) snapshot() (*gatewayv1.HTTPRoute, *corev1.Service, *corev1.Service) {
	return s.route(), s.service(stableSvc), s.service(canarySvc)
}

// mustNoCanary checks that the canary Deployment is gone.
func (s *scenario) mustNoCanary() {
	s.t.Helper()
	err := s.c.Get(s.t.Context(), s.key(appName+"-canary"), &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) {
		s.t.Errorf("the canary Deployment is still there (%v)", err)
	}
}

// userAnnotations are the Deployment's annotations without slogate's and the Deployment
// controller's.
func userAnnotations(d *appsv1.Deployment) map[string]string {
	out := map[string]string{}
	for k, v := range d.Annotations {
		if strings.HasPrefix(k, slogatev1alpha1.Prefix) || k == "deployment.kubernetes.io/revision" {
			continue
		}
		out[k] = v
	}
	return out
}

// ---- timeline -----------------------------------------------------------------------------------

// change is one watch event, ordered by resourceVersion: one etcd orders every write of the
// cluster, so resourceVersions of different kinds compare.
type change struct {
	rv     int64
	at     time.Time
	kind   string
	name   string
	typ    watch.EventType
	object client.Object
}

func (c change) String() string {
	desc := ""
	switch o := c.object.(type) {
	case *gatewayv1.HTTPRoute:
		desc = fmt.Sprintf("canary %d %% %s", canaryWeight(o), o.Annotations[slogatev1alpha1.RouteWeightsAnnotation])
	case *appsv1.Deployment:
		desc = fmt.Sprintf("paused=%v replicas=%d ready=%d canary=%q failed=%q action=%q", o.Spec.Paused, deref(o.Spec.Replicas),
			o.Status.ReadyReplicas, o.Annotations[slogatev1alpha1.CanaryRevisionAnnotation], o.Annotations[slogatev1alpha1.FailedRevisionAnnotation],
			o.Annotations[slogatev1alpha1.ActionAnnotation])
	case *corev1.Service:
		desc = fmt.Sprintf("selector=%v", o.Spec.Selector)
	case *slogatev1alpha1.Release:
		desc = fmt.Sprintf("%s step=%d weight=%d reason=%s", o.Status.Phase, o.Status.StepIndex, o.Status.CanaryWeight, o.Status.Reason)
	}
	return fmt.Sprintf("%8d %s %-8s %s/%s %s", c.rv, c.at.Format("15:04:05.000"), c.typ, c.kind, c.name, desc)
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// timeline records every change of Deployments, Services, HTTPRoutes and Releases in a namespace.
type timeline struct {
	mu      sync.Mutex
	changes []change
}

func startTimeline(t *testing.T, ns string) *timeline {
	t.Helper()
	wc, err := client.NewWithWatch(env.RESTConfig(), client.Options{Scheme: env.Scheme()})
	if err != nil {
		t.Fatalf("watch client: %v", err)
	}
	tl := &timeline{}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for kind, list := range map[string]client.ObjectList{
		"Deployment": &appsv1.DeploymentList{}, "Service": &corev1.ServiceList{},
		"HTTPRoute": &gatewayv1.HTTPRouteList{}, "Release": &slogatev1alpha1.ReleaseList{},
	} {
		w, err := wc.Watch(ctx, list, client.InNamespace(ns))
		if err != nil {
			t.Fatalf("watching %s: %v", kind, err)
		}
		wg.Go(func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					obj, ok := ev.Object.(client.Object)
					if !ok {
						continue
					}
					rv, _ := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
					tl.mu.Lock()
					tl.changes = append(tl.changes, change{rv: rv, at: time.Now(), kind: kind, name: obj.GetName(), typ: ev.Type, object: obj})
					tl.mu.Unlock()
				}
			}
		})
	}
	return tl
}

// sorted returns the changes so far in resourceVersion order.
func (tl *timeline) sorted() []change {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	out := slices.Clone(tl.changes)
	slices.SortStableFunc(out, func(a, b change) int { return int(a.rv - b.rv) })
	return out
}

// len is how many changes arrived so far.
func (tl *timeline) len() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return len(tl.changes)
}

// since returns the changes that arrived after the first n, in arrival order.
func (tl *timeline) since(n int) []change {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.changes[min(n, len(tl.changes)):])
}

func (tl *timeline) String() string {
	var b strings.Builder
	for _, c := range tl.sorted() {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// routeWeights is the canary weight of every route change, in order, without repeats.
func (tl *timeline) routeWeights() []int32 {
	var out []int32
	for _, c := range tl.sorted() {
		if r, ok := c.object.(*gatewayv1.HTTPRoute); ok && c.name == routeName {
			w := canaryWeight(r)
			if len(out) == 0 || out[len(out)-1] != w {
				out = append(out, w)
			}
		}
	}
	return out
}

// mustInvariants checks, over every change recorded: no weight on a canary that is gone; and a
// Deployment held on a revision gets its Release within holdGrace, before the analyzer writes
// anything else for it.
func (s *scenario) mustInvariants() {
	s.t.Helper()
	canaryExists := false
	weight := int32(0)
	heldSince := map[string]time.Time{}
	releases := map[string]bool{}
	for _, c := range s.tl.sorted() {
		switch o := c.object.(type) {
		case *appsv1.Deployment:
			if o.Name == appName+"-canary" {
				canaryExists = c.typ != watch.Deleted && o.DeletionTimestamp == nil
			}
			if o.Name == appName {
				rev := o.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
				if o.Spec.Paused && rev != "" && rev != o.Annotations[slogatev1alpha1.FailedRevisionAnnotation] {
					name := slogatev1alpha1.ReleaseName(appName, rev)
					if _, ok := heldSince[name]; !ok && !releases[name] {
						heldSince[name] = c.at
					}
				}
			}
		case *gatewayv1.HTTPRoute:
			weight = canaryWeight(o)
		case *slogatev1alpha1.Release:
			if c.typ == watch.Added {
				releases[o.Name] = true
				if since, ok := heldSince[o.Name]; ok && c.at.Sub(since) > holdGrace {
					s.t.Errorf("invariant: the Deployment was held %v before Release %s existed", c.at.Sub(since), o.Name)
				}
				delete(heldSince, o.Name)
			}
		}
		if weight > 0 && !canaryExists {
			s.t.Errorf("invariant: %d %% of traffic on a canary that is gone, at %s", weight, c)
		}
	}
	for name, since := range heldSince {
		if time.Since(since) > holdGrace {
			s.t.Errorf("invariant: the Deployment is held since %v without Release %s", since.Format(time.TimeOnly), name)
		}
	}
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}

// equalJSON compares two values as the API would store them (nil and empty maps alike).
func equalJSON(a, b any) bool {
	ja, jb := toJSON(a), toJSON(b)
	if ja == jb {
		return true
	}
	empty := func(s string) bool { return s == "null" || s == "{}" }
	return empty(ja) && empty(jb)
}

// mustEventually polls cond every PollInterval until it holds, and fails the test after timeout
// with what cond last said.
func mustEventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	detail := ""
	for {
		ok, d := cond(ctx)
		if ok {
			return
		}
		detail = d
		select {
		case <-ctx.Done():
			t.Fatalf("waiting %v for %s: %s", timeout, what, detail)
		case <-time.After(cluster.PollInterval):
		}
	}
}

// mustServedOnlyBy waits for a window of trafficWindow requests on the route that were all answered
// 200 by pods of the revision (the data plane's revision key). Windows are retried because the data
// plane follows the API with a short lag after a change.
func (s *scenario) mustServedOnlyBy(revision string) {
	s.t.Helper()
	mustEventually(s.t, appReadyTimeout, "traffic served by revision "+revision+" alone", func(ctx context.Context) (bool, string) {
		before := plane.Stats(s.key(routeName))
		for plane.Stats(s.key(routeName)).Since(before).Sent < trafficWindow {
			select {
			case <-ctx.Done():
				return false, "too few requests"
			case <-time.After(cluster.PollInterval):
			}
		}
		w := plane.Stats(s.key(routeName)).Since(before)
		ok := w.Failed == 0 && w.Codes[200] == w.Sent && w.Revisions[revision] == w.Sent
		return ok, fmt.Sprintf("last window: sent %d, revisions %v, codes %v, failed %d", w.Sent, w.Revisions, w.Codes, w.Failed)
	})
}

// stablePods returns the names and UIDs of the ready pods of a revision, sorted.
func (s *scenario) stablePods(revision string) []string {
	s.t.Helper()
	var pods corev1.PodList
	if err := s.c.List(s.t.Context(), &pods, client.InNamespace(s.ns),
		client.MatchingLabels{"app": appName, slogatev1alpha1.RevisionLabel: revision}); err != nil {
		s.t.Fatalf("listing pods: %v", err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && cluster.PodReady(&p) && p.Labels[slogatev1alpha1.RoleLabel] == "" {
			out = append(out, p.Name+"/"+string(p.UID))
		}
	}
	slices.Sort(out)
	return out
}
