package analyzer

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slogate/slogate/analyzer/machine"
)

// TestCountersStartAtZero checks that every reason a release can end with has its promotion or
// rollback series at 0 before the first release, so that increase() counts the first one.
func TestCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s%v = %v before any release, want 0", f.GetName(), m.GetLabel(), v)
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					got[f.GetName()] = append(got[f.GetName()], l.GetValue())
				}
			}
		}
	}
	for _, reasons := range got {
		slices.Sort(reasons)
	}
	want := map[string][]string{
		"slogate_release_promotions_total": slices.Sorted(slices.Values(machine.PromotionReasons)),
		"slogate_release_rollbacks_total":  slices.Sorted(slices.Values(machine.RollbackReasons)),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reason series before any release (-want +got):\n%s", diff)
	}
}
