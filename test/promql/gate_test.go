package promql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/slogate/slogate/analyzer/analysis"
	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// engineQuerier answers the gate's queries with Prometheus's engine over a test storage: the
// analysis.Querier a real Prometheus would be, without a server.
type engineQuerier struct {
	engine  *promql.Engine
	storage storage.Queryable
}

func (e engineQuerier) Query(ctx context.Context, q string, t time.Time) (model.Value, error) {
	qry, err := e.engine.NewInstantQuery(ctx, e.storage, nil, q, t)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make(model.Vector, 0, len(v))
		for _, s := range v {
			m := model.Metric{}
			s.Metric.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
			out = append(out, &model.Sample{Metric: m, Value: model.SampleValue(s.F), Timestamp: model.Time(s.T)})
		}
		return out, nil
	case promql.Scalar:
		return &model.Scalar{Value: model.SampleValue(v.V), Timestamp: model.Time(v.T)}, nil
	default:
		return &model.String{Value: fmt.Sprintf("%v", v)}, nil
	}
}

// pod is one revision's traffic: requests and errors per minute, and where its latency lies.
type pod struct {
	revision  string // empty: pods without the slogate.io/revision label
	perMinute int
	errors    int
	slow      bool // 300 ms slower
}

// loadScript writes 20 minutes of per-minute counters for each pod of payments-api in prod, as
// demo-app exports them (http_requests_total{status}, http_request_duration_seconds histogram).
func loadScript(pods ...pod) string {
	var b strings.Builder
	b.WriteString("load 1m\n")
	for _, p := range pods {
		sel := `namespace="prod",app="payments-api"`
		if p.revision != "" {
			sel += `,slogate_io_revision="` + p.revision + `"`
		} else {
			sel += `,pod_template_hash="5d4f"`
		}
		fmt.Fprintf(&b, "\thttp_requests_total{%s,status=\"200\"} 0+%dx20\n", sel, p.perMinute-p.errors)
		fmt.Fprintf(&b, "\thttp_requests_total{%s,status=\"500\"} 0+%dx20\n", sel, p.errors)
		// 90 % of requests in the first bucket, the rest in the next: p95 halfway through the
		// second (150 ms fast, 450 ms slow).
		buckets := []struct {
			le   string
			frac float64
		}{{"0.05", 0}, {"0.1", 0.9}, {"0.2", 1}, {"0.3", 1}, {"0.4", 1}, {"0.5", 1}, {"+Inf", 1}}
		if p.slow {
			buckets = []struct {
				le   string
				frac float64
			}{{"0.05", 0}, {"0.1", 0}, {"0.2", 0}, {"0.3", 0}, {"0.4", 0.9}, {"0.5", 1}, {"+Inf", 1}}
		}
		for _, bk := range buckets {
			fmt.Fprintf(&b, "\thttp_request_duration_seconds_bucket{%s,le=%q} 0+%dx20\n", sel, bk.le, int(bk.frac*float64(p.perMinute)))
		}
		fmt.Fprintf(&b, "\thttp_request_duration_seconds_count{%s} 0+%dx20\n", sel, p.perMinute)
	}
	return b.String()
}

// builtinTemplatesMust reads every shipped ClusterAnalysisTemplate.
func builtinTemplatesMust(t *testing.T) []client.Object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "manifests", "base", "templates", "canary-*.yaml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("built-in templates: %v, %v", files, err)
	}
	var out []client.Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &slogatev1alpha1.ClusterAnalysisTemplate{}
		if err := yaml.UnmarshalStrict(b, tmpl); err != nil {
			t.Fatal(err)
		}
		out = append(out, tmpl)
	}
	return out
}

// TestBuiltinTemplatesDecide runs the analyzer's gate with the three built-in templates against
// Prometheus's engine over synthetic traffic, a measurement a minute from minute 10, as the release
// engine would, and checks the step's outcome and which template decided it.
func TestBuiltinTemplatesDecide(t *testing.T) {
	stable := pod{perMinute: 1000, errors: 10} // 1 % errors, on pods that predate the opt-in
	cases := map[string]struct {
		canary      pod
		wantOutcome gate.Outcome
		wantCalls   int
		// wantMessage is a part of the final message.
		wantMessage string
	}{
		"healthy canary passes after count 2": {
			canary:      pod{revision: "c4n4ry", perMinute: 200},
			wantOutcome: gate.Successful, wantCalls: 2,
			wantMessage: "analysis passed: canary-latency-p95/p95-latency-ms 150, canary-success-rate/success-rate 100, canary-vs-stable/error-ratio-vs-stable -1",
		},
		"exactly 1 % errors, like stable, passes the 99 % threshold": {
			canary:      pod{revision: "c4n4ry", perMinute: 200, errors: 2},
			wantOutcome: gate.Successful, wantCalls: 2,
			wantMessage: "canary-success-rate/success-rate 99, canary-vs-stable/error-ratio-vs-stable 0",
		},
		"5 % errors fail": {
			canary:      pod{revision: "c4n4ry", perMinute: 200, errors: 10},
			wantOutcome: gate.Failed, wantCalls: 2,
			wantMessage: "2 Failed measurements, above failureLimit 1",
		},
		"300 ms slower fails": {
			canary:      pod{revision: "c4n4ry", perMinute: 200, slow: true},
			wantOutcome: gate.Failed, wantCalls: 2,
			wantMessage: "analysis failed: canary-latency-p95/p95-latency-ms: 2 Failed measurements, above failureLimit 1; last measurement: canary-latency-p95/p95-latency-ms: value 450 does not meet successCondition result[0] < 350",
		},
		"no canary traffic is Inconclusive until the limit": {
			canary:      pod{revision: "c4n4ry", perMinute: 0},
			wantOutcome: gate.Failed, wantCalls: 4,
			wantMessage: "4 Inconclusive measurements, above inconclusiveLimit 3; last measurement: canary-latency-p95/p95-latency-ms: 0 requests in the window, below minRequests 100",
		},
		"too little canary traffic is Inconclusive": {
			canary:      pod{revision: "c4n4ry", perMinute: 40},
			wantOutcome: gate.Failed, wantCalls: 4,
			wantMessage: "80 requests in the window, below minRequests 100",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := promqltest.LoadedStorage(t, loadScript(stable, tc.canary))
			q := engineQuerier{engine: promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery), storage: st}
			s := runtime.NewScheme()
			if err := slogatev1alpha1.AddToScheme(s); err != nil {
				t.Fatal(err)
			}
			reader := fake.NewClientBuilder().WithScheme(s).WithObjects(builtinTemplatesMust(t)...).Build()
			g := analysis.New(reader, analysis.QuerierFactoryFunc(func(string) (analysis.Querier, error) { return q, nil }), "http://prometheus.test:9090")

			start := time.Unix(0, 0).Add(10 * time.Minute).UTC()
			rel := &slogatev1alpha1.Release{
				ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "payments-api-c4n4ry"},
				Spec:       slogatev1alpha1.ReleaseSpec{DeploymentName: "payments-api", StableRevision: "st4b1e", CanaryRevision: "c4n4ry"},
				Status:     slogatev1alpha1.ReleaseStatus{StepIndex: 2, StepStartedAt: &metav1.Time{Time: start}, CanaryWeight: 5},
			}
			step := &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
				{TemplateName: "canary-latency-p95", ClusterScope: true},
				{TemplateName: "canary-success-rate", ClusterScope: true},
				{TemplateName: "canary-vs-stable", ClusterScope: true},
			}}
			var res gate.Result
			calls := 0
			for calls < 10 {
				now := start.Add(time.Duration(calls) * time.Minute)
				var err error
				res, err = g.Analyze(t.Context(), gate.Request{Release: rel, Step: step, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				calls++
				for _, m := range res.Measurements {
					t.Logf("minute %d: %s/%s %s %s %s", 10+calls-1, m.Template, m.Metric, m.Verdict, m.Value, m.Message)
				}
				rel.Status.Metrics = res.Metrics
				rel.Status.Measurements = analysis.AppendMeasurements(rel.Status.Measurements, res.Measurements)
				if res.Outcome != gate.Running {
					break
				}
			}
			if res.Outcome != tc.wantOutcome || calls != tc.wantCalls || !strings.Contains(res.Message, tc.wantMessage) {
				t.Errorf("after %d calls: outcome %s, message %q; want %s after %d calls with %q",
					calls, res.Outcome, res.Message, tc.wantOutcome, tc.wantCalls, tc.wantMessage)
			}
		})
	}
}
