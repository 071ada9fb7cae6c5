package analysis

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var (
	queryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "slogate_analysis_query_duration_seconds",
		Help:    "Duration of the PromQL queries of SLO analysis, by result (ok or error).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"result"})

	measurementsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slogate_analysis_measurements_total",
		Help: "Measurements taken by SLO analysis, by verdict.",
	}, []string{"verdict"})
)

func init() {
	metrics.Registry.MustRegister(queryDuration, measurementsTotal)
	for _, v := range []slogatev1alpha1.Verdict{slogatev1alpha1.VerdictSuccessful, slogatev1alpha1.VerdictFailed, slogatev1alpha1.VerdictInconclusive, slogatev1alpha1.VerdictError} {
		measurementsTotal.WithLabelValues(string(v))
	}
}

func observeQuery(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	queryDuration.WithLabelValues(result).Observe(d.Seconds())
}

func countMeasurement(v slogatev1alpha1.Verdict) {
	measurementsTotal.WithLabelValues(string(v)).Inc()
}
