package analyzer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slogate/slogate/analyzer/machine"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// phases are the values of the phase label.
var phases = []slogatev1alpha1.ReleasePhase{
	slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused, slogatev1alpha1.PhasePromoting,
	slogatev1alpha1.PhaseSucceeded, slogatev1alpha1.PhaseRolledBack, slogatev1alpha1.PhaseAborted,
}

// Metrics are the release engine's Prometheus metrics.
type Metrics struct {
	phase            *prometheus.GaugeVec
	weight           *prometheus.GaugeVec
	promotions       *prometheus.CounterVec
	rollbacks        *prometheus.CounterVec
	reconcileSeconds prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg (controller-runtime's
// metrics.Registry in production).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slogate_release_phase",
			Help: "1 for the phase a release is in, 0 for the others.",
		}, []string{"namespace", "release", "phase"}),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slogate_release_canary_weight",
			Help: "Percentage of traffic the release last sent to its canary.",
		}, []string{"namespace", "release"}),
		promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slogate_release_promotions_total",
			Help: "Releases that ended promoted, by reason.",
		}, []string{"reason"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slogate_release_rollbacks_total",
			Help: "Releases that sent traffic back to stable (rolled back or aborted), by reason.",
		}, []string{"reason"}),
		reconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "slogate_release_reconcile_duration_seconds",
			Help:    "Time one reconcile of a release took, gate calls included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
	}
	for _, c := range []prometheus.Collector{m.phase, m.weight, m.promotions, m.rollbacks, m.reconcileSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every reason a release can end with has its series from the start, at 0: increase() sees
	// the first promotion or rollback of a reason only as a step from a sample that was there.
	for _, reason := range machine.PromotionReasons {
		m.promotions.WithLabelValues(reason)
	}
	for _, reason := range machine.RollbackReasons {
		m.rollbacks.WithLabelValues(reason)
	}
	return m, nil
}

// observe updates the metrics after a release went from before to after.
func (m *Metrics) observe(ns, name string, before, after *slogatev1alpha1.ReleaseStatus) {
	if after.Phase == "" {
		return
	}
	for _, p := range phases {
		v := 0.0
		if p == after.Phase {
			v = 1
		}
		m.phase.WithLabelValues(ns, name, string(p)).Set(v)
	}
	m.weight.WithLabelValues(ns, name).Set(float64(after.CanaryWeight))
	if before.Phase == after.Phase {
		return
	}
	switch after.Phase {
	case slogatev1alpha1.PhaseSucceeded:
		m.promotions.WithLabelValues(after.Reason).Inc()
	case slogatev1alpha1.PhaseRolledBack, slogatev1alpha1.PhaseAborted:
		m.rollbacks.WithLabelValues(after.Reason).Inc()
	}
}
