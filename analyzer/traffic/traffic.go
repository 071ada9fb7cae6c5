package traffic

import (
	"errors"
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ErrNoStableBackend means a route has no rule naming the stable Service.
var ErrNoStableBackend = errors.New("no rule of the route names the stable Service")

// Backends names the two Services of a release, in the route's namespace.
type Backends struct {
	Stable string
	Canary string
}

// Observed is what a route says about a release.
type Observed struct {
	// NamesStable is true when at least one rule names the stable Service.
	NamesStable bool
	// Prepared is true when every rule naming the stable Service also names the canary Service
	// and the route carries the release annotation.
	Prepared bool
	// Marked is true when the route carries the release annotation.
	Marked bool
	// MinCanary and MaxCanary are the lowest and highest share of traffic (percent of the stable
	// and canary weights of one rule) on the canary over the rules naming the stable Service. A
	// rule without a canary backend counts as 0.
	MinCanary, MaxCanary int32
	// Restored is true when the route has no canary backend added by a release and no annotation.
	Restored bool
}

// Observe reads a route.
func Observe(route *gatewayv1.HTTPRoute, b Backends) Observed {
	rec, recorded := Recorded(route)
	o := Observed{Marked: recorded, Prepared: recorded, Restored: !recorded}
	first := true
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		stable, canary := weights(route.Namespace, rule, b)
		if stable == nil {
			continue
		}
		o.NamesStable = true
		share := int32(0)
		if canary == nil {
			o.Prepared = false
		} else if total := *stable + *canary; total > 0 {
			share = int32((int64(*canary)*100 + int64(total)/2) / int64(total))
		}
		if first || share < o.MinCanary {
			o.MinCanary = share
		}
		if first || share > o.MaxCanary {
			o.MaxCanary = share
		}
		first = false
	}
	if recorded && len(rec.Added) > 0 {
		o.Restored = false
	}
	if !o.NamesStable {
		o.Prepared = false
	}
	return o
}

// SetWeights makes every rule naming the stable Service send canary percent of its traffic to the
// canary Service, adding the canary backendRef where a rule lacks it, and records the release in
// the route's annotation. It reports whether the route changed.
func SetWeights(route *gatewayv1.HTTPRoute, b Backends, canary int32) (bool, error) {
	if canary < 0 || canary > 100 {
		return false, fmt.Errorf("canary weight %d is not in [0, 100]", canary)
	}
	rec, _ := Recorded(route)
	added := map[int]bool{}
	for _, a := range rec.Added {
		added[a.Rule] = true
	}
	changed := false
	found := false
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		stableRef := firstRef(route.Namespace, rule, b.Stable)
		if stableRef < 0 {
			continue
		}
		found = true
		if firstRef(route.Namespace, rule, b.Canary) < 0 {
			ref := *rule.BackendRefs[stableRef].DeepCopy()
			ref.Name = gatewayv1.ObjectName(b.Canary)
			ref.Weight = ptr(int32(0))
			rule.BackendRefs = append(rule.BackendRefs, ref)
			if !added[i] {
				orig := rule.BackendRefs[stableRef].Weight
				a := AddedBackend{Rule: i}
				if orig != nil {
					a.StableWeight = ptr(*orig)
				}
				rec.Added = append(rec.Added, a)
				added[i] = true
			}
			changed = true
		}
		for j := range rule.BackendRefs {
			ref := &rule.BackendRefs[j]
			var want int32
			switch {
			case names(route.Namespace, &ref.BackendRef, b.Stable):
				want = 100 - canary
			case names(route.Namespace, &ref.BackendRef, b.Canary):
				want = canary
			default:
				continue
			}
			if ref.Weight == nil || *ref.Weight != want {
				ref.Weight = ptr(want)
				changed = true
			}
		}
	}
	if !found {
		return false, ErrNoStableBackend
	}
	rec.Stable, rec.Canary, rec.Weight = b.Stable, b.Canary, canary
	if record(route, rec) {
		changed = true
	}
	return changed, nil
}

// Restore undoes what SetWeights added: the canary backendRefs it added are removed (and the
// stable backendRef of those rules gets its weight from before the release back) and the release
// annotation is removed. The weights of backends the user declared stay as they are; call
// SetWeights(route, b, 0) first to send every request to stable. It reports whether the route
// changed.
func Restore(route *gatewayv1.HTTPRoute, b Backends) bool {
	rec, ok := Recorded(route)
	if !ok {
		return false
	}
	for _, a := range rec.Added {
		if a.Rule < 0 || a.Rule >= len(route.Spec.Rules) {
			continue
		}
		rule := &route.Spec.Rules[a.Rule]
		if firstRef(route.Namespace, rule, b.Stable) < 0 {
			// The rule no longer names the stable Service (the user changed the route): it is not
			// the rule the canary backend was added to, leave it alone.
			continue
		}
		kept := rule.BackendRefs[:0:0]
		for _, ref := range rule.BackendRefs {
			if names(route.Namespace, &ref.BackendRef, b.Canary) {
				continue
			}
			if names(route.Namespace, &ref.BackendRef, b.Stable) {
				ref.Weight = nil
				if a.StableWeight != nil {
					ref.Weight = ptr(*a.StableWeight)
				}
			}
			kept = append(kept, ref)
		}
		rule.BackendRefs = kept
	}
	unrecord(route)
	return true
}

// weights returns the weights of the first stable and canary backendRefs of a rule (a missing
// weight is the Gateway API default, 1), nil when the rule does not name the Service.
func weights(ns string, rule *gatewayv1.HTTPRouteRule, b Backends) (stable, canary *int32) {
	for i := range rule.BackendRefs {
		ref := &rule.BackendRefs[i].BackendRef
		w := int32(1)
		if ref.Weight != nil {
			w = *ref.Weight
		}
		switch {
		case stable == nil && names(ns, ref, b.Stable):
			stable = ptr(w)
		case canary == nil && names(ns, ref, b.Canary):
			canary = ptr(w)
		}
	}
	return stable, canary
}

func firstRef(ns string, rule *gatewayv1.HTTPRouteRule, service string) int {
	for i := range rule.BackendRefs {
		if names(ns, &rule.BackendRefs[i].BackendRef, service) {
			return i
		}
	}
	return -1
}

// NamesService reports whether any rule of the route has a backendRef naming the Service.
func NamesService(route *gatewayv1.HTTPRoute, service string) bool {
	for i := range route.Spec.Rules {
		if firstRef(route.Namespace, &route.Spec.Rules[i], service) >= 0 {
			return true
		}
	}
	return false
}

func names(ns string, ref *gatewayv1.BackendRef, service string) bool {
	if service == "" || string(ref.Name) != service {
		return false
	}
	if ref.Group != nil && *ref.Group != "" {
		return false
	}
	if ref.Kind != nil && *ref.Kind != "Service" {
		return false
	}
	return ref.Namespace == nil || string(*ref.Namespace) == ns
}

func ptr[T any](v T) *T { return &v }
