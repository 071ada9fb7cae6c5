package machine

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Plan says which release of a Deployment to look at now.
type Plan struct {
	// Create names a Release to create now: the Deployment is held and no Release explains it.
	// It comes before anything else.
	Create string
	// Replace names a Release that ended and describes another release than the one the
	// Deployment's hold asks for (Stale): it is deleted and created afresh. It comes before anything
	// else but Create.
	Replace string
	// Drive names the Release to run Next on ("" when none); Blocked the live release it has to
	// wait for.
	Drive   string
	Blocked string
	// Actions are for the Deployment alone (an action no release can take).
	Actions []Action
}

// Held reports whether the Deployment is held for a canary release: paused, with a canary revision
// that is not the failed one (wellknown.go, CanaryRevisionAnnotation).
func Held(d Deployment) bool {
	return d.Exists && d.Paused && d.Canary != "" && d.Canary != d.Failed
}

// Select decides which release of the Deployment named name to look at: the one its hold names is
// created first, or replaced when the Release of that name ended under other revisions (Stale); a live release that is not the current one (superseded, or its template was
// replaced) ends before the current one creates its canary; a retry goes to the release of the
// failed revision. releases are all the Releases of the Deployment.
func Select(name string, d Deployment, releases []slogatev1alpha1.Release) Plan {
	current := ""
	switch {
	case Held(d):
		current = slogatev1alpha1.ReleaseName(name, d.Canary)
	case d.Exists && d.Action == slogatev1alpha1.ActionRetry && d.Failed != "":
		current = slogatev1alpha1.ReleaseName(name, d.Failed)
	}
	var live []string
	var cur *slogatev1alpha1.Release
	for i := range releases {
		rel := &releases[i]
		if rel.Name == current {
			cur = rel
			continue
		}
		if Live(rel) {
			live = append(live, rel.Name)
		}
	}
	slices.Sort(live)
	var p Plan
	switch {
	case current != "" && cur == nil && Held(d):
		p.Create = current
	case cur != nil && Held(d) && !Live(cur) && cur.DeletionTimestamp == nil && Stale(cur, d):
		p.Replace = current
	case cur != nil && cur.Status.Phase == "":
		// A new release records that it started even while an older one still cleans up.
		p.Drive = current
	case len(live) > 0:
		p.Drive = live[0]
	case cur != nil:
		p.Drive = current
	}
	if p.Drive == current && len(live) > 0 {
		p.Blocked = live[0]
	}
	if d.Exists && d.Action != "" && p.Create == "" && p.Replace == "" && p.Drive == "" {
		why := "no release of this Deployment is live"
		if d.Action == slogatev1alpha1.ActionRetry && d.Failed == "" {
			why = "no revision of this Deployment failed"
		} else if d.Action == slogatev1alpha1.ActionRetry {
			why = fmt.Sprintf("there is no release of the failed revision %s", d.Failed)
		}
		p.Actions = []Action{
			removeAction,
			Event{Warning: true, Reason: ReasonActionRejected, Message: fmt.Sprintf("%s %s: %s", slogatev1alpha1.ActionAnnotation, d.Action, why)},
		}
	}
	return p
}

// Stale reports whether a Release describes another release than the one the Deployment's
// annotations ask for: another stable or canary revision. A revision rolled back over one stable
// revision and applied again over a newer one keeps its name (<deployment>-<revision>) but needs a
// new release: the old spec names a stable revision whose ReplicaSet is gone.
func Stale(rel *slogatev1alpha1.Release, d Deployment) bool {
	return (d.Stable != "" && d.Stable != rel.Spec.StableRevision) || (d.Canary != "" && d.Canary != rel.Spec.CanaryRevision)
}

// Live reports whether a release has not ended, or ended and has not cleaned up yet, or is being
// deleted and still holds its finalizer.
func Live(rel *slogatev1alpha1.Release) bool {
	if rel.DeletionTimestamp != nil && slices.Contains(rel.Finalizers, Finalizer) {
		return true
	}
	return !rel.Status.Phase.IsTerminal() || !meta.IsStatusConditionTrue(rel.Status.Conditions, slogatev1alpha1.ConditionCompleted)
}

// Finalizer keeps a Release until the release has undone what it changed (traffic, canary, pins),
// so that deleting the Deployment never leaves weight on a canary that is gone.
const Finalizer = "slogate.io/release-cleanup"

// IsManaged reports whether labels mark an object slogate created.
func IsManaged(labels map[string]string) bool {
	return labels[slogatev1alpha1.RoleLabel] == slogatev1alpha1.RoleCanary && labels[slogatev1alpha1.ManagedByLabel] == slogatev1alpha1.ManagedByValue
}
