package machine

import slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"

// ReleaseStatus is the status of a Release.
type ReleaseStatus = slogatev1alpha1.ReleaseStatus

// Action is one change to the world. The reconciler applies each one idempotently.
type Action interface{ isAction() }

// WriteStatus writes Result.Status to the Release's status.
type WriteStatus struct{}

// EnsureCanary creates the canary Deployment from the user's template, or scales it.
type EnsureCanary struct{ Replicas int32 }

// DeleteCanary deletes the canary Deployment and its pods (foreground: the Deployment is gone only
// once its pods are).
type DeleteCanary struct{}

// Which names one of the two Services of a release.
type Which string

// The two Services.
const (
	StableService Which = "stable"
	CanaryService Which = "canary"
)

// PinService sets the pin of a Service (selector entry and slogatev1alpha1.StablePinAnnotation).
type PinService struct {
	Service Which
	Pin     Pin
}

// UnpinService removes the pin of a Service.
type UnpinService struct{ Service Which }

// SetWeights writes canary percent of traffic to the canary on every route of the release (one
// write per route), adding the canary backendRef where a rule lacks it.
type SetWeights struct{ Canary int32 }

// RestoreRoutes removes the canary backendRefs the release added and its annotations.
type RestoreRoutes struct{}

// UnpauseDeployment sets spec.paused to false on the user's Deployment.
type UnpauseDeployment struct{}

// PatchDeployment sets and removes annotations of the user's Deployment.
type PatchDeployment struct {
	Set    map[string]string
	Remove []string
}

// AddFinalizer and RemoveFinalizer put the release's cleanup finalizer on the Release or take it
// off.
type (
	AddFinalizer    struct{}
	RemoveFinalizer struct{}
)

// Event is recorded on the Deployment and on the Release.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

func (WriteStatus) isAction()       {}
func (EnsureCanary) isAction()      {}
func (DeleteCanary) isAction()      {}
func (PinService) isAction()        {}
func (UnpinService) isAction()      {}
func (SetWeights) isAction()        {}
func (RestoreRoutes) isAction()     {}
func (UnpauseDeployment) isAction() {}
func (PatchDeployment) isAction()   {}
func (AddFinalizer) isAction()      {}
func (RemoveFinalizer) isAction()   {}
func (Event) isAction()             {}
