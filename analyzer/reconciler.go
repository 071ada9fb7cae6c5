package analyzer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/gate"
	"github.com/slogate/slogate/analyzer/machine"
	"github.com/slogate/slogate/analyzer/policy"
	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// DeploymentNameField indexes Releases by spec.deploymentName.
const DeploymentNameField = "spec.deploymentName"

// EventRecorder records events (k8s.io/client-go/tools/events.EventRecorder).
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// Reconciler runs the releases of Deployments. It is keyed by Deployment.
type Reconciler struct {
	// Client reads through the cache and writes.
	Client client.Client
	// APIReader reads from the API server (Deployment, Release, routes, canary before a write).
	APIReader client.Reader
	// Recorder records events on Deployments and Releases.
	Recorder EventRecorder
	// Gate judges analysis steps.
	Gate gate.Gate
	// Clock is the time source (clock.RealClock in production).
	Clock clock.PassiveClock
	// Metrics are updated after each reconcile; nil disables them.
	Metrics *Metrics
	// Concurrency is how many Deployments are reconciled at once (1 when 0). The releases of one
	// Deployment are never reconciled concurrently.
	Concurrency int
}

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=slogate.io,resources=releases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=slogate.io,resources=releases/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=slogate.io,resources=releases/finalizers,verbs=update
// +kubebuilder:rbac:groups=slogate.io,resources=rolloutpolicies;clusterrolloutpolicies;analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// Reconcile runs one step of the release of the Deployment req names.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := r.Clock.Now()
	res, err := r.reconcile(ctx, req)
	if r.Metrics != nil {
		r.Metrics.reconcileSeconds.Observe(r.Clock.Since(start).Seconds())
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		// Someone (or a stale cache) moved the object: look again now.
		ctrl.LoggerFrom(ctx).V(1).Info("write conflict, looking again", "error", err.Error())
		return ctrl.Result{RequeueAfter: 50 * time.Millisecond}, nil
	}
	return res, err
}

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	deploy, err := getOptional[*appsv1.Deployment](ctx, r.APIReader, req.NamespacedName, &appsv1.Deployment{})
	if err != nil {
		return ctrl.Result{}, err
	}
	var list slogatev1alpha1.ReleaseList
	if err := r.Client.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingFields{DeploymentNameField: req.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Releases: %w", err)
	}
	d := observeDeployment(deploy)
	plan := machine.Select(req.Name, d, list.Items)
	if len(plan.Actions) > 0 {
		a := &applier{r: r, deploy: deploy}
		if err := a.apply(ctx, plan.Actions); err != nil {
			return ctrl.Result{}, err
		}
	}
	if plan.Replace != "" {
		if err := r.replaceRelease(ctx, deploy, d, plan.Replace); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if plan.Create != "" {
		if err := r.createRelease(ctx, deploy, plan.Create); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if plan.Drive == "" {
		return ctrl.Result{}, nil
	}
	rel := &slogatev1alpha1.Release{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: plan.Drive}, rel); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctx = ctrl.LoggerInto(ctx, log.WithValues("release", klog.KObj(rel)))
	obs, err := r.observe(ctx, deploy, rel, plan.Blocked)
	if err != nil {
		return ctrl.Result{}, err
	}
	next := machine.Next(rel, obs)
	if next.NeedAnalysis {
		obs.Gate = r.analyze(ctx, rel, obs.Now)
		next = machine.Next(rel, obs)
	}
	before := rel.Status.DeepCopy()
	a := &applier{r: r, deploy: deploy, rel: rel, status: next.Status}
	err = a.apply(ctx, next.Actions)
	if cw := (*canaryWriteError)(nil); errors.As(err, &cw) {
		// The machine decides what a failed canary write means for the release (a refusal rolls
		// back, anything else is tried again until canaryReadyTimeout); the error goes no further,
		// so that controller-runtime's backoff cannot delay that deadline.
		ctrl.LoggerFrom(ctx).Info("writing the canary Deployment failed", "error", cw.Error())
		obs.CanaryWrite = cw.observation()
		next = machine.Next(rel, obs)
		a = &applier{r: r, deploy: deploy, rel: rel, status: next.Status}
		err = a.apply(ctx, next.Actions)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.Metrics != nil {
		r.Metrics.observe(rel.Namespace, rel.Name, before, &next.Status)
	}
	if next.Status.Phase != before.Phase || next.Status.StepIndex != before.StepIndex || next.Status.Reason != before.Reason {
		ctrl.LoggerFrom(ctx).Info("release moved", "phase", next.Status.Phase, "step", next.Status.StepIndex,
			"weight", next.Status.CanaryWeight, "reason", next.Status.Reason)
	}
	return ctrl.Result{RequeueAfter: next.RequeueAfter}, nil
}

// analyze calls the gate for the release's current analysis step.
func (r *Reconciler) analyze(ctx context.Context, rel *slogatev1alpha1.Release, now time.Time) *machine.GateAnswer {
	i := int(rel.Status.StepIndex)
	if i >= len(rel.Spec.Steps) || rel.Spec.Steps[i].Analysis == nil {
		return &machine.GateAnswer{Err: fmt.Errorf("step %d is not an analysis", i)}
	}
	if r.Gate == nil {
		return &machine.GateAnswer{Err: errors.New("no analysis gate is configured")}
	}
	res, err := r.Gate.Analyze(ctx, gate.Request{Release: rel.DeepCopy(), Step: rel.Spec.Steps[i].Analysis, Now: now})
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("analysis could not run", "step", i, "error", err.Error())
	}
	return &machine.GateAnswer{Result: res, Err: err}
}

// createRelease creates the Release that explains a held Deployment.
func (r *Reconciler) createRelease(ctx context.Context, d *appsv1.Deployment, name string) error {
	local, cluster, err := r.policies(ctx, d.Namespace)
	if err != nil {
		return err
	}
	pol := policy.Resolve(d, local, cluster)
	stable := d.Annotations[slogatev1alpha1.StableRevisionAnnotation]
	if stable == "" {
		stable, err = r.guessStable(ctx, d)
		if err != nil {
			return err
		}
	}
	routes, err := r.findRoutes(ctx, d.Namespace, pol.Spec)
	if err != nil {
		return err
	}
	rel := &slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name:       name,
			Namespace:  d.Namespace,
			Labels:     map[string]string{slogatev1alpha1.ManagedByLabel: slogatev1alpha1.ManagedByValue},
			Finalizers: []string{machine.Finalizer},
		},
		Spec: slogatev1alpha1.ReleaseSpec{
			DeploymentName: d.Name,
			StableRevision: stable,
			CanaryRevision: d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
			Policy:         pol.Name,
			Steps:          pol.Spec.Steps,
			StableService:  pol.Spec.StableService,
			CanaryService:  pol.Spec.CanaryService,
			HTTPRoutes:     routes,
		},
	}
	if err := controllerutil.SetOwnerReference(d, rel, r.Client.Scheme()); err != nil {
		return fmt.Errorf("owning the Release: %w", err)
	}
	if err := r.Client.Create(ctx, rel); err != nil {
		return fmt.Errorf("creating Release %s: %w", name, err)
	}
	ctrl.LoggerFrom(ctx).Info("created Release", "release", klog.KObj(rel), "policy", pol.Name, "routes", routes)
	r.event(d, rel, machine.Event{Reason: "ReleaseCreated", Message: fmt.Sprintf(
		"release %s of revision %s (stable %s) under policy %s, routes %v", name, rel.Spec.CanaryRevision, stable, pol.Name, routes)})
	return nil
}

// replaceRelease deletes a Release that ended and no longer describes the Deployment's hold (its
// revision applied again over another stable revision), and creates the release afresh: new spec
// (policy, routes, stable revision) and empty status. The old one is checked again on a fresh read
// and deleted only in the version that was checked.
func (r *Reconciler) replaceRelease(ctx context.Context, deploy *appsv1.Deployment, d machine.Deployment, name string) error {
	old, err := getOptional[*slogatev1alpha1.Release](ctx, r.APIReader, client.ObjectKey{Namespace: deploy.Namespace, Name: name}, &slogatev1alpha1.Release{})
	if err != nil {
		return err
	}
	if old != nil {
		if machine.Live(old) || old.DeletionTimestamp != nil || !machine.Stale(old, d) {
			// The cache was behind; the next reconcile decides on what is there now.
			return nil
		}
		err := r.Client.Delete(ctx, old, client.Preconditions{UID: &old.UID, ResourceVersion: &old.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Release %s: %w", name, err)
		}
		ctrl.LoggerFrom(ctx).Info("replacing a Release that ended under other revisions", "release", klog.KObj(old),
			"phase", old.Status.Phase, "oldStable", old.Spec.StableRevision, "stable", d.Stable)
		r.event(deploy, nil, machine.Event{Reason: ReasonReleaseReplaced, Message: fmt.Sprintf(
			"release %s of revision %s ended %s with stable revision %s; the revision is held again over stable revision %s: a new release replaces it",
			name, old.Spec.CanaryRevision, old.Status.Phase, old.Spec.StableRevision, d.Stable)})
	}
	return r.createRelease(ctx, deploy, name)
}

// ReasonReleaseReplaced is the reason of the event that says a Release was replaced.
const ReasonReleaseReplaced = "ReleaseReplaced"

// guessStable finds the stable revision of a held Deployment whose annotation is missing: the
// revision of its largest ReplicaSet that is not the canary.
func (r *Reconciler) guessStable(ctx context.Context, d *appsv1.Deployment) (string, error) {
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(d.Namespace)); err != nil {
		return "", fmt.Errorf("listing ReplicaSets: %w", err)
	}
	canary := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	best, size := "", int32(-1)
	for i := range list.Items {
		rs := &list.Items[i]
		if owner := metav1.GetControllerOf(rs); owner == nil || owner.UID != d.UID {
			continue
		}
		rev := replicaSetRevision(rs)
		if rev == canary || rs.Spec.Replicas == nil {
			continue
		}
		if *rs.Spec.Replicas > size {
			best, size = rev, *rs.Spec.Replicas
		}
	}
	return best, nil
}

// findRoutes returns the routes of a release: the policy's, or every route of the namespace with a
// rule naming the stable Service.
func (r *Reconciler) findRoutes(ctx context.Context, ns string, spec slogatev1alpha1.RolloutPolicySpec) ([]string, error) {
	if name := policy.RouteName(spec); name != "" {
		return []string{name}, nil
	}
	var list gatewayv1.HTTPRouteList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing HTTPRoutes: %w", err)
	}
	var names []string
	for i := range list.Items {
		if traffic.NamesService(&list.Items[i], spec.StableService) {
			names = append(names, list.Items[i].Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// event records an event on the Deployment and on the Release.
func (r *Reconciler) event(d *appsv1.Deployment, rel *slogatev1alpha1.Release, e machine.Event) {
	if r.Recorder == nil {
		return
	}
	typ := corev1.EventTypeNormal
	if e.Warning {
		typ = corev1.EventTypeWarning
	}
	var related runtime.Object
	if rel != nil {
		related = rel
	}
	if d != nil {
		r.Recorder.Eventf(d, related, typ, e.Reason, "Release", "%s", e.Message)
	}
	if rel != nil {
		var relatedD runtime.Object
		if d != nil {
			relatedD = d
		}
		r.Recorder.Eventf(rel, relatedD, typ, e.Reason, "Release", "%s", e.Message)
	}
}
