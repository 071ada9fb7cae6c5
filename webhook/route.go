package webhook

import (
	"fmt"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// RouteRequest is a request on an HTTPRoute in an opted-in namespace.
type RouteRequest struct {
	Operation admissionv1.Operation
	// Old is the stored route (UPDATE), New the one the request would store.
	Old, New *gatewayv1.HTTPRoute
	// ByAnalyzer is true when the request comes from the analyzer's ServiceAccount.
	ByAnalyzer bool
}

// RouteMutation is the outcome of MutateRoute.
type RouteMutation struct {
	Decision Decision
	// Route is New with the live weights kept; it differs from New only in the slogate.io/weights and
	// slogate.io/added-backends annotations, the weights of the stable and canary backendRefs, and canary backendRefs
	// appended to rules that name the stable Service. Nil when there is nothing to decide.
	Route    *gatewayv1.HTTPRoute
	Warnings []string
}

// RouteWeights is the value of the slogate.io/weights annotation.
type RouteWeights struct {
	Stable, Canary             string
	StableWeight, CanaryWeight int32
}

func (w RouteWeights) String() string {
	return fmt.Sprintf("%s=%d,%s=%d", w.Stable, w.StableWeight, w.Canary, w.CanaryWeight)
}

// MutateRoute keeps the live weights of a release on an HTTPRoute (see
// slogatev1alpha1.RouteWeightsAnnotation) through an update that is not the analyzer's. Everything else
// in the update goes through. A weights value that the request introduces or changes must be well
// formed, whoever sends it.
func MutateRoute(req RouteRequest) (RouteMutation, field.ErrorList) {
	if req.New == nil || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return RouteMutation{Decision: DecisionIgnored}, nil
	}
	var oldValue string
	var oldHas bool
	if req.Old != nil && req.Operation == admissionv1.Update {
		oldValue, oldHas = req.Old.Annotations[slogatev1alpha1.RouteWeightsAnnotation]
	}
	newValue, newHas := req.New.Annotations[slogatev1alpha1.RouteWeightsAnnotation]
	if newHas && (!oldHas || newValue != oldValue) && (req.ByAnalyzer || !oldHas) {
		if _, errs := ParseRouteWeights(newValue, weightsPath()); len(errs) > 0 {
			return RouteMutation{Decision: DecisionDenied}, errs
		}
	}
	if req.ByAnalyzer {
		return RouteMutation{Decision: DecisionAnalyzer, Route: req.New}, nil
	}
	if !oldHas {
		return RouteMutation{Decision: DecisionUnchanged, Route: req.New}, nil
	}
	w, errs := ParseRouteWeights(oldValue, weightsPath())
	if len(errs) > 0 {
		// A stored value slogate cannot read is not kept; the analyzer's next write repairs it.
		return RouteMutation{Decision: DecisionUnchanged, Route: req.New}, nil
	}

	out := req.New.DeepCopy()
	changed := out.Annotations[slogatev1alpha1.RouteWeightsAnnotation] != oldValue
	setLabel(&out.Annotations, slogatev1alpha1.RouteWeightsAnnotation, oldValue)
	// The rules the analyzer added the canary backend to go with the weights: without them, the end of
	// the release could not tell an added backend from the user's.
	if added, ok := req.Old.Annotations[slogatev1alpha1.RouteAddedBackendsAnnotation]; ok {
		changed = out.Annotations[slogatev1alpha1.RouteAddedBackendsAnnotation] != added || changed
		setLabel(&out.Annotations, slogatev1alpha1.RouteAddedBackendsAnnotation, added)
	}
	ns := req.New.Namespace
	for i := range out.Spec.Rules {
		rule := &out.Spec.Rules[i]
		stable := -1
		hasCanary := false
		for j := range rule.BackendRefs {
			ref := &rule.BackendRefs[j]
			switch {
			case namesService(ref, ns, w.Stable):
				if stable < 0 {
					stable = j
				}
				changed = setWeight(ref, w.StableWeight) || changed
			case namesService(ref, ns, w.Canary):
				hasCanary = true
				changed = setWeight(ref, w.CanaryWeight) || changed
			}
		}
		if stable >= 0 && !hasCanary {
			ref := canaryRef(req.Old, i, ns, w, rule.BackendRefs[stable])
			rule.BackendRefs = append(rule.BackendRefs, ref)
			changed = true
		}
	}
	if !changed {
		return RouteMutation{Decision: DecisionUnchanged, Route: out}, nil
	}
	return RouteMutation{Decision: DecisionRestored, Route: out, Warnings: []string{fmt.Sprintf(
		"slogate: kept the live weights %s on HTTPRoute %s: a canary release sets them until it ends; the rest of the change is applied",
		oldValue, req.New.Name)}}, nil
}

// namesService reports whether ref is the Service name in namespace ns.
func namesService(ref *gatewayv1.HTTPBackendRef, ns, name string) bool {
	if ref.Group != nil && *ref.Group != "" {
		return false
	}
	if ref.Kind != nil && *ref.Kind != "Service" {
		return false
	}
	if ref.Namespace != nil && string(*ref.Namespace) != ns {
		return false
	}
	return string(ref.Name) == name
}

func setWeight(ref *gatewayv1.HTTPBackendRef, w int32) bool {
	if ref.Weight != nil && *ref.Weight == w {
		return false
	}
	ref.Weight = &w
	return true
}

// canaryRef is the canary backendRef to add to rule i: the stored route's (same rule first, then
// any rule), or else one like the stable backendRef with the canary Service's name.
func canaryRef(old *gatewayv1.HTTPRoute, i int, ns string, w RouteWeights, stable gatewayv1.HTTPBackendRef) gatewayv1.HTTPBackendRef {
	find := func(rule gatewayv1.HTTPRouteRule) (gatewayv1.HTTPBackendRef, bool) {
		for _, ref := range rule.BackendRefs {
			if namesService(&ref, ns, w.Canary) {
				return *ref.DeepCopy(), true
			}
		}
		return gatewayv1.HTTPBackendRef{}, false
	}
	ref, ok := gatewayv1.HTTPBackendRef{}, false
	if i < len(old.Spec.Rules) {
		ref, ok = find(old.Spec.Rules[i])
	}
	for j := 0; !ok && j < len(old.Spec.Rules); j++ {
		ref, ok = find(old.Spec.Rules[j])
	}
	if !ok {
		ref = gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: *stable.BackendObjectReference.DeepCopy()}}
		ref.Name = gatewayv1.ObjectName(w.Canary)
	}
	weight := w.CanaryWeight
	ref.Weight = &weight
	return ref
}

func weightsPath() *field.Path {
	return field.NewPath("metadata", "annotations").Key(slogatev1alpha1.RouteWeightsAnnotation)
}

// ParseRouteWeights reads the value of the slogate.io/weights annotation:
// "<stableService>=<weight>,<canaryService>=<weight>", weights 0..100 adding up to 100.
func ParseRouteWeights(v string, path *field.Path) (RouteWeights, field.ErrorList) {
	const format = "must be <stableService>=<weight>,<canaryService>=<weight> with weights adding up to 100, such as web-stable=95,web-canary=5"
	parts := strings.Split(v, ",")
	if len(parts) != 2 {
		return RouteWeights{}, field.ErrorList{field.Invalid(path, v, format)}
	}
	var names [2]string
	var weights [2]int32
	var errs field.ErrorList
	for i, part := range parts {
		name, weight, ok := strings.Cut(part, "=")
		if !ok {
			return RouteWeights{}, field.ErrorList{field.Invalid(path, v, format)}
		}
		for _, msg := range validation.IsDNS1035Label(name) {
			errs = append(errs, field.Invalid(path, v, fmt.Sprintf("service %q: %s", name, msg)))
		}
		n, err := strconv.ParseInt(weight, 10, 32)
		if err != nil || n < 0 || n > 100 || weight != strconv.FormatInt(n, 10) {
			errs = append(errs, field.Invalid(path, v, fmt.Sprintf("weight %q of %q must be an integer from 0 to 100", weight, name)))
		}
		names[i], weights[i] = name, int32(n)
	}
	if len(errs) > 0 {
		return RouteWeights{}, errs
	}
	if names[0] == names[1] {
		return RouteWeights{}, field.ErrorList{field.Invalid(path, v, "the stable and canary Services must differ")}
	}
	if weights[0]+weights[1] != 100 {
		return RouteWeights{}, field.ErrorList{field.Invalid(path, v, fmt.Sprintf("weights add up to %d, not 100", weights[0]+weights[1]))}
	}
	return RouteWeights{Stable: names[0], Canary: names[1], StableWeight: weights[0], CanaryWeight: weights[1]}, nil
}
