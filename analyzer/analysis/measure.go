package analysis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// metricRun is one metric of one template, ready to measure: queries and conditions rendered.
type metricRun struct {
	template string
	metric   *slogatev1alpha1.Metric

	address string
	querier Querier
	timeout time.Duration

	query            string
	minRequestsQuery string // empty when the metric has no minRequests
	minRequests      int64

	// queryGrouped and minRequestsGrouped mark queries that render the same for every release:
	// they go through cache, evaluated at an interval boundary (evaluationTime), and the release's
	// sample is taken by key.
	queryGrouped       bool
	minRequestsGrouped bool
	key                groupKey
	interval           time.Duration
	cache              *resultCache
	successCondition   string
	failureCondition   string
}

// name is how messages name the metric.
func (r *metricRun) name() string { return r.template + "/" + r.metric.Name }

// grouped reports whether a query of the metric is answered through the shared cache.
func (r *metricRun) grouped() bool {
	return r.cache != nil && (r.queryGrouped || r.minRequestsGrouped)
}

// evaluationTime is the time a measurement taken at now is evaluated at, the time its value refers
// to: now, or, when a query of the metric is grouped, the last interval boundary at or before now
// (now truncated to the interval), for all of the metric's queries alike.
func (r *metricRun) evaluationTime(now time.Time) time.Time {
	if r.grouped() {
		return now.Truncate(r.interval)
	}
	return now
}

// firstCallAt is the earliest call time whose evaluationTime is at or after earliest: earliest
// itself, or, when a query of the metric is grouped, the first interval boundary at or after it.
func (r *metricRun) firstCallAt(earliest time.Time) time.Time {
	if !r.grouped() {
		return earliest
	}
	b := earliest.Truncate(r.interval)
	if b.Before(earliest) {
		b = b.Add(r.interval)
	}
	return b
}

// singleValue extracts the one number a query must return: a scalar or a vector of exactly one
// sample, finite. Anything else is a reason for an Error verdict.
func singleValue(v model.Value) (float64, string) {
	var f float64
	switch v := v.(type) {
	case *model.Scalar:
		if v == nil {
			return 0, "no result"
		}
		f = float64(v.Value)
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, "empty result (no series matched)"
		case 1:
			f = float64(v[0].Value)
		default:
			labels := make([]string, 0, 3)
			for i, s := range v {
				if i == 3 {
					labels = append(labels, "...")
					break
				}
				labels = append(labels, s.Metric.String())
			}
			return 0, fmt.Sprintf("vector with %d samples where one was expected (%s): aggregate with sum() or select one series", len(v), strings.Join(labels, ", "))
		}
	case nil:
		return 0, "no result"
	default:
		return 0, fmt.Sprintf("result of type %s where a scalar or a one-sample vector was expected", v.Type())
	}
	switch {
	case math.IsNaN(f):
		return 0, "value is NaN (a ratio of zero requests?)"
	case math.IsInf(f, 1):
		return 0, "value is +Inf"
	case math.IsInf(f, -1):
		return 0, "value is -Inf"
	}
	return f, ""
}

// formatValue formats a measured value for the Release status: at most 10 significant digits and
// 9 decimals, which drops float noise such as 1.7e-16 for a difference of equal ratios.
func formatValue(f float64) string {
	if math.Abs(f) >= 1e9 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	f = math.Round(f*1e9) / 1e9
	if f == 0 {
		f = 0 // not -0
	}
	return strconv.FormatFloat(f, 'g', 10, 64)
}

// rounded is f as formatValue records it.
func rounded(f float64) float64 {
	if r, err := strconv.ParseFloat(formatValue(f), 64); err == nil {
		return r
	}
	return f
}

// observation is what one measurement found, before it becomes a slogatev1alpha1.Measurement.
type observation struct {
	// at is the time the measurement's queries were evaluated at: the time its value refers to.
	at      time.Time
	verdict slogatev1alpha1.Verdict
	// query is the last query sent (the minRequests query when that one decided).
	query   string
	value   string
	message string
}

// measure takes one measurement of r with every query evaluated at at (see evaluationTime), and
// records at as its time.
func (r *metricRun) measure(ctx context.Context, at time.Time) observation {
	o := r.evaluate(ctx, at)
	o.at = at
	return o
}

// evaluate evaluates r at at: the minRequests query first (if any), then the metric's query,
// then the conditions. Only a finite value that passes the conditions is Successful; every way of
// not getting such a value is Error, Inconclusive or Failed.
func (r *metricRun) evaluate(ctx context.Context, at time.Time) observation {
	if r.minRequestsQuery != "" {
		v, problem := r.queryOne(ctx, r.minRequestsQuery, r.minRequestsGrouped, true, at)
		if problem != "" {
			return observation{verdict: slogatev1alpha1.VerdictError, query: r.minRequestsQuery,
				message: fmt.Sprintf("%s: minRequests query: %s", r.name(), problem)}
		}
		if rounded(v) < float64(r.minRequests) {
			return observation{verdict: slogatev1alpha1.VerdictInconclusive, query: r.minRequestsQuery,
				message: fmt.Sprintf("%s: %s requests in the window, below minRequests %d", r.name(), formatValue(v), r.minRequests)}
		}
	}

	v, problem := r.queryOne(ctx, r.query, r.queryGrouped, false, at)
	if problem != "" {
		return observation{verdict: slogatev1alpha1.VerdictError, query: r.query, message: fmt.Sprintf("%s: %s", r.name(), problem)}
	}
	// Conditions judge the value as recorded (formatValue), so that float noise such as
	// 98.99999999999999 for an exact 99 % neither fails a `>= 99` nor contradicts the message.
	value := formatValue(v)
	result := []float64{rounded(v)}

	if r.failureCondition != "" {
		failed, err := compiledConditions.eval(r.failureCondition, result)
		if err != nil {
			return observation{verdict: slogatev1alpha1.VerdictError, query: r.query, value: value,
				message: fmt.Sprintf("%s: failureCondition: %v", r.name(), err)}
		}
		if failed {
			return observation{verdict: slogatev1alpha1.VerdictFailed, query: r.query, value: value,
				message: fmt.Sprintf("%s: value %s meets failureCondition %s", r.name(), value, r.failureCondition)}
		}
	}
	if r.successCondition != "" {
		ok, err := compiledConditions.eval(r.successCondition, result)
		if err != nil {
			return observation{verdict: slogatev1alpha1.VerdictError, query: r.query, value: value,
				message: fmt.Sprintf("%s: successCondition: %v", r.name(), err)}
		}
		if !ok {
			return observation{verdict: slogatev1alpha1.VerdictFailed, query: r.query, value: value,
				message: fmt.Sprintf("%s: value %s does not meet successCondition %s", r.name(), value, r.successCondition)}
		}
	}
	if r.successCondition == "" && r.failureCondition == "" {
		// Validation refuses this; never let a metric without a condition pass.
		return observation{verdict: slogatev1alpha1.VerdictError, query: r.query, value: value,
			message: fmt.Sprintf("%s: no successCondition or failureCondition", r.name())}
	}
	return observation{verdict: slogatev1alpha1.VerdictSuccessful, query: r.query, value: value}
}

// queryOne evaluates q at at with the metric's timeout and extracts the release's single value;
// problem is non-empty when there is no usable value. A grouped q is answered through the cache.
// In the grouped result of a request count, no sample for the release means no requests.
func (r *metricRun) queryOne(ctx context.Context, q string, grouped, requestCount bool, at time.Time) (float64, string) {
	if grouped && r.cache != nil {
		v, err := r.cache.query(ctx, r, q, at)
		if err != nil {
			return 0, describeQueryError(err, r.timeout)
		}
		f, found, problem := groupedValue(v, r.key)
		if !found && requestCount {
			return 0, ""
		}
		return f, problem
	}
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	v, err := r.querier.Query(qctx, q, at)
	observeQuery(time.Since(start), err)
	if err == nil && qctx.Err() != nil {
		// A querier that ignored its context: its answer came too late to trust.
		err = fmt.Errorf("%w", qctx.Err())
	}
	if err != nil {
		return 0, describeQueryError(err, r.timeout)
	}
	return singleValue(v)
}

// toMeasurement completes an observation with what the Release status records. Its time is the
// evaluation time, not the time of the call.
func (r *metricRun) toMeasurement(o observation, step, weight int32) slogatev1alpha1.Measurement {
	return slogatev1alpha1.Measurement{
		Template: r.template,
		Metric:   r.metric.Name,
		Step:     step,
		Weight:   weight,
		Query:    o.query,
		Value:    o.value,
		Verdict:  o.verdict,
		Message:  o.message,
		Time:     metav1.NewTime(o.at),
	}
}
