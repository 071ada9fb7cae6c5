package analyzer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/machine"
	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// applier applies the machine's actions for one release.
type applier struct {
	r      *Reconciler
	deploy *appsv1.Deployment       // nil when gone
	rel    *slogatev1alpha1.Release // nil for Deployment-level actions
	status slogatev1alpha1.ReleaseStatus
}

func (a *applier) apply(ctx context.Context, actions []machine.Action) error {
	for _, act := range actions {
		if err := a.one(ctx, act); err != nil {
			return fmt.Errorf("%T: %w", act, err)
		}
	}
	return nil
}

func (a *applier) one(ctx context.Context, act machine.Action) error {
	log := ctrl.LoggerFrom(ctx)
	switch act := act.(type) {
	case machine.WriteStatus:
		a.rel.Status = a.status
		return a.r.Client.Status().Update(ctx, a.rel)
	case machine.AddFinalizer:
		return a.patchRelease(ctx, func(rel *slogatev1alpha1.Release) { controllerutil.AddFinalizer(rel, machine.Finalizer) })
	case machine.RemoveFinalizer:
		if !controllerutil.ContainsFinalizer(a.rel, machine.Finalizer) {
			return nil
		}
		return a.patchRelease(ctx, func(rel *slogatev1alpha1.Release) { controllerutil.RemoveFinalizer(rel, machine.Finalizer) })
	case machine.EnsureCanary:
		err := a.ensureCanary(ctx, act.Replicas)
		if err == nil || apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			return err
		}
		return &canaryWriteError{err: err}
	case machine.DeleteCanary:
		return a.deleteCanary(ctx)
	case machine.PinService:
		return a.pin(ctx, act.Service, act.Pin)
	case machine.UnpinService:
		return a.unpin(ctx, act.Service)
	case machine.SetWeights:
		return a.routes(ctx, func(route *gatewayv1.HTTPRoute, b traffic.Backends) (bool, error) {
			changed, err := traffic.SetWeights(route, b, act.Canary)
			if errors.Is(err, traffic.ErrNoStableBackend) && act.Canary == 0 {
				// Nothing to take off a route that no longer names the stable Service.
				return false, nil
			}
			return changed, err
		}, "canaryWeight", act.Canary)
	case machine.RestoreRoutes:
		return a.routes(ctx, func(route *gatewayv1.HTTPRoute, b traffic.Backends) (bool, error) {
			return traffic.Restore(route, b), nil
		}, "restore", true)
	case machine.UnpauseDeployment:
		return a.patchDeployment(ctx, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	case machine.PatchDeployment:
		return a.patchDeployment(ctx, func(d *appsv1.Deployment) {
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			maps.Copy(d.Annotations, act.Set)
			for _, k := range act.Remove {
				delete(d.Annotations, k)
			}
		})
	case machine.Event:
		a.r.event(a.deploy, a.rel, act)
		return nil
	default:
		log.Error(nil, "unknown action", "action", fmt.Sprintf("%T", act))
		return nil
	}
}

func (a *applier) patchRelease(ctx context.Context, mutate func(*slogatev1alpha1.Release)) error {
	base := a.rel.DeepCopy()
	mutate(a.rel)
	return a.r.Client.Patch(ctx, a.rel, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

func (a *applier) patchDeployment(ctx context.Context, mutate func(*appsv1.Deployment)) error {
	if a.deploy == nil {
		return nil
	}
	base := a.deploy.DeepCopy()
	mutate(a.deploy)
	return a.r.Client.Patch(ctx, a.deploy, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// canaryWriteError is a failed create or scale of the canary Deployment, other than a conflict: the
// machine decides what the release does about it (machine.Observations.CanaryWrite).
type canaryWriteError struct{ err error }

func (e *canaryWriteError) Error() string { return e.err.Error() }
func (e *canaryWriteError) Unwrap() error { return e.err }

// observation is what the machine is told of the failure: a refusal when the API refused the object
// itself (admission or validation), which writing it again would not change.
func (e *canaryWriteError) observation() *machine.CanaryWrite {
	return &machine.CanaryWrite{
		Refused: apierrors.IsForbidden(e.err) || apierrors.IsInvalid(e.err),
		Message: e.err.Error(),
	}
}

// buildCanary makes the canary Deployment of a release.
func buildCanary(d *appsv1.Deployment, rel *slogatev1alpha1.Release, replicas int32) *appsv1.Deployment {
	tmpl := d.Spec.Template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[slogatev1alpha1.RevisionLabel] = rel.Spec.CanaryRevision
	tmpl.Labels[slogatev1alpha1.RoleLabel] = slogatev1alpha1.RoleCanary

	sel := d.Spec.Selector.DeepCopy()
	if sel == nil {
		sel = &metav1.LabelSelector{}
	}
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[slogatev1alpha1.RevisionLabel] = rel.Spec.CanaryRevision
	sel.MatchLabels[slogatev1alpha1.RoleLabel] = slogatev1alpha1.RoleCanary

	labels := maps.Clone(d.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[slogatev1alpha1.RoleLabel] = slogatev1alpha1.RoleCanary
	labels[slogatev1alpha1.ManagedByLabel] = slogatev1alpha1.ManagedByValue

	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name:      CanaryName(d.Name),
			Namespace: d.Namespace,
			Labels:    labels,
		},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			Selector:                sel,
			Template:                *tmpl,
			Strategy:                *d.Spec.Strategy.DeepCopy(),
			MinReadySeconds:         d.Spec.MinReadySeconds,
			ProgressDeadlineSeconds: d.Spec.ProgressDeadlineSeconds,
			RevisionHistoryLimit:    ptr(int32(0)),
		},
	}
}

func (a *applier) ensureCanary(ctx context.Context, replicas int32) error {
	if a.deploy == nil {
		return errors.New("the Deployment is gone")
	}
	key := types.NamespacedName{Namespace: a.rel.Namespace, Name: CanaryName(a.deploy.Name)}
	var existing appsv1.Deployment
	err := a.r.APIReader.Get(ctx, key, &existing)
	switch {
	case apierrors.IsNotFound(err):
		c := buildCanary(a.deploy, a.rel, replicas)
		if err := controllerutil.SetControllerReference(a.rel, c, a.r.Client.Scheme()); err != nil {
			return fmt.Errorf("owning the canary: %w", err)
		}
		ctrl.LoggerFrom(ctx).Info("creating canary Deployment", "canary", klog.KObj(c), "replicas", replicas)
		return a.r.Client.Create(ctx, c)
	case err != nil:
		return err
	}
	if !machine.IsManaged(existing.Labels) {
		return fmt.Errorf("the Deployment %s is not managed by slogate", key)
	}
	if existing.Spec.Replicas != nil && *existing.Spec.Replicas == replicas {
		return nil
	}
	base := existing.DeepCopy()
	existing.Spec.Replicas = &replicas
	return a.r.Client.Patch(ctx, &existing, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

func (a *applier) deleteCanary(ctx context.Context) error {
	key := types.NamespacedName{Namespace: a.rel.Namespace, Name: CanaryName(a.rel.Spec.DeploymentName)}
	var existing appsv1.Deployment
	if err := a.r.APIReader.Get(ctx, key, &existing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !machine.IsManaged(existing.Labels) {
		return fmt.Errorf("the Deployment %s is not managed by slogate", key)
	}
	err := a.r.Client.Delete(ctx, &existing,
		client.PropagationPolicy(metav1.DeletePropagationForeground),
		client.Preconditions{UID: &existing.UID})
	return client.IgnoreNotFound(err)
}

func (a *applier) service(w machine.Which) string {
	if w == machine.CanaryService {
		return a.rel.Spec.CanaryService
	}
	return a.rel.Spec.StableService
}

func (a *applier) pin(ctx context.Context, w machine.Which, p machine.Pin) error {
	return a.patchService(ctx, a.service(w), func(svc *corev1.Service) {
		if svc.Spec.Selector == nil {
			svc.Spec.Selector = map[string]string{}
		}
		svc.Spec.Selector[p.Key] = p.Value
		keys := pinKeys(svc)
		if !slices.Contains(keys, p.Key) {
			keys = append(keys, p.Key)
		}
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[slogatev1alpha1.StablePinAnnotation] = strings.Join(keys, ",")
	})
}

func (a *applier) unpin(ctx context.Context, w machine.Which) error {
	return a.patchService(ctx, a.service(w), func(svc *corev1.Service) {
		for _, k := range pinKeys(svc) {
			delete(svc.Spec.Selector, k)
		}
		delete(svc.Annotations, slogatev1alpha1.StablePinAnnotation)
	})
}

func (a *applier) patchService(ctx context.Context, name string, mutate func(*corev1.Service)) error {
	var svc corev1.Service
	if err := a.r.Client.Get(ctx, types.NamespacedName{Namespace: a.rel.Namespace, Name: name}, &svc); err != nil {
		return client.IgnoreNotFound(err)
	}
	base := svc.DeepCopy()
	mutate(&svc)
	return a.r.Client.Patch(ctx, &svc, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// routes edits every route of the release, one update each, from a fresh read.
func (a *applier) routes(ctx context.Context, edit func(*gatewayv1.HTTPRoute, traffic.Backends) (bool, error), kv ...any) error {
	b := traffic.Backends{Stable: a.rel.Spec.StableService, Canary: a.rel.Spec.CanaryService}
	for _, name := range a.rel.Spec.HTTPRoutes {
		var route gatewayv1.HTTPRoute
		if err := a.r.APIReader.Get(ctx, types.NamespacedName{Namespace: a.rel.Namespace, Name: name}, &route); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		changed, err := edit(&route, b)
		if err != nil {
			return fmt.Errorf("HTTPRoute %s: %w", name, err)
		}
		if !changed {
			continue
		}
		if err := a.r.Client.Update(ctx, &route); err != nil {
			return fmt.Errorf("updating HTTPRoute %s: %w", name, err)
		}
		ctrl.LoggerFrom(ctx).Info("updated HTTPRoute", append([]any{"route", klog.KObj(&route)}, kv...)...)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
