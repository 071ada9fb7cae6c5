package analysis

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Defaults of a Metric's optional fields.
const (
	DefaultInterval              = time.Minute
	DefaultTimeout               = 10 * time.Second
	DefaultCount                 = 1
	DefaultFailureLimit          = 0
	DefaultInconclusiveLimit     = 3
	DefaultConsecutiveErrorLimit = 4
)

// limits are a metric's thresholds with defaults applied.
type limits struct {
	count             int32
	failure           int32
	inconclusive      int32
	consecutiveErrors int32
}

func limitsOf(m *slogatev1alpha1.Metric) limits {
	l := limits{
		count:             DefaultCount,
		failure:           DefaultFailureLimit,
		inconclusive:      DefaultInconclusiveLimit,
		consecutiveErrors: DefaultConsecutiveErrorLimit,
	}
	if m.Count != nil {
		l.count = max(*m.Count, 1)
	}
	if m.FailureLimit != nil {
		l.failure = max(*m.FailureLimit, 0)
	}
	if m.InconclusiveLimit != nil {
		l.inconclusive = max(*m.InconclusiveLimit, 0)
	}
	if m.ConsecutiveErrorLimit != nil {
		l.consecutiveErrors = max(*m.ConsecutiveErrorLimit, 0)
	}
	return l
}

func intervalOf(m *slogatev1alpha1.Metric) time.Duration {
	if m.Interval != nil && m.Interval.Duration > 0 {
		return m.Interval.Duration
	}
	return DefaultInterval
}

func windowOf(m *slogatev1alpha1.Metric) time.Duration {
	if m.Window != nil && m.Window.Duration > 0 {
		return m.Window.Duration
	}
	return intervalOf(m)
}

func initialDelayOf(m *slogatev1alpha1.Metric) time.Duration {
	if m.InitialDelay != nil && m.InitialDelay.Duration > 0 {
		return m.InitialDelay.Duration
	}
	return 0
}

// nextDue is the earliest evaluation time of a metric's next measurement: its initial delay after
// the step started for the first measurement, its interval after the last one's evaluation time
// otherwise.
func nextDue(m *slogatev1alpha1.Metric, st *slogatev1alpha1.MetricStatus, stepStarted time.Time) time.Time {
	if st.LastMeasuredAt == nil {
		return stepStarted.Add(initialDelayOf(m))
	}
	return st.LastMeasuredAt.Add(intervalOf(m))
}

// record counts one verdict, evaluated at at, into st and sets its phase: Failed once a limit is exceeded,
// Successful while the metric has at least count successes and this verdict is Successful, empty
// otherwise. A Failed phase is final.
func record(st slogatev1alpha1.MetricStatus, v slogatev1alpha1.Verdict, lim limits, at time.Time) slogatev1alpha1.MetricStatus {
	if st.Phase == slogatev1alpha1.VerdictFailed {
		return st
	}
	t := metav1.NewTime(at)
	st.LastMeasuredAt = &t
	switch v {
	case slogatev1alpha1.VerdictSuccessful:
		st.Successful++
		st.ConsecutiveErrors = 0
	case slogatev1alpha1.VerdictFailed:
		st.Failed++
		st.ConsecutiveErrors = 0
	case slogatev1alpha1.VerdictInconclusive:
		st.Inconclusive++
		st.ConsecutiveErrors = 0
	default:
		// Error, and anything that is not a known verdict, counts as an error.
		st.Error++
		st.ConsecutiveErrors++
	}
	switch {
	case breach(st, lim) != "":
		st.Phase = slogatev1alpha1.VerdictFailed
	case v == slogatev1alpha1.VerdictSuccessful && st.Successful >= lim.count:
		st.Phase = slogatev1alpha1.VerdictSuccessful
	default:
		st.Phase = ""
	}
	return st
}

// breach says which limit st exceeds, or "" when none.
func breach(st slogatev1alpha1.MetricStatus, lim limits) string {
	switch {
	case st.Failed > lim.failure:
		return fmt.Sprintf("%d Failed measurements, above failureLimit %d", st.Failed, lim.failure)
	case st.Inconclusive > lim.inconclusive:
		return fmt.Sprintf("%d Inconclusive measurements, above inconclusiveLimit %d", st.Inconclusive, lim.inconclusive)
	case st.ConsecutiveErrors > lim.consecutiveErrors:
		return fmt.Sprintf("%d Error measurements in a row, above consecutiveErrorLimit %d", st.ConsecutiveErrors, lim.consecutiveErrors)
	}
	return ""
}
