package webhook

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the webhook's decisions.
type Metrics struct {
	decisions *prometheus.CounterVec
}

// NewMetrics creates the webhook's metrics and registers them with reg:
// slogate_admission_decisions_total{kind,decision}. Registering twice with the same registry
// returns the collectors registered first.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slogate_admission_decisions_total",
		Help: "Admission requests answered by the slogate webhook, by object kind and decision.",
	}, []string{"kind", "decision"})
	if err := reg.Register(decisions); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("registering slogate_admission_decisions_total: %w", err)
		}
		existing, ok := already.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, fmt.Errorf("registering slogate_admission_decisions_total: %w", err)
		}
		decisions = existing
	}
	return &Metrics{decisions: decisions}, nil
}

// observe counts one decision. A nil Metrics counts nothing.
func (m *Metrics) observe(kind string, d Decision) {
	if m == nil {
		return
	}
	m.decisions.WithLabelValues(kind, string(d)).Inc()
}
