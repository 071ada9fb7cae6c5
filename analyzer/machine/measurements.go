package machine

import "github.com/slogate/slogate/api/v1alpha1"

// AppendMeasurements appends new measurements and keeps at most v1alpha1.MaxMeasurements: the
// oldest go first, except the last measurement of each metric at each step (the one that decided
// it), which goes only when nothing else is left to drop.
func AppendMeasurements(old, add []v1alpha1.Measurement) []v1alpha1.Measurement {
	out := append(append([]v1alpha1.Measurement(nil), old...), add...)
	if len(out) <= v1alpha1.MaxMeasurements {
		return out
	}
	type key struct {
		template, metric string
		step             int32
	}
	last := map[key]int{}
	for i, m := range out {
		last[key{m.Template, m.Metric, m.Step}] = i
	}
	drop := len(out) - v1alpha1.MaxMeasurements
	kept := make([]v1alpha1.Measurement, 0, v1alpha1.MaxMeasurements)
	for i, m := range out {
		if drop > 0 && last[key{m.Template, m.Metric, m.Step}] != i {
			drop--
			continue
		}
		kept = append(kept, m)
	}
	// Only deciding measurements are left: drop the oldest of them.
	return kept[len(kept)-min(len(kept), v1alpha1.MaxMeasurements):]
}
