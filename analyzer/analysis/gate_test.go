package analysis

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

const (
	mainQuery   = `sum(rate(x{slogate_io_revision="{{ .Revision }}"}[{{ .Window }}]))`
	mainSent    = `sum(rate(x{slogate_io_revision="c4n4ry"}[1m]))`
	minReqQuery = `sum(increase(x{slogate_io_revision="{{ .Revision }}"}[{{ .Window }}])) or vector(0)`
	minReqSent  = `sum(increase(x{slogate_io_revision="c4n4ry"}[1m])) or vector(0)`
)

// verdictPath is one way a measurement can come out.
type verdictPath struct {
	metric      func(*metricBuilder)
	answers     map[string]answer
	wantVerdict slogatev1alpha1.Verdict
	wantValue   string
	// wantMessage is a part of the measurement's message.
	wantMessage string
	wantQuery   string
}

// verdictPaths enumerates every verdict path a measurement over the fake querier can take.
func verdictPaths() map[string]verdictPath {
	promErr := &promv1.Error{Type: promv1.ErrBadData, Msg: "1:5: parse error: unexpected end of input"}
	withMinRequests := func(b *metricBuilder) { b.minRequests(minReqQuery, 100) }
	return map[string]verdictPath{
		"scalar meeting successCondition": {
			answers:     map[string]answer{mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictSuccessful, wantValue: "99.9", wantQuery: mainSent,
		},
		"float noise at the threshold": {
			// 100 * (990/1000) as Prometheus computes it.
			answers:     map[string]answer{mainSent: {value: scalar(98.99999999999999)}},
			metric:      func(b *metricBuilder) { b.success("result[0] >= 99") },
			wantVerdict: slogatev1alpha1.VerdictSuccessful, wantValue: "99", wantQuery: mainSent,
		},
		"just below the threshold": {
			answers:     map[string]answer{mainSent: {value: scalar(98.9999999)}},
			metric:      func(b *metricBuilder) { b.success("result[0] >= 99") },
			wantVerdict: slogatev1alpha1.VerdictFailed, wantValue: "98.9999999", wantQuery: mainSent,
			wantMessage: "value 98.9999999 does not meet successCondition result[0] >= 99",
		},
		"one-sample vector meeting successCondition": {
			answers:     map[string]answer{mainSent: {value: vector(99.5)}},
			wantVerdict: slogatev1alpha1.VerdictSuccessful, wantValue: "99.5", wantQuery: mainSent,
		},
		"value not meeting successCondition": {
			answers:     map[string]answer{mainSent: {value: scalar(97.25)}},
			wantVerdict: slogatev1alpha1.VerdictFailed, wantValue: "97.25", wantQuery: mainSent,
			wantMessage: "t/m: value 97.25 does not meet successCondition result[0] >= 99.5",
		},
		"failureCondition holds": {
			metric:      func(b *metricBuilder) { b.failure("result[0] < 98") },
			answers:     map[string]answer{mainSent: {value: scalar(97)}},
			wantVerdict: slogatev1alpha1.VerdictFailed, wantValue: "97", wantQuery: mainSent,
			wantMessage: "t/m: value 97 meets failureCondition result[0] < 98",
		},
		"failureCondition holds while successCondition holds too": {
			metric:      func(b *metricBuilder) { b.success("result[0] >= 0").failure("result[0] < 98") },
			answers:     map[string]answer{mainSent: {value: scalar(97)}},
			wantVerdict: slogatev1alpha1.VerdictFailed, wantValue: "97", wantQuery: mainSent,
			wantMessage: "meets failureCondition",
		},
		"only failureCondition, not holding": {
			metric:      func(b *metricBuilder) { b.success("").failure("result[0] < 98") },
			answers:     map[string]answer{mainSent: {value: scalar(99)}},
			wantVerdict: slogatev1alpha1.VerdictSuccessful, wantValue: "99", wantQuery: mainSent,
		},
		"query error": {
			answers:     map[string]answer{mainSent: {err: promErr}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "t/m: query failed (bad_data)",
		},
		"query timeout": {
			metric:      func(b *metricBuilder) { b.timeout(20 * time.Millisecond) },
			answers:     map[string]answer{mainSent: {block: true}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "t/m: query timed out after 20ms",
		},
		"empty vector": {
			answers:     map[string]answer{mainSent: {value: model.Vector{}}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "empty result",
		},
		"no answer at all": {
			answers:     map[string]answer{mainSent: {}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "no result",
		},
		"NaN scalar": {
			answers:     map[string]answer{mainSent: {value: scalar(nan)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "value is NaN",
		},
		"NaN sample": {
			answers:     map[string]answer{mainSent: {value: vector(nan)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "value is NaN",
		},
		"+Inf": {
			answers:     map[string]answer{mainSent: {value: vector(posInf)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "value is +Inf",
		},
		"-Inf": {
			answers:     map[string]answer{mainSent: {value: scalar(negInf)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "value is -Inf",
		},
		"matrix": {
			answers: map[string]answer{mainSent: {value: model.Matrix{
				{Metric: model.Metric{}, Values: []model.SamplePair{{Value: 99.9}}},
			}}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "result of type matrix where a scalar or a one-sample vector was expected",
		},
		"string": {
			answers:     map[string]answer{mainSent: {value: &model.String{Value: "99.9"}}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "result of type string",
		},
		"vector with two samples": {
			answers:     map[string]answer{mainSent: {value: vector(99.9, 99.8)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: `vector with 2 samples where one was expected ({slogate_io_revision="ra"}, {slogate_io_revision="rb"})`,
		},
		"condition fails to evaluate": {
			metric:      func(b *metricBuilder) { b.success("result[1] > 0") },
			answers:     map[string]answer{mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantValue: "99.9", wantQuery: mainSent,
			wantMessage: "t/m: successCondition: evaluating",
		},
		"requests below minRequests": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: vector(3)}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictInconclusive, wantQuery: minReqSent,
			wantMessage: "t/m: 3 requests in the window, below minRequests 100",
		},
		"no requests": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: vector(0)}, mainSent: {value: scalar(nan)}},
			wantVerdict: slogatev1alpha1.VerdictInconclusive, wantQuery: minReqSent,
			wantMessage: "0 requests in the window",
		},
		"requests at minRequests, value meeting successCondition": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: vector(100)}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictSuccessful, wantValue: "99.9", wantQuery: mainSent,
		},
		"requests at minRequests, value not meeting successCondition": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: vector(1000)}, mainSent: {value: scalar(90)}},
			wantVerdict: slogatev1alpha1.VerdictFailed, wantValue: "90", wantQuery: mainSent,
			wantMessage: "does not meet successCondition",
		},
		"requests at minRequests, empty value": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: vector(1000)}, mainSent: {value: model.Vector{}}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: mainSent,
			wantMessage: "empty result",
		},
		"minRequests query error": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {err: promErr}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: minReqSent,
			wantMessage: "t/m: minRequests query: query failed (bad_data)",
		},
		"minRequests query empty": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: model.Vector{}}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: minReqSent,
			wantMessage: "minRequests query: empty result",
		},
		"minRequests query NaN": {
			metric:      withMinRequests,
			answers:     map[string]answer{minReqSent: {value: scalar(nan)}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: minReqSent,
			wantMessage: "minRequests query: value is NaN",
		},
		"minRequests query timeout": {
			metric:      func(b *metricBuilder) { withMinRequests(b); b.timeout(20 * time.Millisecond) },
			answers:     map[string]answer{minReqSent: {block: true}, mainSent: {value: scalar(99.9)}},
			wantVerdict: slogatev1alpha1.VerdictError, wantQuery: minReqSent,
			wantMessage: "minRequests query: query timed out",
		},
	}
}

// pathMetric is the metric "m" of a verdict path.
func pathMetric(name string, p verdictPath) slogatev1alpha1.Metric {
	b := makeMetric(name).query(mainQuery)
	if p.metric != nil {
		p.metric(b)
	}
	return b.obj()
}

func TestAnalyzeVerdictPaths(t *testing.T) {
	for name, tc := range verdictPaths() {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(pathMetric("m", tc))))
			for q, a := range tc.answers {
				h.querier.set(q, a)
			}
			res := h.analyzeMust(t0)
			if len(res.Measurements) != 1 {
				t.Fatalf("got %d measurements, want 1", len(res.Measurements))
			}
			got := res.Measurements[0]
			if !strings.Contains(got.Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", got.Message, tc.wantMessage)
			}
			if tc.wantVerdict != slogatev1alpha1.VerdictSuccessful && got.Message == "" {
				t.Errorf("a %s measurement has no message", got.Verdict)
			}
			got.Message = ""
			want := slogatev1alpha1.Measurement{
				Template: "t", Metric: "m", Step: 2, Weight: 5,
				Query: tc.wantQuery, Value: tc.wantValue, Verdict: tc.wantVerdict, Time: metav1.NewTime(t0),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("measurement mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOnlyMeasuredSuccessIsSuccessful proves the fail-closed rule over every verdict path: a step
// is Successful only when every metric's latest measurement was a measured success. Each path is
// run alone (once, and repeated at every interval until the step ends or ten calls pass), and
// every pair of paths is run as two metrics of one template.
func TestOnlyMeasuredSuccessIsSuccessful(t *testing.T) {
	paths := verdictPaths()
	for name, tc := range paths {
		t.Run("alone/"+name, func(t *testing.T) {
			h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(pathMetric("m", tc))))
			for q, a := range tc.answers {
				h.querier.set(q, a)
			}
			for call := range 10 {
				res := h.analyzeMust(t0.Add(time.Duration(call) * time.Minute))
				if res.Outcome == gate.Successful && tc.wantVerdict != slogatev1alpha1.VerdictSuccessful {
					t.Fatalf("call %d: outcome Successful from a %s measurement (%s)", call, tc.wantVerdict, res.Message)
				}
				if tc.wantVerdict == slogatev1alpha1.VerdictSuccessful && res.Outcome != gate.Successful {
					t.Fatalf("call %d: outcome %s from a Successful measurement (%s)", call, res.Outcome, res.Message)
				}
				if res.Outcome != gate.Running {
					return
				}
			}
		})
	}
	for nameA, a := range paths {
		for nameB, b := range paths {
			t.Run("pair/"+nameA+"+"+nameB, func(t *testing.T) {
				ma := pathMetric("a", a)
				mb := pathMetric("b", b)
				// The two metrics query different series.
				mb.Provider.Prometheus.Query = strings.ReplaceAll(mb.Provider.Prometheus.Query, "x{", "y{")
				if mb.MinRequests != nil {
					mb.MinRequests.Query = strings.ReplaceAll(mb.MinRequests.Query, "x{", "y{")
				}
				h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(ma, mb)))
				for q, ans := range a.answers {
					h.querier.set(q, ans)
				}
				for q, ans := range b.answers {
					h.querier.set(strings.ReplaceAll(q, "x{", "y{"), ans)
				}
				res := h.analyzeMust(t0)
				bothPassed := a.wantVerdict == slogatev1alpha1.VerdictSuccessful && b.wantVerdict == slogatev1alpha1.VerdictSuccessful
				if got := res.Outcome == gate.Successful; got != bothPassed {
					t.Errorf("outcome %s (%s) with verdicts %s and %s", res.Outcome, res.Message, a.wantVerdict, b.wantVerdict)
				}
			})
		}
	}
}

// TestJudgeEverySequence checks the counters and the outcome for every sequence of up to six
// verdicts, against a direct reading of the rules: Failed once failed > failureLimit,
// inconclusive > inconclusiveLimit or consecutive errors > consecutiveErrorLimit; else Successful
// when there are count successes and the latest verdict is Successful; else Running.
func TestJudgeEverySequence(t *testing.T) {
	verdicts := []slogatev1alpha1.Verdict{slogatev1alpha1.VerdictSuccessful, slogatev1alpha1.VerdictFailed, slogatev1alpha1.VerdictInconclusive, slogatev1alpha1.VerdictError}
	metrics := map[string]slogatev1alpha1.Metric{
		"defaults":                   makeMetric("m").obj(),
		"count 2, limits 1":          makeMetric("m").count(2).failureLimit(1).inconclusiveLimit(1).consecutiveErrorLimit(1).obj(),
		"count 3, limits 0":          makeMetric("m").count(3).failureLimit(0).inconclusiveLimit(0).consecutiveErrorLimit(0).obj(),
		"count 1, failure 2":         makeMetric("m").failureLimit(2).obj(),
		"count 2, errors 2 in a row": makeMetric("m").count(2).consecutiveErrorLimit(2).obj(),
	}
	for name, m := range metrics {
		t.Run(name, func(t *testing.T) {
			lim := limitsOf(&m)
			runs := []*metricRun{{template: "t", metric: &m}}
			var walk func(seq []slogatev1alpha1.Verdict)
			walk = func(seq []slogatev1alpha1.Verdict) {
				if len(seq) > 0 {
					st := slogatev1alpha1.MetricStatus{Template: "t", Metric: "m"}
					for i, v := range seq {
						st = record(st, v, lim, t0.Add(time.Duration(i)*time.Minute))
					}
					got, msg := judge(runs, []slogatev1alpha1.MetricStatus{st}, nil)
					if want := expectedOutcome(seq, lim); got != want {
						t.Errorf("%v: outcome %s (%s), want %s", seq, got, msg, want)
					}
				}
				if len(seq) == 6 {
					return
				}
				for _, v := range verdicts {
					walk(append(append([]slogatev1alpha1.Verdict(nil), seq...), v))
				}
			}
			walk(nil)
		})
	}
}

// expectedOutcome reads the rules off a verdict sequence without the gate's counters.
func expectedOutcome(seq []slogatev1alpha1.Verdict, lim limits) gate.Outcome {
	var s, f, i, run int32
	for _, v := range seq {
		switch v {
		case slogatev1alpha1.VerdictSuccessful:
			s, run = s+1, 0
		case slogatev1alpha1.VerdictFailed:
			f, run = f+1, 0
		case slogatev1alpha1.VerdictInconclusive:
			i, run = i+1, 0
		case slogatev1alpha1.VerdictError:
			run++
		}
		if f > lim.failure || i > lim.inconclusive || run > lim.consecutiveErrors {
			return gate.Failed
		}
	}
	if seq[len(seq)-1] == slogatev1alpha1.VerdictSuccessful && s >= lim.count {
		return gate.Successful
	}
	return gate.Running
}

// sequenceStep is one call of a scripted run: the answer of the main query and what must follow.
type sequenceStep struct {
	answer       answer
	wantOutcome  gate.Outcome
	wantCounters slogatev1alpha1.MetricStatus // Successful..ConsecutiveErrors and Phase
}

func counters(s, f, i, e, ce int32, phase slogatev1alpha1.Verdict) slogatev1alpha1.MetricStatus {
	return slogatev1alpha1.MetricStatus{Successful: s, Failed: f, Inconclusive: i, Error: e, ConsecutiveErrors: ce, Phase: phase}
}

func TestAnalyzeLimits(t *testing.T) {
	ok := answer{value: scalar(99.9)}
	bad := answer{value: scalar(90)}
	empty := answer{value: model.Vector{}}
	cases := map[string]struct {
		metric    slogatev1alpha1.Metric
		minReq    []answer // answers of the minRequests query, by call; nil when the metric has none
		steps     []sequenceStep
		wantFinal string // part of the last message
	}{
		"failureLimit defaults to 0": {
			metric: makeMetric("m").query(mainQuery).obj(),
			steps: []sequenceStep{
				{bad, gate.Failed, counters(0, 1, 0, 0, 0, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "analysis failed: t/m: 1 Failed measurements, above failureLimit 0; last measurement: t/m: value 90 does not meet successCondition result[0] >= 99.5",
		},
		"failureLimit 2 tolerates two failures": {
			metric: makeMetric("m").query(mainQuery).failureLimit(2).count(3).obj(),
			steps: []sequenceStep{
				{bad, gate.Running, counters(0, 1, 0, 0, 0, "")},
				{ok, gate.Running, counters(1, 1, 0, 0, 0, "")},
				{bad, gate.Running, counters(1, 2, 0, 0, 0, "")},
				{bad, gate.Failed, counters(1, 3, 0, 0, 0, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "3 Failed measurements, above failureLimit 2",
		},
		"consecutiveErrorLimit defaults to 4 and a success resets the run": {
			metric: makeMetric("m").query(mainQuery).count(2).obj(),
			steps: []sequenceStep{
				{empty, gate.Running, counters(0, 0, 0, 1, 1, "")},
				{empty, gate.Running, counters(0, 0, 0, 2, 2, "")},
				{empty, gate.Running, counters(0, 0, 0, 3, 3, "")},
				{empty, gate.Running, counters(0, 0, 0, 4, 4, "")},
				{ok, gate.Running, counters(1, 0, 0, 4, 0, "")},
				{empty, gate.Running, counters(1, 0, 0, 5, 1, "")},
				{empty, gate.Running, counters(1, 0, 0, 6, 2, "")},
				{empty, gate.Running, counters(1, 0, 0, 7, 3, "")},
				{empty, gate.Running, counters(1, 0, 0, 8, 4, "")},
				{empty, gate.Failed, counters(1, 0, 0, 9, 5, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "analysis failed: t/m: 5 Error measurements in a row, above consecutiveErrorLimit 4",
		},
		"count 3 needs three successes and a successful latest": {
			metric: makeMetric("m").query(mainQuery).count(3).failureLimit(5).obj(),
			steps: []sequenceStep{
				{ok, gate.Running, counters(1, 0, 0, 0, 0, "")},
				{ok, gate.Running, counters(2, 0, 0, 0, 0, "")},
				{bad, gate.Running, counters(2, 1, 0, 0, 0, "")},
				{ok, gate.Successful, counters(3, 1, 0, 0, 0, slogatev1alpha1.VerdictSuccessful)},
			},
			wantFinal: "analysis passed: t/m 99.9",
		},
		"inconclusiveLimit defaults to 3": {
			metric: makeMetric("m").query(mainQuery).minRequests(minReqQuery, 10).obj(),
			minReq: []answer{{value: scalar(1)}, {value: scalar(2)}, {value: scalar(0)}, {value: scalar(9)}},
			steps: []sequenceStep{
				{ok, gate.Running, counters(0, 0, 1, 0, 0, "")},
				{ok, gate.Running, counters(0, 0, 2, 0, 0, "")},
				{ok, gate.Running, counters(0, 0, 3, 0, 0, "")},
				{ok, gate.Failed, counters(0, 0, 4, 0, 0, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "analysis failed: t/m: 4 Inconclusive measurements, above inconclusiveLimit 3; last measurement: t/m: 9 requests in the window, below minRequests 10",
		},
		"inconclusiveLimit 0": {
			metric: makeMetric("m").query(mainQuery).minRequests(minReqQuery, 10).inconclusiveLimit(0).obj(),
			minReq: []answer{{value: scalar(1)}},
			steps: []sequenceStep{
				{ok, gate.Failed, counters(0, 0, 1, 0, 0, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "1 Inconclusive measurements, above inconclusiveLimit 0",
		},
		"an Inconclusive resets the error run": {
			metric: makeMetric("m").query(mainQuery).minRequests(minReqQuery, 10).consecutiveErrorLimit(1).obj(),
			minReq: []answer{{value: scalar(10)}, {value: scalar(1)}, {value: scalar(10)}, {value: scalar(10)}},
			steps: []sequenceStep{
				{empty, gate.Running, counters(0, 0, 0, 1, 1, "")},
				{empty, gate.Running, counters(0, 0, 1, 1, 0, "")},
				{empty, gate.Running, counters(0, 0, 1, 2, 1, "")},
				{empty, gate.Failed, counters(0, 0, 1, 3, 2, slogatev1alpha1.VerdictFailed)},
			},
			wantFinal: "2 Error measurements in a row, above consecutiveErrorLimit 1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(tc.metric)))
			var res gate.Result
			for call, s := range tc.steps {
				h.querier.set(mainSent, s.answer)
				if tc.minReq != nil {
					h.querier.set(minReqSent, tc.minReq[call])
				}
				now := t0.Add(time.Duration(call) * time.Minute)
				res = h.analyzeMust(now)
				if res.Outcome != s.wantOutcome {
					t.Fatalf("call %d: outcome %s (%s), want %s", call, res.Outcome, res.Message, s.wantOutcome)
				}
				want := s.wantCounters
				want.Template, want.Metric, want.Step = "t", "m", 2
				want.LastMeasuredAt = ptr.To(metav1.NewTime(now))
				if diff := cmp.Diff([]slogatev1alpha1.MetricStatus{want}, res.Metrics); diff != "" {
					t.Fatalf("call %d: metrics mismatch (-want +got):\n%s", call, diff)
				}
			}
			if !strings.Contains(res.Message, tc.wantFinal) {
				t.Errorf("final message %q does not contain %q", res.Message, tc.wantFinal)
			}
			// A decided step stays decided and measures nothing more.
			if res.Outcome == gate.Running {
				return
			}
			sent := len(h.querier.queries())
			again := h.analyzeMust(t0.Add(time.Hour))
			if again.Outcome != res.Outcome || len(again.Measurements) != 0 || len(h.querier.queries()) != sent {
				t.Errorf("after the verdict: outcome %s with %d measurements and %d more queries, want %s with none",
					again.Outcome, len(again.Measurements), len(h.querier.queries())-sent, res.Outcome)
			}
		})
	}
}

func TestAnalyzeTiming(t *testing.T) {
	m := makeMetric("m").query(mainQuery).count(2).interval(time.Minute).initialDelay(30 * time.Second).obj()
	h := newHarness(t, stepOf(clusterRef("t")), clusterTemplate("t", specOf(m)))
	h.querier.set(mainSent, answer{value: scalar(99.9)})

	calls := []struct {
		at               time.Duration // after the step started
		wantMeasurements int
		wantRequeue      time.Duration
		wantOutcome      gate.Outcome
	}{
		{at: 0, wantMeasurements: 0, wantRequeue: 30 * time.Second, wantOutcome: gate.Running},
		{at: 29 * time.Second, wantMeasurements: 0, wantRequeue: time.Second, wantOutcome: gate.Running},
		{at: 30 * time.Second, wantMeasurements: 1, wantRequeue: time.Minute, wantOutcome: gate.Running},
		{at: 60 * time.Second, wantMeasurements: 0, wantRequeue: 30 * time.Second, wantOutcome: gate.Running},
		{at: 95 * time.Second, wantMeasurements: 1, wantOutcome: gate.Successful},
	}
	for _, c := range calls {
		res := h.analyzeMust(t0.Add(c.at))
		if len(res.Measurements) != c.wantMeasurements || res.RequeueAfter != c.wantRequeue || res.Outcome != c.wantOutcome {
			t.Errorf("at %s: %d measurements, requeue %s, outcome %s; want %d, %s, %s",
				c.at, len(res.Measurements), res.RequeueAfter, res.Outcome, c.wantMeasurements, c.wantRequeue, c.wantOutcome)
		}
	}
}

func TestAnalyzeMultipleMetricsAndTemplates(t *testing.T) {
	fast := makeMetric("fast").query(`fast{rev="{{ .Revision }}"}`).interval(10 * time.Second).obj()
	slow := makeMetric("slow").query(`slow{rev="{{ .Revision }}"}`).interval(time.Minute).obj()
	latency := makeMetric("p95").query(`p95{app="{{ .App }}"}`).success("result[0] < 350").failureLimit(1).obj()
	h := newHarness(t, stepOf(clusterRef("a"), slogatev1alpha1.TemplateRef{TemplateName: "b"}),
		clusterTemplate("a", specOf(fast, slow)),
		namespacedTemplate("prod", "b", specOf(latency)))
	h.querier.set(`fast{rev="c4n4ry"}`, answer{value: scalar(99.9)})
	h.querier.set(`slow{rev="c4n4ry"}`, answer{value: scalar(99.9)})

	calls := []struct {
		at          time.Duration
		p95         float64
		wantMetrics []string // measured in this call
		wantOutcome gate.Outcome
		wantRequeue time.Duration
		wantMessage string
	}{
		{at: 0, p95: 400, wantMetrics: []string{"a/fast", "a/slow", "b/p95"}, wantOutcome: gate.Running, wantRequeue: 10 * time.Second,
			wantMessage: "analysis running: b/p95 0/1 Successful (b/p95: value 400 does not meet successCondition result[0] < 350)"},
		{at: 10 * time.Second, p95: 400, wantMetrics: []string{"a/fast"}, wantOutcome: gate.Running, wantRequeue: 10 * time.Second,
			wantMessage: "analysis running: b/p95 0/1 Successful"},
		{at: 60 * time.Second, p95: 300, wantMetrics: []string{"a/fast", "a/slow", "b/p95"}, wantOutcome: gate.Successful,
			wantMessage: "analysis passed: a/fast 99.9, a/slow 99.9, b/p95 300"},
	}
	for _, c := range calls {
		h.querier.set(`p95{app="payments-api"}`, answer{value: scalar(c.p95)})
		res := h.analyzeMust(t0.Add(c.at))
		var measured []string
		for _, m := range res.Measurements {
			measured = append(measured, m.Template+"/"+m.Metric)
		}
		if diff := cmp.Diff(c.wantMetrics, measured); diff != "" {
			t.Errorf("at %s: measured metrics mismatch (-want +got):\n%s", c.at, diff)
		}
		if res.Outcome != c.wantOutcome || res.RequeueAfter != c.wantRequeue || !strings.Contains(res.Message, c.wantMessage) {
			t.Errorf("at %s: outcome %s, requeue %s, message %q; want %s, %s, %q",
				c.at, res.Outcome, res.RequeueAfter, res.Message, c.wantOutcome, c.wantRequeue, c.wantMessage)
		}
		if len(res.Metrics) != 3 {
			t.Errorf("at %s: %d metric statuses, want 3", c.at, len(res.Metrics))
		}
	}
}

func TestAnalyzeResolution(t *testing.T) {
	tmpl := func(args ...slogatev1alpha1.Argument) *slogatev1alpha1.AnalysisTemplateSpec {
		return withArgs(specOf(makeMetric("m").
			query(`q{ns="{{ .Namespace }}",app="{{ .App }}",rev="{{ .Revision }}",stable="{{ .StableRevision }}",w="{{ .Window }}",job="{{ .Args.job }}"}`).
			success("result[0] >= {{ .Args.threshold }}").window(5*time.Minute).obj()), args...)
	}
	threshold := slogatev1alpha1.Argument{Name: "threshold", Value: ptr.To("99")}
	cases := map[string]struct {
		objs      []client.Object
		step      *slogatev1alpha1.AnalysisStep
		wantQuery string
		// wantErr is a part of the error; wantNotFound asks for an error apierrors.IsNotFound.
		wantErr      string
		wantNotFound bool
	}{
		"namespaced template, template args": {
			objs:      []client.Object{namespacedTemplate("prod", "t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step:      stepOf(slogatev1alpha1.TemplateRef{TemplateName: "t"}),
			wantQuery: `q{ns="prod",app="payments-api",rev="c4n4ry",stable="st4b1e",w="5m",job="api"}`,
		},
		"cluster template, step arg overrides": {
			objs: []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{clusterRef("t")},
				Args: []slogatev1alpha1.Argument{{Name: "job", Value: ptr.To("web")}}},
			wantQuery: `q{ns="prod",app="payments-api",rev="c4n4ry",stable="st4b1e",w="5m",job="web"}`,
		},
		"step gives an argument the template leaves open": {
			objs: []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job"}))},
			step: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{clusterRef("t")},
				Args: []slogatev1alpha1.Argument{{Name: "job", Value: ptr.To("web")}}},
			wantQuery: `q{ns="prod",app="payments-api",rev="c4n4ry",stable="st4b1e",w="5m",job="web"}`,
		},
		"argument without a value": {
			objs:    []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job"}))},
			step:    stepOf(clusterRef("t")),
			wantErr: "ClusterAnalysisTemplate t: argument job has no value: give it in the analysis step's args",
		},
		"step argument without a value": {
			objs: []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job"}))},
			step: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{clusterRef("t")},
				Args: []slogatev1alpha1.Argument{{Name: "job"}}},
			wantErr: "analysis step args[0] (job) has no value",
		},
		"step argument no template declares": {
			objs: []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{clusterRef("t")},
				Args: []slogatev1alpha1.Argument{{Name: "jbo", Value: ptr.To("web")}}},
			wantErr: "analysis step args jbo are declared by none of its templates",
		},
		"step argument that does not compile in a condition": {
			objs: []client.Object{clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{clusterRef("t")},
				Args: []slogatev1alpha1.Argument{{Name: "threshold", Value: ptr.To("high")}}},
			wantErr: `ClusterAnalysisTemplate t metric m: successCondition "result[0] >= high"`,
		},
		"namespaced template in another namespace": {
			objs:         []client.Object{namespacedTemplate("other", "t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step:         stepOf(slogatev1alpha1.TemplateRef{TemplateName: "t"}),
			wantErr:      "getting AnalysisTemplate prod/t",
			wantNotFound: true,
		},
		"cluster template missing": {
			objs:         []client.Object{namespacedTemplate("prod", "t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")}))},
			step:         stepOf(clusterRef("t")),
			wantErr:      "getting ClusterAnalysisTemplate t",
			wantNotFound: true,
		},
		"same template twice": {
			objs: []client.Object{
				namespacedTemplate("prod", "t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")})),
				clusterTemplate("t", tmpl(threshold, slogatev1alpha1.Argument{Name: "job", Value: ptr.To("api")})),
			},
			step:    stepOf(slogatev1alpha1.TemplateRef{TemplateName: "t"}, clusterRef("t")),
			wantErr: "analysis step names template t twice",
		},
		"invalid stored template": {
			objs:    []client.Object{clusterTemplate("t", specOf(makeMetric("m").success("result[0] >=").obj()))},
			step:    stepOf(clusterRef("t")),
			wantErr: "ClusterAnalysisTemplate t is invalid: spec.metrics[0].successCondition",
		},
		"no address anywhere": {
			objs:    []client.Object{clusterTemplate("t", specOf(makeMetric("m").obj()))},
			step:    stepOf(clusterRef("t")),
			wantErr: "no Prometheus address",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			q := newFakeQuerier()
			address := "http://prometheus.test:9090"
			if name == "no address anywhere" {
				address = ""
			}
			var addresses []string
			factory := QuerierFactoryFunc(func(a string) (Querier, error) { addresses = append(addresses, a); return q, nil })
			g := New(newReader(t, tc.objs...), factory, address)
			res, err := g.Analyze(t.Context(), gate.Request{Release: makeRelease(), Step: tc.step, Now: t0})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Analyze() error %v, want one containing %q", err, tc.wantErr)
				}
				if got := apierrors.IsNotFound(err); got != tc.wantNotFound {
					t.Errorf("IsNotFound(%v) = %v, want %v", err, got, tc.wantNotFound)
				}
				if len(q.queries()) != 0 {
					t.Errorf("queries sent after an error: %v", q.queries())
				}
				return
			}
			if err != nil {
				t.Fatalf("Analyze() error: %v", err)
			}
			if diff := cmp.Diff([]string{tc.wantQuery}, q.queries()); diff != "" {
				t.Errorf("queries mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{address}, addresses); diff != "" {
				t.Errorf("addresses mismatch (-want +got):\n%s", diff)
			}
			if res.Outcome != gate.Running {
				t.Errorf("outcome %s from an empty answer, want Running", res.Outcome)
			}
		})
	}
}

func TestAnalyzeBadRequest(t *testing.T) {
	g := New(newReader(t), QuerierFactoryFunc(func(string) (Querier, error) { return newFakeQuerier(), nil }), "http://p:9090")
	noStart := makeRelease()
	noStart.Status.StepStartedAt = nil
	cases := map[string]gate.Request{
		"no release":    {Step: stepOf(clusterRef("t")), Now: t0},
		"no step":       {Release: makeRelease(), Now: t0},
		"no step start": {Release: noStart, Step: stepOf(clusterRef("t")), Now: t0},
		"no templates":  {Release: makeRelease(), Step: stepOf(), Now: t0},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := g.Analyze(t.Context(), req); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Analyze() error %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	cases := map[float64]string{
		99:                "99",
		98.99999999999999: "99",
		1.734723476e-16:   "0",
		-1.734723476e-16:  "0",
		0.000123456789012: "0.000123457",
		123.456:           "123.456",
		-10:               "-10",
		2.5e9:             "2500000000",
		12345.678901234:   "12345.6789",
	}
	for in, want := range cases {
		if got := formatValue(in); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", in, got, want)
		}
	}
}
