package traffic

import (
	"encoding/json"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// annotation marks a route under release and records what the release changed.
const annotation = "slogate.io/weights"

// Record is the value of the release annotation of a route.
type Record struct {
	// Stable and Canary name the two Services.
	Stable string `json:"stable"`
	Canary string `json:"canary"`
	// Weight is the canary weight last written.
	Weight int32 `json:"weight"`
	// Added lists the rules the canary backendRef was added to.
	Added []AddedBackend `json:"added,omitempty"`
}

// AddedBackend is a rule that had no canary backendRef before the release.
type AddedBackend struct {
	// Rule is the index of the rule in spec.rules.
	Rule int `json:"rule"`
	// StableWeight is the weight the stable backendRef had before the release (nil: unset).
	StableWeight *int32 `json:"stableWeight,omitempty"`
}

// Recorded returns the route's release annotation, if it has one that parses.
func Recorded(route *gatewayv1.HTTPRoute) (Record, bool) {
	v, ok := route.Annotations[annotation]
	if !ok {
		return Record{}, false
	}
	var r Record
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		// A mangled annotation still marks the route; what it recorded is lost.
		return Record{}, true
	}
	return r, true
}

// record writes the annotation and reports whether it changed.
func record(route *gatewayv1.HTTPRoute, r Record) bool {
	b, err := json.Marshal(r)
	if err != nil {
		// Record has only strings and numbers; a failure is a programming error.
		panic(err)
	}
	if route.Annotations[annotation] == string(b) {
		return false
	}
	if route.Annotations == nil {
		route.Annotations = map[string]string{}
	}
	route.Annotations[annotation] = string(b)
	return true
}
