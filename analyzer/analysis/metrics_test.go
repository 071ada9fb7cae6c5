package analysis

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestSelfMetrics(t *testing.T) {
	h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(makeMetric("m").query(mainQuery).failureLimit(5).obj())))
	counts := func() map[slogatev1alpha1.Verdict]float64 {
		out := map[slogatev1alpha1.Verdict]float64{}
		for _, v := range []slogatev1alpha1.Verdict{slogatev1alpha1.VerdictSuccessful, slogatev1alpha1.VerdictFailed, slogatev1alpha1.VerdictError} {
			out[v] = testutil.ToFloat64(measurementsTotal.WithLabelValues(string(v)))
		}
		return out
	}
	queries := func() int { return testutil.CollectAndCount(queryDuration) }
	before := counts()
	h.querier.set(mainSent, answer{value: scalar(50)})
	h.analyzeMust(t0)
	h.querier.set(mainSent, answer{value: model.Vector{}})
	h.analyzeMust(t0.Add(time.Minute))
	after := counts()
	for v, want := range map[slogatev1alpha1.Verdict]float64{slogatev1alpha1.VerdictSuccessful: 0, slogatev1alpha1.VerdictFailed: 1, slogatev1alpha1.VerdictError: 1} {
		if got := after[v] - before[v]; got != want {
			t.Errorf("slogate_analysis_measurements_total{verdict=%q} grew by %v, want %v", v, got, want)
		}
	}
	if queries() == 0 {
		t.Error("slogate_analysis_query_duration_seconds has no series after two queries")
	}
	// Both are registered with controller-runtime's registry, which the manager serves.
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = true
	}
	for _, name := range []string{"slogate_analysis_query_duration_seconds", "slogate_analysis_measurements_total"} {
		if !found[name] {
			t.Errorf("%s is not in controller-runtime's metrics registry", name)
		}
	}
}
