package analysis

import (
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// AppendMeasurements appends added to existing and bounds the result to slogatev1alpha1.MaxMeasurements,
// oldest first. When there are too many it drops, oldest first: Successful measurements, then
// the other ones, and last of all the measurements that decided: the latest of each metric at
// each step, which is the one that failed, errored out or passed that step. The order is kept.
// It never changes existing.
func AppendMeasurements(existing, added []slogatev1alpha1.Measurement) []slogatev1alpha1.Measurement {
	all := make([]slogatev1alpha1.Measurement, 0, len(existing)+len(added))
	all = append(all, existing...)
	all = append(all, added...)
	excess := len(all) - slogatev1alpha1.MaxMeasurements
	if excess <= 0 {
		return all
	}

	type key struct {
		step             int32
		template, metric string
	}
	latest := map[key]int{}
	for i, m := range all {
		latest[key{m.Step, m.Template, m.Metric}] = i
	}
	decided := make([]bool, len(all))
	for _, i := range latest {
		decided[i] = true
	}

	drop := make([]bool, len(all))
	passes := []func(i int) bool{
		func(i int) bool { return !decided[i] && all[i].Verdict == slogatev1alpha1.VerdictSuccessful },
		func(i int) bool { return !decided[i] },
		func(int) bool { return true },
	}
	for _, droppable := range passes {
		for i := 0; i < len(all) && excess > 0; i++ {
			if !drop[i] && droppable(i) {
				drop[i] = true
				excess--
			}
		}
	}
	kept := all[:0]
	for i, m := range all {
		if !drop[i] {
			kept = append(kept, m)
		}
	}
	return kept
}
