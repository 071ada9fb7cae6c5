package analysis

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// ms makes n measurements of metric at step with verdict, their times counting from start.
func ms(step int32, metric string, v slogatev1alpha1.Verdict, n int, start int) []slogatev1alpha1.Measurement {
	out := make([]slogatev1alpha1.Measurement, n)
	for i := range out {
		out[i] = slogatev1alpha1.Measurement{Template: "t", Metric: metric, Step: step, Verdict: v,
			Time: metav1.NewTime(t0.Add(time.Duration(start+i) * time.Minute))}
	}
	return out
}

func cat(lists ...[]slogatev1alpha1.Measurement) []slogatev1alpha1.Measurement {
	var out []slogatev1alpha1.Measurement
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// ids names measurements by step, metric, verdict and minute, for readable diffs.
func ids(ms []slogatev1alpha1.Measurement) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d/%s/%s@%d", m.Step, m.Metric, m.Verdict, int(m.Time.Sub(t0)/time.Minute))
	}
	return out
}

func TestAppendMeasurements(t *testing.T) {
	const limit = slogatev1alpha1.MaxMeasurements
	S, F, E, I := slogatev1alpha1.VerdictSuccessful, slogatev1alpha1.VerdictFailed, slogatev1alpha1.VerdictError, slogatev1alpha1.VerdictInconclusive
	cases := map[string]struct {
		existing, added []slogatev1alpha1.Measurement
		want            []slogatev1alpha1.Measurement
	}{
		"under the bound: everything, in order": {
			existing: ms(0, "a", S, 3, 0),
			added:    ms(0, "a", F, 2, 3),
			want:     cat(ms(0, "a", S, 3, 0), ms(0, "a", F, 2, 3)),
		},
		"at the bound": {
			existing: ms(0, "a", E, limit-1, 0),
			added:    ms(0, "a", S, 1, limit-1),
			want:     cat(ms(0, "a", E, limit-1, 0), ms(0, "a", S, 1, limit-1)),
		},
		"oldest Successful go first, Errors stay": {
			// Step 1 passed after 10 successes; step 3 has 60 errors and 4 new ones.
			existing: cat(ms(1, "a", S, 10, 0), ms(3, "a", E, 60, 10)),
			added:    ms(3, "a", E, 4, 70),
			// 74 - 64 = 10 to drop: the 9 successes that did not decide step 1 go, then the
			// oldest error of step 3; step 1's deciding success stays.
			want: cat(ms(1, "a", S, 1, 9), ms(3, "a", E, 59, 11), ms(3, "a", E, 4, 70)),
		},
		"the latest of each metric at each step stays": {
			existing: cat(
				ms(0, "a", I, 1, 0), // decided metric a at step 0
				ms(0, "b", F, 1, 1), // decided metric b at step 0
				ms(2, "a", E, 40, 2),
				ms(2, "b", E, 30, 42),
			),
			added: ms(2, "a", F, 1, 72),
			// 73 - 64 = 9 to drop: no Successful; the oldest undecided are step 2's first 9
			// errors of metric a.
			want: cat(ms(0, "a", I, 1, 0), ms(0, "b", F, 1, 1), ms(2, "a", E, 31, 11), ms(2, "b", E, 30, 42), ms(2, "a", F, 1, 72)),
		},
		"more deciding measurements than the bound: the oldest go": {
			existing: func() []slogatev1alpha1.Measurement {
				var out []slogatev1alpha1.Measurement
				for i := range limit {
					out = append(out, ms(int32(i), "a", F, 1, i)...)
				}
				return out
			}(),
			added: ms(int32(limit), "a", F, 1, limit),
			want: func() []slogatev1alpha1.Measurement {
				var out []slogatev1alpha1.Measurement
				for i := 1; i <= limit; i++ {
					out = append(out, ms(int32(i), "a", F, 1, i)...)
				}
				return out
			}(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := ids(tc.existing)
			got := AppendMeasurements(tc.existing, tc.added)
			if len(got) > limit {
				t.Errorf("%d measurements, more than %d", len(got), limit)
			}
			if diff := cmp.Diff(ids(tc.want), ids(got)); diff != "" {
				t.Errorf("AppendMeasurements() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, ids(tc.existing)); diff != "" {
				t.Errorf("existing changed (-before +after):\n%s", diff)
			}
		})
	}
}
