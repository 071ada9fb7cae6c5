package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// sample is a set of repeated measurements of one quantity.
type sample []float64

// median of the sample (the mean of the middle two for an even count); NaN when empty.
func (s sample) median() float64 { return s.quantile(0.5) }

// quantile by linear interpolation between order statistics; NaN when empty.
func (s sample) quantile(q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	v := slices.Clone(s)
	slices.Sort(v)
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
}

func (s sample) min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Min(s)
}

func (s sample) max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Max(s)
}

// durations turns a list of durations into a sample of milliseconds.
func durations(ds []time.Duration) sample {
	out := make(sample, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// exactQuantile is the nearest-rank quantile of sorted durations (the value below which a
// fraction q of the requests fall), as load-test reports give it.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// formatting helpers

// spread formats a sample as "median (min–max, n=N)" with the unit and format given.
func spread(s sample, format, unit string) string {
	if len(s) == 0 {
		return "–"
	}
	m := fmt.Sprintf(format, s.median())
	if len(s) == 1 {
		return m + unit + " (n=1)"
	}
	return fmt.Sprintf("%s%s (%s–%s, n=%d)", m, unit, fmt.Sprintf(format, s.min()), fmt.Sprintf(format, s.max()), len(s))
}
