package webhook

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// ServiceRequest is a request on a Service in an opted-in namespace.
type ServiceRequest struct {
	Operation admissionv1.Operation
	// Old is the stored Service (UPDATE), New the one the request would store.
	Old, New *corev1.Service
	// ByAnalyzer is true when the request comes from the analyzer's ServiceAccount.
	ByAnalyzer bool
}

// ServiceMutation is the outcome of MutateService.
type ServiceMutation struct {
	Decision Decision
	// Service is New with the pin kept; it differs from New only in the slogate.io/pinned
	// annotation and the pinned spec.selector entries. Nil when there is nothing to decide.
	Service  *corev1.Service
	Warnings []string
}

// MutateService keeps the analyzer's pin of a Service's selector (see
// slogatev1alpha1.StablePinAnnotation) through an update that is not the analyzer's. A pin value that
// the request introduces or changes must be well formed, whoever sends it.
func MutateService(req ServiceRequest) (ServiceMutation, field.ErrorList) {
	if req.New == nil || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return ServiceMutation{Decision: DecisionIgnored}, nil
	}
	var oldPin string
	var oldHas bool
	if req.Old != nil && req.Operation == admissionv1.Update {
		oldPin, oldHas = req.Old.Annotations[slogatev1alpha1.StablePinAnnotation]
	}
	// A user's change of a stored pin is undone below; any other new pin value must be readable.
	newPin, newHas := req.New.Annotations[slogatev1alpha1.StablePinAnnotation]
	if newHas && (!oldHas || newPin != oldPin) && (req.ByAnalyzer || !oldHas) {
		if _, errs := ParsePin(newPin, pinPath()); len(errs) > 0 {
			return ServiceMutation{Decision: DecisionDenied}, errs
		}
	}
	if req.ByAnalyzer {
		return ServiceMutation{Decision: DecisionAnalyzer, Service: req.New}, nil
	}
	if !oldHas {
		return ServiceMutation{Decision: DecisionUnchanged, Service: req.New}, nil
	}
	keys, errs := ParsePin(oldPin, pinPath())
	if len(errs) > 0 {
		// A stored pin slogate cannot read is not kept; the analyzer's next write repairs it.
		return ServiceMutation{Decision: DecisionUnchanged, Service: req.New}, nil
	}
	out := req.New.DeepCopy()
	var kept []string
	if out.Annotations[slogatev1alpha1.StablePinAnnotation] != oldPin {
		kept = append(kept, slogatev1alpha1.StablePinAnnotation+" annotation")
	}
	setLabel(&out.Annotations, slogatev1alpha1.StablePinAnnotation, oldPin)
	for _, k := range keys {
		v, ok := req.Old.Spec.Selector[k]
		if !ok {
			continue
		}
		if cur, has := out.Spec.Selector[k]; !has || cur != v {
			kept = append(kept, fmt.Sprintf("selector %s=%s", k, v))
		}
		setLabel(&out.Spec.Selector, k, v)
	}
	if len(kept) == 0 {
		return ServiceMutation{Decision: DecisionUnchanged, Service: out}, nil
	}
	return ServiceMutation{Decision: DecisionRestored, Service: out, Warnings: []string{fmt.Sprintf(
		"slogate: kept %s on Service %s: a canary release pins it until it ends",
		strings.Join(kept, " and "), req.New.Name)}}, nil
}

func pinPath() *field.Path {
	return field.NewPath("metadata", "annotations").Key(slogatev1alpha1.StablePinAnnotation)
}

// ParsePin reads the value of the slogate.io/pinned annotation: selector keys, comma-separated.
// The errors name path.
func ParsePin(v string, path *field.Path) ([]string, field.ErrorList) {
	var errs field.ErrorList
	if v == "" {
		return nil, field.ErrorList{field.Invalid(path, v, "must list the pinned selector keys, comma-separated, such as pod-template-hash")}
	}
	keys := strings.Split(v, ",")
	for i, k := range keys {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(path, v, fmt.Sprintf("key %q: %s", k, msg)))
		}
		if slices.Contains(keys[:i], k) {
			errs = append(errs, field.Invalid(path, v, fmt.Sprintf("key %q is listed twice", k)))
		}
	}
	return keys, errs
}
