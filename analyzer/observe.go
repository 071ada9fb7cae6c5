package analyzer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/machine"
	"github.com/slogate/slogate/analyzer/policy"
	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// CanaryName is the name of the canary Deployment of a Deployment.
func CanaryName(deployment string) string { return deployment + "-canary" }

// observeDeployment distils the user's Deployment; d is nil when it does not exist.
func observeDeployment(d *appsv1.Deployment) machine.Deployment {
	if d == nil || d.DeletionTimestamp != nil {
		return machine.Deployment{}
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	a := d.Annotations
	return machine.Deployment{
		Exists:             true,
		Generation:         d.Generation,
		Paused:             d.Spec.Paused,
		Revision:           revision.Of(&d.Spec.Template),
		Stable:             a[slogatev1alpha1.StableRevisionAnnotation],
		Canary:             a[slogatev1alpha1.CanaryRevisionAnnotation],
		Failed:             a[slogatev1alpha1.FailedRevisionAnnotation],
		Action:             a[slogatev1alpha1.ActionAnnotation],
		Replicas:           replicas,
		ObservedGeneration: d.Status.ObservedGeneration,
		StatusReplicas:     d.Status.Replicas,
		UpdatedReplicas:    d.Status.UpdatedReplicas,
		AvailableReplicas:  d.Status.AvailableReplicas,
	}
}

// replicaSetOf is the ReplicaSet of one revision: its pod-template-hash and ready pods.
type replicaSetOf struct {
	hash  string
	ready int32
}

// replicaSetRevisions maps the slogate revision of each ReplicaSet the Deployment controls to its
// pod-template-hash and ready pods; for a revision with several ReplicaSets, the one with the most
// replicas.
func (r *Reconciler) replicaSetRevisions(ctx context.Context, d *appsv1.Deployment) (map[string]replicaSetOf, error) {
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(d.Namespace)); err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	out := map[string]replicaSetOf{}
	size := map[string]int32{}
	for i := range list.Items {
		rs := &list.Items[i]
		owner := metav1.GetControllerOf(rs)
		if owner == nil || owner.UID != d.UID || rs.DeletionTimestamp != nil {
			continue
		}
		hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		if hash == "" {
			continue
		}
		rev := replicaSetRevision(rs)
		n := int32(0)
		if rs.Spec.Replicas != nil {
			n = *rs.Spec.Replicas
		}
		if old, ok := size[rev]; !ok || n > old {
			out[rev], size[rev] = replicaSetOf{hash: hash, ready: rs.Status.ReadyReplicas}, n
		}
	}
	return out, nil
}

// replicaSetRevision is the slogate revision of a ReplicaSet's template: the Deployment controller
// adds pod-template-hash to it, which the Deployment's template does not have.
func replicaSetRevision(rs *appsv1.ReplicaSet) string {
	t := rs.Spec.Template.DeepCopy()
	delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	return revision.Of(t)
}

func observeCanary(c *appsv1.Deployment) machine.Canary {
	if c == nil {
		return machine.Canary{}
	}
	o := machine.Canary{
		Exists:   true,
		Managed:  machine.IsManaged(c.Labels),
		Revision: revision.Of(&c.Spec.Template),
		Replicas: 1,
		Deleting: c.DeletionTimestamp != nil,
	}
	if owner := metav1.GetControllerOf(c); owner != nil && owner.Kind == "Release" {
		o.Release = owner.Name
	}
	if c.Spec.Replicas != nil {
		o.Replicas = *c.Spec.Replicas
	}
	if c.Status.ObservedGeneration >= c.Generation {
		o.Ready = min(c.Status.UpdatedReplicas, c.Status.ReadyReplicas)
	}
	for _, cond := range c.Status.Conditions {
		if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue && cond.Reason == failedCreateReason {
			o.PodsRefused = cond.Message
		}
	}
	return o
}

// failedCreateReason is the reason of the ReplicaFailure condition the Deployment controller copies
// from its ReplicaSet when pods cannot be created (admission refused them, quota, ...).
const failedCreateReason = "FailedCreate"

// pinKeys are the selector keys a Service's pin annotation lists.
func pinKeys(svc *corev1.Service) []string {
	v := svc.Annotations[slogatev1alpha1.StablePinAnnotation]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// observePin returns the pin of key on a Service, zero when the Service does not record one.
func observePin(svc *corev1.Service, key string) machine.Pin {
	if svc == nil || !slices.Contains(pinKeys(svc), key) {
		return machine.Pin{}
	}
	v, ok := svc.Spec.Selector[key]
	if !ok {
		return machine.Pin{}
	}
	return machine.Pin{Key: key, Value: v}
}

// observe reads what the machine needs for one release.
func (r *Reconciler) observe(ctx context.Context, d *appsv1.Deployment, rel *slogatev1alpha1.Release, blocked string) (machine.Observations, error) {
	o := machine.Observations{
		Now:             r.Clock.Now(),
		Deployment:      observeDeployment(d),
		Blocked:         blocked,
		ReleaseDeleting: rel.DeletionTimestamp != nil,
	}
	ns := rel.Namespace
	if d != nil {
		revs, err := r.replicaSetRevisions(ctx, d)
		if err != nil {
			return o, err
		}
		o.Deployment.StableHash = revs[rel.Spec.StableRevision].hash
		o.Deployment.StableReady = revs[rel.Spec.StableRevision].ready
		o.Deployment.CanaryHash = revs[rel.Spec.CanaryRevision].hash
	}

	canary, err := getOptional[*appsv1.Deployment](ctx, r.Client, types.NamespacedName{Namespace: ns, Name: CanaryName(rel.Spec.DeploymentName)}, &appsv1.Deployment{})
	if err != nil {
		return o, err
	}
	o.Canary = observeCanary(canary)

	stable, err := getOptional[*corev1.Service](ctx, r.Client, types.NamespacedName{Namespace: ns, Name: rel.Spec.StableService}, &corev1.Service{})
	if err != nil {
		return o, err
	}
	canarySvc, err := getOptional[*corev1.Service](ctx, r.Client, types.NamespacedName{Namespace: ns, Name: rel.Spec.CanaryService}, &corev1.Service{})
	if err != nil {
		return o, err
	}
	o.Services = machine.Services{
		StableExists: stable != nil,
		CanaryExists: canarySvc != nil,
		StablePin:    observePin(stable, machine.StableHashKey),
		CanaryPin:    observePin(canarySvc, slogatev1alpha1.RevisionLabel),
	}

	backends := traffic.Backends{Stable: rel.Spec.StableService, Canary: rel.Spec.CanaryService}
	for _, name := range rel.Spec.HTTPRoutes {
		route, err := getOptional[*gatewayv1.HTTPRoute](ctx, r.APIReader, types.NamespacedName{Namespace: ns, Name: name}, &gatewayv1.HTTPRoute{})
		if err != nil {
			return o, err
		}
		rt := machine.Route{Name: name, Exists: route != nil}
		if route != nil {
			rt.Observed = traffic.Observe(route, backends)
		}
		o.Routes = append(o.Routes, rt)
	}

	pol, err := r.lookupPolicy(ctx, rel)
	if err != nil {
		return o, err
	}
	t := pol.Timeouts()
	o.Timeouts = machine.Timeouts{CanaryReady: t.CanaryReady, Analysis: t.Analysis, Promotion: t.Promotion}
	return o, nil
}

func (r *Reconciler) policies(ctx context.Context, ns string) ([]slogatev1alpha1.RolloutPolicy, []slogatev1alpha1.ClusterRolloutPolicy, error) {
	var local slogatev1alpha1.RolloutPolicyList
	if err := r.Client.List(ctx, &local, client.InNamespace(ns)); err != nil {
		return nil, nil, fmt.Errorf("listing RolloutPolicies: %w", err)
	}
	var cluster slogatev1alpha1.ClusterRolloutPolicyList
	if err := r.Client.List(ctx, &cluster); err != nil {
		return nil, nil, fmt.Errorf("listing ClusterRolloutPolicies: %w", err)
	}
	return local.Items, cluster.Items, nil
}

func (r *Reconciler) lookupPolicy(ctx context.Context, rel *slogatev1alpha1.Release) (policy.Resolved, error) {
	local, cluster, err := r.policies(ctx, rel.Namespace)
	if err != nil {
		return policy.Resolved{}, err
	}
	return policy.Lookup(rel.Spec.Policy, rel.Spec.DeploymentName, local, cluster), nil
}

// getOptional gets an object, returning nil when it does not exist.
func getOptional[T client.Object](ctx context.Context, c client.Reader, key types.NamespacedName, obj T) (T, error) {
	var zero T
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return zero, nil
		}
		return zero, fmt.Errorf("getting %T %s: %w", obj, key, err)
	}
	return obj, nil
}
