package webhook

import (
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// The edits functions list what a mutation changed, field by field, so that the patch touches
// those fields and nothing else. Each compares the decoded request object (before) with the
// mutation's result (after) on exactly the fields that mutation may change.

func deploymentEdits(before, after *appsv1.Deployment) []edit {
	var edits []edit
	if before.Spec.Paused != after.Spec.Paused {
		edits = append(edits, set(after.Spec.Paused, "spec", "paused"))
	}
	edits = append(edits, mapEdits(before.Spec.Template.Labels, after.Spec.Template.Labels,
		[]string{slogatev1alpha1.RevisionLabel}, "spec", "template", "metadata", "labels")...)
	edits = append(edits, mapEdits(before.Annotations, after.Annotations, releaseAnnotations, "metadata", "annotations")...)
	return edits
}

func serviceEdits(before, after *corev1.Service) []edit {
	edits := mapEdits(before.Annotations, after.Annotations, []string{slogatev1alpha1.StablePinAnnotation}, "metadata", "annotations")
	keys := make([]string, 0, len(after.Spec.Selector))
	for k := range after.Spec.Selector {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return append(edits, mapEdits(before.Spec.Selector, after.Spec.Selector, keys, "spec", "selector")...)
}

func routeEdits(before, after *gatewayv1.HTTPRoute) []edit {
	edits := mapEdits(before.Annotations, after.Annotations, []string{slogatev1alpha1.RouteWeightsAnnotation, slogatev1alpha1.RouteAddedBackendsAnnotation}, "metadata", "annotations")
	for i, rule := range after.Spec.Rules {
		var refs []gatewayv1.HTTPBackendRef
		if i < len(before.Spec.Rules) {
			refs = before.Spec.Rules[i].BackendRefs
		}
		ri := strconv.Itoa(i)
		for j, ref := range rule.BackendRefs {
			if j >= len(refs) {
				edits = append(edits, set(ref, "spec", "rules", ri, "backendRefs", "-"))
				continue
			}
			if ref.Weight != nil && (refs[j].Weight == nil || *refs[j].Weight != *ref.Weight) {
				edits = append(edits, set(int64(*ref.Weight), "spec", "rules", ri, "backendRefs", strconv.Itoa(j), "weight"))
			}
		}
	}
	return edits
}

// mapEdits sets or removes the given keys of a string map at path so that before becomes after.
func mapEdits(before, after map[string]string, keys []string, path ...string) []edit {
	var edits []edit
	for _, k := range keys {
		b, inB := before[k]
		a, inA := after[k]
		p := append(slices.Clip(path), k)
		switch {
		case inA && (!inB || a != b):
			edits = append(edits, set(a, p...))
		case inB && !inA:
			edits = append(edits, del(p...))
		}
	}
	return edits
}
