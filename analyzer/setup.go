package analyzer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer/machine"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// IndexReleases registers the DeploymentNameField index of Releases.
func IndexReleases(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &slogatev1alpha1.Release{}, DeploymentNameField, ReleaseDeploymentName)
}

// ReleaseDeploymentName is the index function of DeploymentNameField.
func ReleaseDeploymentName(o client.Object) []string {
	rel, ok := o.(*slogatev1alpha1.Release)
	if !ok || rel.Spec.DeploymentName == "" {
		return nil
	}
	return []string{rel.Spec.DeploymentName}
}

// SetupWithManager registers the reconciler: it watches Deployments that carry slogate's
// annotations (and canary Deployments, mapped to their Deployment), Releases, and HTTPRoutes that
// belong to a live release when the Gateway API is installed.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := IndexReleases(ctx, mgr); err != nil {
		return fmt.Errorf("indexing Releases: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("release").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(deploymentToRequest),
			builder.WithPredicates(deploymentPredicate())).
		Watches(&slogatev1alpha1.Release{}, handler.EnqueueRequestsFromMapFunc(releaseToRequest))
	if _, err := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: gatewayv1.GroupVersion.Group, Kind: "HTTPRoute"}, gatewayv1.GroupVersion.Version); err == nil {
		b = b.Watches(&gatewayv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(r.routeToRequests))
	} else if !meta.IsNoMatchError(err) {
		return fmt.Errorf("looking up HTTPRoute: %w", err)
	} else {
		mgr.GetLogger().Info("the Gateway API is not installed: route changes are not watched")
	}
	return b.Complete(r)
}

// relevant reports whether a Deployment carries any of slogate's release annotations.
func relevant(o client.Object) bool {
	a := o.GetAnnotations()
	for _, k := range []string{slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation,
		slogatev1alpha1.FailedRevisionAnnotation, slogatev1alpha1.ActionAnnotation} {
		if _, ok := a[k]; ok {
			return true
		}
	}
	return isCanary(o)
}

func isCanary(o client.Object) bool {
	return machine.IsManaged(o.GetLabels()) && strings.HasSuffix(o.GetName(), "-canary")
}

// deploymentPredicate passes Deployments that take part in a release, before or after the change.
func deploymentPredicate() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return relevant(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return relevant(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return relevant(e.ObjectOld) || relevant(e.ObjectNew) },
		GenericFunc: func(e event.GenericEvent) bool { return relevant(e.Object) },
	}
}

func deploymentToRequest(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetName()
	if isCanary(o) {
		name = strings.TrimSuffix(name, "-canary")
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

func releaseToRequest(_ context.Context, o client.Object) []reconcile.Request {
	rel, ok := o.(*slogatev1alpha1.Release)
	if !ok || rel.Spec.DeploymentName == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.DeploymentName}}}
}

// routeToRequests maps a route to the Deployments whose live releases set its weights.
func (r *Reconciler) routeToRequests(ctx context.Context, o client.Object) []reconcile.Request {
	var list slogatev1alpha1.ReleaseList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Releases for a route")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		rel := &list.Items[i]
		if machine.Live(rel) && slices.Contains(rel.Spec.HTTPRoutes, o.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.DeploymentName}})
		}
	}
	return out
}
