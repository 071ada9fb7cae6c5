package analyzer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

const (
	ns      = "prod"
	appName = "payments-api"
)

var t0 = time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, slogatev1alpha1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// template is the pod template of the test app at an image.
func template(image string) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": appName}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "ghcr.io/example/payments-api:" + image,
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
	t.Labels[slogatev1alpha1.RevisionLabel] = revision.Of(&t)
	return t
}

func rev(image string) string {
	t := template(image)
	return revision.Of(&t)
}

func hashOf(rev string) string { return "h" + rev }

// stableDeployment is the app running image v1 with 4 replicas, before any release.
func stableDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: appName, Namespace: ns, UID: "uid-deploy", Generation: 1,
			Labels: map[string]string{"app": appName, "team": "payments"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(4)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": appName}},
			Template: template("v1"),
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 4, UpdatedReplicas: 4, ReadyReplicas: 4, AvailableReplicas: 4},
	}
}

func replicaSet(d *appsv1.Deployment, image string, replicas int32) *appsv1.ReplicaSet {
	tmpl := template(image)
	r := revision.Of(&tmpl)
	tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hashOf(r)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hashOf(r), Namespace: ns,
			Labels:          map[string]string{"app": appName, appsv1.DefaultDeploymentUniqueLabelKey: hashOf(r)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr(true)}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Template: tmpl,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": appName, appsv1.DefaultDeploymentUniqueLabelKey: hashOf(r)}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func service(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": appName}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": appName},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

func backendRef(name string, weight *int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr(gatewayv1.PortNumber(80))},
		Weight:                 weight,
	}}
}

// userRoute is the seed's route plus a rule for another Service, a rule naming only the stable
// Service with header matches and a filter.
func userRoute() *gatewayv1.HTTPRoute {
	prefix := func(p string) []gatewayv1.HTTPRouteMatch {
		return []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr(p)}}}
	}
	beta := prefix("/payments/beta")
	beta[0].Headers = []gatewayv1.HTTPHeaderMatch{{Name: "x-beta", Value: "1"}}
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: appName + "-route", Namespace: ns, Annotations: map[string]string{"owner": "payments"}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public-gateway", Namespace: ptr(gatewayv1.Namespace("infra"))}}},
			Hostnames:       []gatewayv1.Hostname{"api.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{
				{Matches: prefix("/payments"), BackendRefs: []gatewayv1.HTTPBackendRef{
					backendRef(appName+"-stable", ptr(int32(100))), backendRef(appName+"-canary", ptr(int32(0))),
				}},
				{Matches: prefix("/ledger"), BackendRefs: []gatewayv1.HTTPBackendRef{backendRef("ledger", ptr(int32(1)))}},
				{Matches: beta, Filters: []gatewayv1.HTTPRouteFilter{{
					Type:                  gatewayv1.HTTPRouteFilterRequestHeaderModifier,
					RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: "x-route", Value: "beta"}}},
				}}, BackendRefs: []gatewayv1.HTTPBackendRef{backendRef(appName+"-stable", ptr(int32(1)))}},
			},
		},
	}
}

// fastSteps is the seed's schedule with pauses of seconds.
func fastSteps() []slogatev1alpha1.CanaryStep {
	w := func(n int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: &n} }
	p := func(d time.Duration) slogatev1alpha1.CanaryStep {
		return slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
	}
	a := slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
		{TemplateName: "canary-success-rate", ClusterScope: true}, {TemplateName: "canary-latency-p95", ClusterScope: true},
	}}}
	return []slogatev1alpha1.CanaryStep{w(5), p(3 * time.Second), a, w(25), p(5 * time.Second), a, w(50), p(5 * time.Second), w(100)}
}

func fastPolicy(steps []slogatev1alpha1.CanaryStep) *slogatev1alpha1.RolloutPolicy {
	return &slogatev1alpha1.RolloutPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: ns},
		Spec: slogatev1alpha1.RolloutPolicySpec{
			Steps:              steps,
			CanaryReadyTimeout: &metav1.Duration{Duration: time.Minute},
			AnalysisTimeout:    &metav1.Duration{Duration: 2 * time.Minute},
			PromotionTimeout:   &metav1.Duration{Duration: time.Minute},
		},
	}
}

// scriptedGate answers by step: script[step] is the outcome of each call at that step, indexed by
// how many measurements the release already has at the step (so it keeps no state of its own and
// survives a rebuilt reconciler). Steps without a script succeed.
type scriptedGate struct {
	mu     sync.Mutex
	script map[int32][]gate.Outcome
	err    map[int32]error
	calls  int
}

func (g *scriptedGate) Analyze(_ context.Context, req gate.Request) (gate.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	step := req.Release.Status.StepIndex
	if err := g.err[step]; err != nil {
		return gate.Result{}, err
	}
	n := 0
	for _, m := range req.Release.Status.Measurements {
		if m.Step == step {
			n++
		}
	}
	outcome := gate.Successful
	if seq := g.script[step]; len(seq) > 0 {
		outcome = seq[min(n, len(seq)-1)]
	}
	verdict, value := map[gate.Outcome]slogatev1alpha1.Verdict{
		gate.Successful: slogatev1alpha1.VerdictSuccessful, gate.Failed: slogatev1alpha1.VerdictFailed, gate.Running: slogatev1alpha1.VerdictInconclusive,
	}[outcome], map[gate.Outcome]string{gate.Successful: "99.9", gate.Failed: "91.2", gate.Running: ""}[outcome]
	m := slogatev1alpha1.Measurement{
		Template: "canary-success-rate", Metric: "success-rate", Step: step, Weight: req.Release.Status.CanaryWeight,
		Query: "100 * sum(rate(...))", Value: value, Verdict: verdict, Time: metav1.NewTime(req.Now),
	}
	return gate.Result{
		Outcome:      outcome,
		Measurements: []slogatev1alpha1.Measurement{m},
		Metrics:      []slogatev1alpha1.MetricStatus{{Template: m.Template, Metric: m.Metric, Step: step, Phase: verdict}},
		Message:      fmt.Sprintf("success-rate %s: %s", verdict, value),
		RequeueAfter: time.Second,
	}, nil
}

// recorder keeps events as "Kind/name Type Reason: message".
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kind := strings.TrimPrefix(fmt.Sprintf("%T", regarding), "*v1.")
	kind = strings.TrimPrefix(kind, "*v1alpha1.")
	name := ""
	if o, ok := regarding.(metav1.Object); ok {
		name = o.GetName()
	}
	r.events = append(r.events, fmt.Sprintf("%s/%s %s %s: %s", kind, name, eventtype, reason, fmt.Sprintf(note, args...)))
}

func (r *recorder) reasons(kind string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if strings.HasPrefix(e, kind+"/") {
			out = append(out, strings.SplitN(strings.SplitN(e, " ", 3)[2], ":", 2)[0])
		}
	}
	return out
}

// env is a fake API server with a simulated Deployment controller and kubelet, a fake clock, and a
// log of every write.
type env struct {
	t       *testing.T
	c       client.Client
	clock   *clocktesting.FakePassiveClock
	gate    *scriptedGate
	rec     *recorder
	r       *Reconciler
	writes  []string
	mu      sync.Mutex
	crashAt func(write string) bool // a write for which it returns true fails, as if the process died
	// refuse answers each write by the reconciler; a non-nil error fails the write every time, as
	// admission refusing it would.
	refuse func(write string) error
	// canaryReady false keeps canary pods unready.
	canaryReady bool
	// canaryPodsRefused, when set, is the message with which the ReplicaSet controller fails to
	// create every canary pod (the canary's ReplicaFailure condition).
	canaryPodsRefused string
	// releaseGap allows a held Deployment without a Release for one reconcile: after the user
	// deleted the Release, until it is created again.
	releaseGap bool
}

func newEnv(t *testing.T, objs ...client.Object) *env {
	t.Helper()
	e := &env{t: t, clock: clocktesting.NewFakePassiveClock(t0), gate: &scriptedGate{}, rec: &recorder{}, canaryReady: true}
	d := stableDeployment()
	base := []client.Object{d, replicaSet(d, "v1", 4), service(appName + "-stable"), service(appName + "-canary"), userRoute()}
	c := fake.NewClientBuilder().
		WithScheme(newScheme(t)).
		WithObjects(append(base, objs...)...).
		WithStatusSubresource(&slogatev1alpha1.Release{}, &appsv1.Deployment{}).
		WithIndex(&slogatev1alpha1.Release{}, DeploymentNameField, ReleaseDeploymentName).
		WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				if err := e.log("create", obj); err != nil {
					return err
				}
				return c.Create(ctx, obj, opts...)
			},
			Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
				if err := e.log("update", obj); err != nil {
					return err
				}
				return c.Update(ctx, obj, opts...)
			},
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
				if err := e.log("patch", obj); err != nil {
					return err
				}
				return c.Patch(ctx, obj, patch, opts...)
			},
			Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
				if err := e.log("delete", obj); err != nil {
					return err
				}
				return c.Delete(ctx, obj, opts...)
			},
			SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
				if err := e.log("status", obj); err != nil {
					return err
				}
				return c.SubResource(sub).Update(ctx, obj, opts...)
			},
		}).
		Build()
	e.c = c
	e.restart()
	return e
}

// restart builds a new reconciler over the same stored objects, as after a kill of the process.
func (e *env) restart() {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	e.r = &Reconciler{Client: e.c, APIReader: e.c, Recorder: e.rec, Gate: e.gate, Clock: e.clock, Metrics: m}
}

// log records a write by the reconciler; the simulated controllers write without logging.
func (e *env) log(verb string, obj client.Object) error {
	entry := verb + " " + kindOf(obj) + "/" + obj.GetName()
	if route, ok := obj.(*gatewayv1.HTTPRoute); ok {
		entry += " " + route.Annotations[slogatev1alpha1.RouteWeightsAnnotation]
	}
	if rel, ok := obj.(*slogatev1alpha1.Release); ok && verb == "status" {
		entry += fmt.Sprintf(" %s/%d/%d", rel.Status.Phase, rel.Status.StepIndex, rel.Status.CanaryWeight)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.refuse != nil {
		if err := e.refuse(entry); err != nil {
			return err
		}
	}
	if e.crashAt != nil && e.crashAt(entry) {
		e.crashAt = nil
		return errCrash
	}
	e.writes = append(e.writes, entry)
	return nil
}

var errCrash = apierrors.NewServiceUnavailable("the analyzer was killed")

func kindOf(obj runtime.Object) string {
	k := fmt.Sprintf("%T", obj)
	return k[strings.LastIndex(k, ".")+1:]
}

// unlogged is a client that writes without going through the write log (the simulated controllers
// and the user).
func (e *env) world() client.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	return worldClient{e.c, e}
}

type worldClient struct {
	client.Client
	e *env
}

func (w worldClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return w.e.silently(func() error { return w.Client.Update(ctx, obj, opts...) })
}
func (w worldClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return w.e.silently(func() error { return w.Client.Create(ctx, obj, opts...) })
}
func (w worldClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	return w.e.silently(func() error { return w.Client.Delete(ctx, obj, opts...) })
}

func (e *env) silently(f func() error) error {
	e.mu.Lock()
	n := len(e.writes)
	crash, refuse := e.crashAt, e.refuse
	e.crashAt, e.refuse = nil, nil
	e.mu.Unlock()
	err := f()
	e.mu.Lock()
	e.writes = e.writes[:n]
	e.crashAt, e.refuse = crash, refuse
	e.mu.Unlock()
	return err
}

func (e *env) mustGet(obj client.Object, name string) {
	e.t.Helper()
	if err := e.c.Get(e.t.Context(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		e.t.Fatalf("get %T %s: %v", obj, name, err)
	}
}

func (e *env) deployment() *appsv1.Deployment {
	d := &appsv1.Deployment{}
	e.mustGet(d, appName)
	return d
}

func (e *env) release(name string) *slogatev1alpha1.Release {
	r := &slogatev1alpha1.Release{}
	if err := e.c.Get(e.t.Context(), types.NamespacedName{Namespace: ns, Name: name}, r); err != nil {
		return nil
	}
	return r
}

func (e *env) route() *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{}
	e.mustGet(r, appName+"-route")
	return r
}

func (e *env) canary() *appsv1.Deployment {
	c := &appsv1.Deployment{}
	if err := e.c.Get(e.t.Context(), types.NamespacedName{Namespace: ns, Name: CanaryName(appName)}, c); err != nil {
		return nil
	}
	return c
}

// apply changes the Deployment's template as kubectl apply through the webhook would: a new
// template is held (paused, revision label, annotations); the stable template releases the hold.
func (e *env) apply(image string) {
	e.t.Helper()
	d := e.deployment()
	tmpl := template(image)
	if revision.Equal(&tmpl, &d.Spec.Template) {
		return
	}
	d.Generation++
	d.Spec.Template = tmpl
	stable := d.Annotations[slogatev1alpha1.StableRevisionAnnotation]
	if stable == "" {
		stable = revision.Of(&e.deployment().Spec.Template)
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	newRev := revision.Of(&tmpl)
	switch newRev {
	case stable:
		d.Spec.Paused = false
		delete(d.Annotations, slogatev1alpha1.StableRevisionAnnotation)
		delete(d.Annotations, slogatev1alpha1.CanaryRevisionAnnotation)
	case d.Annotations[slogatev1alpha1.FailedRevisionAnnotation]:
		delete(d.Annotations, slogatev1alpha1.CanaryRevisionAnnotation)
	default:
		d.Spec.Paused = true
		d.Annotations[slogatev1alpha1.StableRevisionAnnotation] = stable
		d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] = newRev
	}
	if err := e.world().Update(e.t.Context(), d); err != nil {
		e.t.Fatalf("applying %s: %v", image, err)
	}
}

// act sets the action annotation as kubectl slogate does.
func (e *env) act(action string) {
	e.t.Helper()
	d := e.deployment()
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[slogatev1alpha1.ActionAnnotation] = action
	if err := e.world().Update(e.t.Context(), d); err != nil {
		e.t.Fatalf("action %s: %v", action, err)
	}
}

// simulate plays the Deployment controller and the kubelet: canary pods become ready; an
// unpaused Deployment rolls to its template at once.
func (e *env) simulate() {
	ctx := e.t.Context()
	w := e.world()
	if c := e.canary(); c != nil && c.DeletionTimestamp == nil {
		n := *c.Spec.Replicas
		ready := n
		if !e.canaryReady {
			ready = 0
		}
		want := appsv1.DeploymentStatus{ObservedGeneration: c.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: ready, AvailableReplicas: ready}
		if e.canaryPodsRefused != "" {
			want = appsv1.DeploymentStatus{ObservedGeneration: c.Generation, Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: e.canaryPodsRefused,
			}}}
		}
		if !equality.Semantic.DeepEqual(c.Status, want) {
			c.Status = want
			if err := e.silently(func() error { return w.Status().Update(ctx, c) }); err != nil && !apierrors.IsConflict(err) {
				e.t.Fatalf("canary status: %v", err)
			}
		}
	}
	d := &appsv1.Deployment{}
	if err := e.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: appName}, d); err != nil || d.Spec.Paused {
		return
	}
	var rsList appsv1.ReplicaSetList
	if err := w.List(ctx, &rsList, client.InNamespace(ns)); err != nil {
		e.t.Fatal(err)
	}
	cur := revision.Of(&d.Spec.Template)
	found := false
	for i := range rsList.Items {
		rs := &rsList.Items[i]
		if replicaSetRevision(rs) == cur {
			found = true
			if *rs.Spec.Replicas != *d.Spec.Replicas {
				rs.Spec.Replicas = d.Spec.Replicas
				rs.Status = appsv1.ReplicaSetStatus{Replicas: *d.Spec.Replicas, ReadyReplicas: *d.Spec.Replicas, AvailableReplicas: *d.Spec.Replicas}
				_ = w.Update(ctx, rs)
			}
		} else if *rs.Spec.Replicas != 0 {
			rs.Spec.Replicas = ptr(int32(0))
			rs.Status = appsv1.ReplicaSetStatus{}
			_ = w.Update(ctx, rs)
		}
	}
	if !found {
		image := strings.TrimPrefix(d.Spec.Template.Spec.Containers[0].Image, "ghcr.io/example/payments-api:")
		if err := w.Create(ctx, replicaSet(d, image, *d.Spec.Replicas)); err != nil {
			e.t.Fatal(err)
		}
	}
	n := *d.Spec.Replicas
	want := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	if !equality.Semantic.DeepEqual(d.Status, want) {
		d.Status = want
		if err := e.silently(func() error { return w.Status().Update(ctx, d) }); err != nil && !apierrors.IsConflict(err) {
			e.t.Fatalf("deployment status: %v", err)
		}
	}
}

// step runs one reconcile, the simulated controllers, and moves the clock to the requeue time.
func (e *env) step() (ctrl.Result, error) {
	res, err := e.r.Reconcile(e.t.Context(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: appName}})
	e.checkInvariants()
	e.simulate()
	wait := res.RequeueAfter
	if wait <= 0 || wait > 10*time.Second {
		wait = time.Second
	}
	if err != nil {
		wait = time.Second
	}
	e.clock.SetTime(e.clock.Now().Add(wait))
	return res, err
}

// mustRunUntil reconciles until cond holds; every error fails the test unless allowErr.
func (e *env) mustRunUntil(what string, cond func() bool) {
	e.t.Helper()
	for range 400 {
		if cond() {
			return
		}
		if _, err := e.step(); err != nil {
			if errors.Is(err, errCrash) || strings.Contains(err.Error(), errCrash.Error()) {
				e.t.Logf("killed at write %d; restarting the analyzer", len(e.writes))
				e.restart()
				continue
			}
			e.t.Fatalf("reconcile while waiting for %s: %v", what, err)
		}
	}
	e.t.Fatalf("never reached: %s\nwrites:\n%s\nevents:\n%s", what, strings.Join(e.writes, "\n"), strings.Join(e.rec.events, "\n"))
}

func (e *env) phaseIs(name string, p slogatev1alpha1.ReleasePhase) func() bool {
	return func() bool {
		r := e.release(name)
		return r != nil && r.Status.Phase == p
	}
}

func (e *env) completed(name string, p slogatev1alpha1.ReleasePhase) func() bool {
	return func() bool {
		r := e.release(name)
		return r != nil && r.Status.Phase == p && meta.IsStatusConditionTrue(r.Status.Conditions, slogatev1alpha1.ConditionCompleted)
	}
}

func (e *env) atStep(name string, step int32) func() bool {
	return func() bool {
		r := e.release(name)
		return r != nil && r.Status.StepIndex >= step && !r.Status.Phase.IsTerminal()
	}
}

// routeWeights lists the weights annotation values of every route write, in order.
func (e *env) routeWrites() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, w := range e.writes {
		if strings.Contains(w, "HTTPRoute/") {
			out = append(out, strings.TrimSpace(w[strings.Index(w, "HTTPRoute/")+len("HTTPRoute/"+appName+"-route"):]))
		}
	}
	return out
}

// writesSince returns the writes after the n-th.
func (e *env) writesSince(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.writes[n:])
}

func releaseOf(image string) string { return slogatev1alpha1.ReleaseName(appName, rev(image)) }

// checkInvariants fails the test when, after a reconcile, a Deployment is held without a live
// Release naming its canary revision, or the route sends traffic to a canary that is gone.
func (e *env) checkInvariants() {
	e.t.Helper()
	d := &appsv1.Deployment{}
	if err := e.c.Get(e.t.Context(), types.NamespacedName{Namespace: ns, Name: appName}, d); err == nil {
		c := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
		if d.Spec.Paused && c != "" && c != d.Annotations[slogatev1alpha1.FailedRevisionAnnotation] {
			rel := e.release(slogatev1alpha1.ReleaseName(appName, c))
			if rel == nil && e.releaseGap {
				e.releaseGap = false
			} else if rel == nil {
				e.t.Fatalf("invariant: Deployment held for %s without a Release", c)
			}
		}
	}
	route := &gatewayv1.HTTPRoute{}
	if err := e.c.Get(e.t.Context(), types.NamespacedName{Namespace: ns, Name: appName + "-route"}, route); err != nil {
		return
	}
	for _, rule := range route.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			if string(ref.Name) == appName+"-canary" && ref.Weight != nil && *ref.Weight > 0 {
				if c := e.canary(); c == nil || c.DeletionTimestamp != nil {
					e.t.Fatalf("invariant: %d %% of traffic on a canary that is gone", *ref.Weight)
				}
			}
		}
	}
}
