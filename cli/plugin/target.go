package plugin

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

// target is what NAME resolved to.
type target struct {
	namespace string
	// deployment is nil when NAME named a Release whose Deployment is gone.
	deployment *appsv1.Deployment
	// release is nil when the Deployment is held for a release the analyzer has not created yet.
	release *slogatev1alpha1.Release
	// pending names that release.
	pending string
}

// resolve finds the Deployment and the current Release that NAME (a Deployment or Release name)
// stands for. It fails with cli.NoReleaseError or cli.NotOptedInError when there is no release.
func resolve(ctx context.Context, c client.Client, ns, name string) (*target, error) {
	t := &target{namespace: ns}
	d := &appsv1.Deployment{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)
	switch {
	case err == nil:
		t.deployment = d
		var list slogatev1alpha1.ReleaseList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing releases in namespace %s: %w", ns, err)
		}
		t.release = cli.CurrentRelease(d, list.Items)
		if p, ok := cli.PendingRelease(d, t.release); ok {
			t.release, t.pending = nil, p
			return t, nil
		}
		if t.release == nil {
			if err := checkOptIn(ctx, c, ns); err != nil {
				return nil, err
			}
			return nil, &cli.NoReleaseError{Deployment: name, Namespace: ns}
		}
		return t, nil
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading deployment %s/%s: %w", ns, name, err)
	}

	r := &slogatev1alpha1.Release{}
	err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, r)
	switch {
	case apierrors.IsNotFound(err):
		if err := checkOptIn(ctx, c, ns); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no deployment or release named %s in namespace %s", name, ns)
	case err != nil:
		return nil, fmt.Errorf("reading release %s/%s: %w", ns, name, err)
	}
	t.release = r
	d = &appsv1.Deployment{}
	err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.Spec.DeploymentName}, d)
	switch {
	case err == nil:
		t.deployment = d
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading deployment %s/%s: %w", ns, r.Spec.DeploymentName, err)
	}
	return t, nil
}

// checkOptIn fails with cli.NotOptedInError when the namespace lacks the opt-in label. A namespace
// the user may not read is taken as opted in: the check is a hint, not a gate.
func checkOptIn(ctx context.Context, c client.Client, ns string) error {
	n := &corev1.Namespace{}
	err := c.Get(ctx, client.ObjectKey{Name: ns}, n)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %s not found", ns)
	case apierrors.IsForbidden(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if !cli.OptedIn(n.Labels) {
		return &cli.NotOptedInError{Namespace: ns}
	}
	return nil
}

// events lists the events of the target's Release and Deployment.
func events(ctx context.Context, c client.Client, t *target) ([]corev1.Event, error) {
	type object struct{ kind, name string }
	var objs []object
	if t.release != nil {
		objs = append(objs, object{"Release", t.release.Name})
	}
	if t.deployment != nil {
		objs = append(objs, object{"Deployment", t.deployment.Name})
	}
	var out []corev1.Event
	for _, o := range objs {
		var list corev1.EventList
		err := c.List(ctx, &list, client.InNamespace(t.namespace), client.MatchingFields{
			"involvedObject.kind": o.kind, "involvedObject.name": o.name,
		})
		if apierrors.IsForbidden(err) {
			continue // events are extra: show the rest
		}
		if err != nil {
			return nil, fmt.Errorf("listing events of %s %s: %w", o.kind, o.name, err)
		}
		out = slices.Concat(out, list.Items)
	}
	return out, nil
}
