package traffic

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Record is what the two release annotations of a route say.
type Record struct {
	// Stable and Canary name the two Services; Weight is the canary weight last written
	// (slogatev1alpha1.RouteWeightsAnnotation).
	Stable string
	Canary string
	Weight int32
	// Added lists the rules the canary backendRef was added to
	// (slogatev1alpha1.RouteAddedBackendsAnnotation).
	Added []AddedBackend
}

// AddedBackend is a rule that had no canary backendRef before the release.
type AddedBackend struct {
	// Rule is the index of the rule in spec.rules.
	Rule int
	// StableWeight is the weight the stable backendRef had before the release (nil: unset).
	StableWeight *int32
}

// Recorded returns what the route's release annotations say, and whether the route is marked as
// under release (RouteWeightsAnnotation present). A value that does not parse still marks the
// route; what it recorded is lost.
func Recorded(route *gatewayv1.HTTPRoute) (Record, bool) {
	v, ok := route.Annotations[slogatev1alpha1.RouteWeightsAnnotation]
	if !ok {
		return Record{}, false
	}
	var r Record
	if s, c, w, err := ParseWeights(v); err == nil {
		r.Stable, r.Canary, r.Weight = s, c, w
	}
	if added, err := parseAdded(route.Annotations[slogatev1alpha1.RouteAddedBackendsAnnotation]); err == nil {
		r.Added = added
	}
	return r, true
}

// FormatWeights renders slogatev1alpha1.RouteWeightsAnnotation: "<stable>=<100-w>,<canary>=<w>".
func FormatWeights(stable, canary string, w int32) string {
	return fmt.Sprintf("%s=%d,%s=%d", stable, 100-w, canary, w)
}

// ParseWeights parses slogatev1alpha1.RouteWeightsAnnotation and returns the canary weight.
func ParseWeights(v string) (stable, canary string, w int32, err error) {
	parts := strings.Split(v, ",")
	if len(parts) != 2 {
		return "", "", 0, fmt.Errorf("%q: want <stable>=<weight>,<canary>=<weight>", v)
	}
	var ws [2]int64
	var ns [2]string
	for i, p := range parts {
		name, num, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return "", "", 0, fmt.Errorf("%q: want <service>=<weight>", p)
		}
		n, err := strconv.ParseInt(num, 10, 32)
		if err != nil || n < 0 || n > 100 {
			return "", "", 0, fmt.Errorf("%q: weight must be an integer in [0, 100]", p)
		}
		ns[i], ws[i] = name, n
	}
	if ws[0]+ws[1] != 100 {
		return "", "", 0, fmt.Errorf("%q: weights must add up to 100", v)
	}
	return ns[0], ns[1], int32(ws[1]), nil
}

// formatAdded renders slogatev1alpha1.RouteAddedBackendsAnnotation.
func formatAdded(added []AddedBackend) string {
	parts := make([]string, 0, len(added))
	for _, a := range added {
		if a.StableWeight == nil {
			parts = append(parts, strconv.Itoa(a.Rule))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d=%d", a.Rule, *a.StableWeight))
	}
	return strings.Join(parts, ",")
}

func parseAdded(v string) ([]AddedBackend, error) {
	if v == "" {
		return nil, nil
	}
	var out []AddedBackend
	for p := range strings.SplitSeq(v, ",") {
		idx, weight, hasWeight := strings.Cut(p, "=")
		rule, err := strconv.Atoi(idx)
		if err != nil || rule < 0 {
			return nil, fmt.Errorf("%q: want a rule index", p)
		}
		a := AddedBackend{Rule: rule}
		if hasWeight {
			w, err := strconv.ParseInt(weight, 10, 32)
			if err != nil || w < 0 {
				return nil, fmt.Errorf("%q: want <rule>=<weight>", p)
			}
			a.StableWeight = ptr(int32(w))
		}
		out = append(out, a)
	}
	return out, nil
}

// record writes both annotations and reports whether they changed.
func record(route *gatewayv1.HTTPRoute, r Record) bool {
	want := map[string]string{slogatev1alpha1.RouteWeightsAnnotation: FormatWeights(r.Stable, r.Canary, r.Weight)}
	if len(r.Added) > 0 {
		slices.SortFunc(r.Added, func(a, b AddedBackend) int { return a.Rule - b.Rule })
		want[slogatev1alpha1.RouteAddedBackendsAnnotation] = formatAdded(r.Added)
	}
	changed := false
	for _, k := range []string{slogatev1alpha1.RouteWeightsAnnotation, slogatev1alpha1.RouteAddedBackendsAnnotation} {
		v, ok := want[k]
		old, had := route.Annotations[k]
		switch {
		case ok && (!had || old != v):
			if route.Annotations == nil {
				route.Annotations = map[string]string{}
			}
			route.Annotations[k] = v
			changed = true
		case !ok && had:
			delete(route.Annotations, k)
			changed = true
		}
	}
	return changed
}

// unrecord removes both annotations.
func unrecord(route *gatewayv1.HTTPRoute) {
	delete(route.Annotations, slogatev1alpha1.RouteWeightsAnnotation)
	delete(route.Annotations, slogatev1alpha1.RouteAddedBackendsAnnotation)
	if len(route.Annotations) == 0 {
		route.Annotations = nil
	}
}
