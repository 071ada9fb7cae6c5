package cli

import (
	"cmp"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// CurrentRelease picks the current release of Deployment d among releases (which may hold the
// releases of other Deployments too): the one named after d's slogate.io/canary-revision annotation
// when it exists, else the newest of d's releases by creation time (then by name). It returns nil
// when d has none.
func CurrentRelease(d *appsv1.Deployment, releases []slogatev1alpha1.Release) *slogatev1alpha1.Release {
	if c := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]; c != "" {
		want := slogatev1alpha1.ReleaseName(d.Name, c)
		for i := range releases {
			if releases[i].Name == want && releases[i].Spec.DeploymentName == d.Name {
				return &releases[i]
			}
		}
	}
	var newest *slogatev1alpha1.Release
	for i := range releases {
		r := &releases[i]
		if r.Spec.DeploymentName != d.Name {
			continue
		}
		if newest == nil || cmp.Or(r.CreationTimestamp.Compare(newest.CreationTimestamp.Time),
			cmp.Compare(r.Name, newest.Name)) > 0 {
			newest = r
		}
	}
	return newest
}

// PendingRelease says whether d is held for a canary revision whose Release the analyzer has not
// created yet, and the name that Release will have.
func PendingRelease(d *appsv1.Deployment, current *slogatev1alpha1.Release) (string, bool) {
	c := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	if c == "" || !d.Spec.Paused {
		return "", false
	}
	name := slogatev1alpha1.ReleaseName(d.Name, c)
	if current != nil && current.Name == name {
		return "", false
	}
	return name, true
}

// NoReleaseError says that a Deployment has no release, and when one starts.
type NoReleaseError struct {
	Deployment, Namespace string
}

func (e *NoReleaseError) Error() string {
	return fmt.Sprintf("no release for deployment %s in namespace %s; releases start when the pod template of a "+
		"Deployment in a namespace labelled %s=%s changes (kubectl apply a new image, env or resources)",
		e.Deployment, e.Namespace, slogatev1alpha1.NamespaceOptInLabel, slogatev1alpha1.NamespaceOptInValue)
}

// NotOptedInError says that a namespace did not opt in to slogate.
type NotOptedInError struct {
	Namespace string
}

func (e *NotOptedInError) Error() string {
	return fmt.Sprintf("namespace %s did not opt in to slogate: it lacks the label %s=%s, so its Deployments roll out "+
		"as plain rolling updates (opt in with: kubectl label namespace %s %s=%s)", e.Namespace,
		slogatev1alpha1.NamespaceOptInLabel, slogatev1alpha1.NamespaceOptInValue, e.Namespace, slogatev1alpha1.NamespaceOptInLabel, slogatev1alpha1.NamespaceOptInValue)
}

// OptedIn reports whether a namespace with these labels opted in to slogate.
func OptedIn(labels map[string]string) bool {
	return labels[slogatev1alpha1.NamespaceOptInLabel] == slogatev1alpha1.NamespaceOptInValue
}
