package cli

import (
	"errors"
	"fmt"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// ErrActionNotAllowed is wrapped by every error CheckAction returns.
var ErrActionNotAllowed = errors.New("action not allowed in this phase")

// PhaseError says why an action makes no sense in the phase a release is in.
type PhaseError struct {
	// Action is the value of the slogate.io/action annotation that was asked for.
	Action string
	// Release and Phase are the release and its phase.
	Release string
	Phase   slogatev1alpha1.ReleasePhase
	// Why is the explanation, with what to do instead.
	Why string
}

func (e *PhaseError) Error() string {
	return fmt.Sprintf("cannot %s release %s: it is %s: %s", e.Action, e.Release, e.Phase, e.Why)
}

// Unwrap lets errors.Is find ErrActionNotAllowed.
func (e *PhaseError) Unwrap() error { return ErrActionNotAllowed }

// CheckAction says whether action (one of the slogatev1alpha1.Action* constants) makes sense for a release
// in its current phase; the error says why not and what to do instead.
func CheckAction(action string, r *slogatev1alpha1.Release) error {
	phase := r.Status.Phase
	if phase == "" {
		phase = slogatev1alpha1.PhaseProgressing
	}
	deny := func(why string, a ...any) error {
		return &PhaseError{Action: action, Release: r.Name, Phase: phase, Why: fmt.Sprintf(why, a...)}
	}
	d := r.Spec.DeploymentName
	switch action {
	case slogatev1alpha1.ActionPromote, slogatev1alpha1.ActionPromoteFull:
		switch phase {
		case slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused:
			return nil
		case slogatev1alpha1.PhasePromoting:
			return deny("every step has passed and the Deployment is already rolling to revision %s", r.Spec.CanaryRevision)
		case slogatev1alpha1.PhaseSucceeded:
			return deny("revision %s is already stable; there is nothing to promote", r.Spec.CanaryRevision)
		case slogatev1alpha1.PhaseRolledBack:
			return deny("it was rolled back; start it again with \"kubectl slogate retry %s\"", d)
		case slogatev1alpha1.PhaseAborted:
			return deny("it ended without a verdict (%s); apply the template again to start a new release", orDash(r.Status.Reason))
		default:
			return deny("the phase is unknown to this version of kubectl-slogate")
		}
	case slogatev1alpha1.ActionAbort:
		if !phase.IsTerminal() {
			return nil
		}
		if phase == slogatev1alpha1.PhaseSucceeded {
			return deny("the release has ended and revision %s is stable; to go back, apply the previous template (a new release starts)", r.Spec.CanaryRevision)
		}
		return deny("the release has already ended and traffic is on the stable revision %s", r.Spec.StableRevision)
	case slogatev1alpha1.ActionRetry:
		if phase == slogatev1alpha1.PhaseRolledBack {
			return nil
		}
		if phase.IsTerminal() {
			return deny("only a rolled-back release can be retried")
		}
		return deny("the release is still running; only a rolled-back release can be retried")
	}
	return fmt.Errorf("unknown action %q", action)
}
