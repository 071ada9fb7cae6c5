package webhook

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// deploymentAnnotations are the slogate.io/* annotations slogate reads on a Deployment.
var deploymentAnnotations = []string{
	slogatev1alpha1.SkipAnnotation,
	slogatev1alpha1.StableRevisionAnnotation,
	slogatev1alpha1.CanaryRevisionAnnotation,
	slogatev1alpha1.FailedRevisionAnnotation,
	slogatev1alpha1.ActionAnnotation,
}

var actions = []string{slogatev1alpha1.ActionPromote, slogatev1alpha1.ActionPromoteFull, slogatev1alpha1.ActionAbort, slogatev1alpha1.ActionRetry}

// ValidateDeployment checks a request on a Deployment in an opted-in namespace, as it is after
// every mutating webhook. It rejects malformed slogate.io/* annotations (anyone), a user's
// un-pause of a held Deployment, and the removal of a live release's annotations other than by
// re-applying the stable template. It returns warnings for slogate.io/* annotations it does not
// know.
func ValidateDeployment(req DeploymentRequest) (field.ErrorList, []string) {
	if req.New == nil || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return nil, nil
	}
	errs, warnings := validateDeploymentAnnotations(req.New)
	if req.Operation != admissionv1.Update || req.Old == nil || req.ByAnalyzer || skipped(req.New) {
		return errs, warnings
	}
	return append(errs, validateHold(req.Old, req.New)...), warnings
}

func validateDeploymentAnnotations(d *appsv1.Deployment) (field.ErrorList, []string) {
	var errs field.ErrorList
	var warnings []string
	path := field.NewPath("metadata", "annotations")
	for k, v := range d.Annotations {
		if !strings.HasPrefix(k, slogatev1alpha1.Prefix) {
			continue
		}
		p := path.Key(k)
		switch k {
		case slogatev1alpha1.SkipAnnotation:
			if v != "true" && v != "false" {
				errs = append(errs, field.NotSupported(p, v, []string{"true", "false"}))
			}
		case slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation, slogatev1alpha1.FailedRevisionAnnotation:
			errs = append(errs, validateRevision(p, v)...)
		case slogatev1alpha1.ActionAnnotation:
			if !slices.Contains(actions, v) {
				errs = append(errs, field.NotSupported(p, v, actions))
			}
		default:
			warnings = append(warnings, fmt.Sprintf("slogate: annotation %s has no meaning on a Deployment and is ignored (known: %s)",
				k, strings.Join(deploymentAnnotations, ", ")))
		}
	}
	if v, ok := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; ok {
		errs = append(errs, validateRevision(field.NewPath("spec", "template", "metadata", "labels").Key(slogatev1alpha1.RevisionLabel), v)...)
	}
	slices.Sort(warnings)
	return sortErrors(errs), warnings
}

// validateRevision checks a revision: a non-empty label value (Services select on it).
func validateRevision(p *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Invalid(p, v, "must name a revision, such as 5d8f7c9b4")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidLabelValue(v) {
		errs = append(errs, field.Invalid(p, v, "must be a revision (a label value): "+msg))
	}
	return errs
}

// validateHold protects a held Deployment from a user's update (the analyzer's are not checked).
func validateHold(old, d *appsv1.Deployment) field.ErrorList {
	cur, next := releaseOf(old), releaseOf(d)
	onFailed := next.failed != "" && next.template() == next.failed
	var errs field.ErrorList
	if old.Spec.Paused && !d.Spec.Paused {
		switch {
		case next.live():
			errs = append(errs, field.Forbidden(field.NewPath("spec", "paused"), fmt.Sprintf(
				"the canary release of revision %s is live and slogate holds Deployment %s paused until it ends: "+
					"use kubectl slogate promote %s -n %s, or kubectl slogate abort %s -n %s",
				next.canary, d.Name, d.Name, d.Namespace, d.Name, d.Namespace)))
		case onFailed:
			errs = append(errs, field.Forbidden(field.NewPath("spec", "paused"), fmt.Sprintf(
				"revision %s was rolled back and slogate holds Deployment %s paused on it: apply a new template, "+
					"re-apply the stable one, or kubectl slogate retry %s -n %s",
				next.failed, d.Name, d.Name, d.Namespace)))
		}
	}
	if cur.live() && !next.live() && next.template() != cur.stableRevision() && !onFailed {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations").Key(slogatev1alpha1.CanaryRevisionAnnotation), fmt.Sprintf(
			"the canary release of revision %s is live: only slogate ends it; re-apply the stable template (revision %s) "+
				"or use kubectl slogate abort %s -n %s",
			cur.canary, cur.stableRevision(), d.Name, d.Namespace)))
	}
	return errs
}

// sortErrors orders errors by field path, so that messages are the same from one call to the next
// (annotations are a map).
func sortErrors(errs field.ErrorList) field.ErrorList {
	slices.SortStableFunc(errs, func(a, b *field.Error) int { return strings.Compare(a.Field, b.Field) })
	return errs
}
