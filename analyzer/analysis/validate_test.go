package analysis

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// metricBuilder builds a valid metric that a test then breaks.
type metricBuilder struct{ m slogatev1alpha1.Metric }

func makeMetric(name string) *metricBuilder {
	return &metricBuilder{m: slogatev1alpha1.Metric{
		Name:             name,
		SuccessCondition: "result[0] >= 99.5",
		Provider: slogatev1alpha1.MetricProvider{Prometheus: &slogatev1alpha1.PrometheusMetric{
			Query: `sum(rate(http_requests_total{namespace="{{ .Namespace }}",slogate_io_revision="{{ .Revision }}"}[{{ .Window }}]))`,
		}},
	}}
}

func (b *metricBuilder) success(c string) *metricBuilder { b.m.SuccessCondition = c; return b }
func (b *metricBuilder) failure(c string) *metricBuilder { b.m.FailureCondition = c; return b }
func (b *metricBuilder) query(q string) *metricBuilder {
	b.m.Provider.Prometheus.Query = q
	return b
}
func (b *metricBuilder) address(a string) *metricBuilder {
	b.m.Provider.Prometheus.Address = a
	return b
}
func (b *metricBuilder) timeout(d time.Duration) *metricBuilder {
	b.m.Provider.Prometheus.Timeout = &metav1.Duration{Duration: d}
	return b
}
func (b *metricBuilder) noProvider() *metricBuilder { b.m.Provider.Prometheus = nil; return b }
func (b *metricBuilder) interval(d time.Duration) *metricBuilder {
	b.m.Interval = &metav1.Duration{Duration: d}
	return b
}
func (b *metricBuilder) window(d time.Duration) *metricBuilder {
	b.m.Window = &metav1.Duration{Duration: d}
	return b
}
func (b *metricBuilder) initialDelay(d time.Duration) *metricBuilder {
	b.m.InitialDelay = &metav1.Duration{Duration: d}
	return b
}
func (b *metricBuilder) count(n int32) *metricBuilder        { b.m.Count = &n; return b }
func (b *metricBuilder) failureLimit(n int32) *metricBuilder { b.m.FailureLimit = &n; return b }
func (b *metricBuilder) inconclusiveLimit(n int32) *metricBuilder {
	b.m.InconclusiveLimit = &n
	return b
}
func (b *metricBuilder) consecutiveErrorLimit(n int32) *metricBuilder {
	b.m.ConsecutiveErrorLimit = &n
	return b
}
func (b *metricBuilder) minRequests(q string, n int64) *metricBuilder {
	b.m.MinRequests = &slogatev1alpha1.MinRequests{Query: q, Count: n}
	return b
}
func (b *metricBuilder) obj() slogatev1alpha1.Metric { return b.m }

func specOf(metrics ...slogatev1alpha1.Metric) *slogatev1alpha1.AnalysisTemplateSpec {
	return &slogatev1alpha1.AnalysisTemplateSpec{Metrics: metrics}
}

func withArgs(s *slogatev1alpha1.AnalysisTemplateSpec, args ...slogatev1alpha1.Argument) *slogatev1alpha1.AnalysisTemplateSpec {
	s.Args = args
	return s
}

func TestValidateTemplateSpec(t *testing.T) {
	spec := field.NewPath("spec")
	m0 := spec.Child("metrics").Index(0)
	prom0 := m0.Child("provider", "prometheus")
	cases := map[string]struct {
		spec *slogatev1alpha1.AnalysisTemplateSpec
		// want lists the type and field of each error; details are checked to be non-empty.
		want field.ErrorList
	}{
		"valid with every option": {
			spec: withArgs(specOf(makeMetric("success-rate").
				success("result[0] >= {{ .Args.threshold }}").failure("result[0] < 50").
				interval(time.Minute).window(5*time.Minute).initialDelay(0).count(3).
				failureLimit(0).inconclusiveLimit(0).consecutiveErrorLimit(0).
				address("http://prometheus.monitoring.svc:9090").timeout(5*time.Second).
				minRequests(`sum(increase(http_requests_total{app="{{ .App }}"}[{{ .Window }}])) or vector(0)`, 0).obj()),
				slogatev1alpha1.Argument{Name: "threshold", Value: ptr.To("99")}),
		},
		"valid: argument without value used in a query and a condition": {
			spec: withArgs(specOf(makeMetric("m").
				success("result[0] >= {{ .Args.threshold }}").
				query(`up{job="{{ .Args.job }}"}`).obj()),
				slogatev1alpha1.Argument{Name: "threshold"}, slogatev1alpha1.Argument{Name: "job"}),
		},
		"valid: only failureCondition": {
			spec: specOf(makeMetric("m").success("").failure("result[0] > 1").obj()),
		},
		"valid: $ reaches the root inside range": {
			spec: withArgs(specOf(makeMetric("m").
				query(`{{ range $i, $e := .Args }}{{ $.App }}{{ end }}`).obj()),
				slogatev1alpha1.Argument{Name: "a", Value: ptr.To("x")}),
		},
		"nil spec": {
			spec: nil,
			want: field.ErrorList{field.Required(spec, "")},
		},
		"no metrics": {
			spec: specOf(),
			want: field.ErrorList{field.Required(spec.Child("metrics"), "")},
		},
		"bad successCondition syntax": {
			spec: specOf(makeMetric("m").success("result[0] >=").obj()),
			want: field.ErrorList{field.Invalid(m0.Child("successCondition"), "result[0] >=", "")},
		},
		"failureCondition names an unknown variable": {
			spec: specOf(makeMetric("m").failure("value > 1").obj()),
			want: field.ErrorList{field.Invalid(m0.Child("failureCondition"), "value > 1", "")},
		},
		"condition not a bool": {
			spec: specOf(makeMetric("m").success("result[0] + 1").obj()),
			want: field.ErrorList{field.Invalid(m0.Child("successCondition"), "result[0] + 1", "")},
		},
		"condition with a bad template": {
			spec: specOf(makeMetric("m").success("result[0] >= {{ .Args.threshold").obj()),
			want: field.ErrorList{field.Invalid(m0.Child("successCondition"), "result[0] >= {{ .Args.threshold", "")},
		},
		"condition with an undeclared argument": {
			spec: specOf(makeMetric("m").success("result[0] >= {{ .Args.threshold }}").obj()),
			want: field.ErrorList{field.Invalid(m0.Child("successCondition"), "result[0] >= {{ .Args.threshold }}", "")},
		},
		"condition whose argument value is not a number": {
			spec: withArgs(specOf(makeMetric("m").success("result[0] >= {{ .Args.threshold }}").obj()),
				slogatev1alpha1.Argument{Name: "threshold", Value: ptr.To("high")}),
			want: field.ErrorList{field.Invalid(m0.Child("successCondition"), "result[0] >= {{ .Args.threshold }}", "")},
		},
		"neither condition": {
			spec: specOf(makeMetric("m").success("").obj()),
			want: field.ErrorList{field.Required(m0.Child("successCondition"), "")},
		},
		"query template does not parse": {
			spec: specOf(makeMetric("m").query(`up{ns="{{ .Namespace }"}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{ns="{{ .Namespace }"}`, "")},
		},
		"query names an unknown variable": {
			spec: specOf(makeMetric("m").query(`up{ns="{{ .Namespaces }}"}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{ns="{{ .Namespaces }}"}`, "")},
		},
		"query names an unknown variable in a branch not taken": {
			spec: specOf(makeMetric("m").query(`up{{ if .Args }}{ns="{{ .Nope }}"}{{ end }}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{{ if .Args }}{ns="{{ .Nope }}"}{{ end }}`, "")},
		},
		"query names an undeclared argument": {
			spec: specOf(makeMetric("m").query(`up{job="{{ .Args.job }}"}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{job="{{ .Args.job }}"}`, "")},
		},
		"query takes a field of a string": {
			spec: specOf(makeMetric("m").query(`up{job="{{ .App.Name }}"}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{job="{{ .App.Name }}"}`, "")},
		},
		"query calls an unknown function": {
			spec: specOf(makeMetric("m").query(`up{job="{{ lower .App }}"}`).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("query"), `up{job="{{ lower .App }}"}`, "")},
		},
		"missing query": {
			spec: specOf(makeMetric("m").query("  \n").obj()),
			want: field.ErrorList{field.Required(prom0.Child("query"), "")},
		},
		"missing provider": {
			spec: specOf(makeMetric("m").noProvider().obj()),
			want: field.ErrorList{field.Required(prom0, "")},
		},
		"bad address": {
			spec: specOf(makeMetric("m").address("prometheus:9090").obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("address"), "prometheus:9090", "")},
		},
		"zero timeout": {
			spec: specOf(makeMetric("m").timeout(0).obj()),
			want: field.ErrorList{field.Invalid(prom0.Child("timeout"), "0s", "")},
		},
		"zero interval": {
			spec: specOf(makeMetric("m").interval(0).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("interval"), "0s", "")},
		},
		"negative interval": {
			spec: specOf(makeMetric("m").interval(-time.Second).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("interval"), "-1s", "")},
		},
		"zero window": {
			spec: specOf(makeMetric("m").window(0).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("window"), "0s", "")},
		},
		"negative initialDelay": {
			spec: specOf(makeMetric("m").initialDelay(-time.Second).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("initialDelay"), "-1s", "")},
		},
		"zero count": {
			spec: specOf(makeMetric("m").count(0).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("count"), int32(0), "")},
		},
		"negative limits": {
			spec: specOf(makeMetric("m").failureLimit(-1).inconclusiveLimit(-2).consecutiveErrorLimit(-3).obj()),
			want: field.ErrorList{
				field.Invalid(m0.Child("failureLimit"), int32(-1), ""),
				field.Invalid(m0.Child("inconclusiveLimit"), int32(-2), ""),
				field.Invalid(m0.Child("consecutiveErrorLimit"), int32(-3), ""),
			},
		},
		"minRequests without query and with a negative count": {
			spec: specOf(makeMetric("m").minRequests("", -1).obj()),
			want: field.ErrorList{
				field.Required(m0.Child("minRequests", "query"), ""),
				field.Invalid(m0.Child("minRequests", "count"), int64(-1), ""),
			},
		},
		"minRequests query with a bad template": {
			spec: specOf(makeMetric("m").minRequests("sum({{ .Window ", 10).obj()),
			want: field.ErrorList{field.Invalid(m0.Child("minRequests", "query"), "sum({{ .Window ", "")},
		},
		"duplicate metric names": {
			spec: specOf(makeMetric("m").obj(), makeMetric("other").obj(), makeMetric("m").obj()),
			want: field.ErrorList{field.Duplicate(spec.Child("metrics").Index(2).Child("name"), "m")},
		},
		"empty metric name": {
			spec: specOf(makeMetric("").obj()),
			want: field.ErrorList{field.Required(m0.Child("name"), "")},
		},
		"duplicate and empty argument names": {
			spec: withArgs(specOf(makeMetric("m").obj()),
				slogatev1alpha1.Argument{Name: "a"}, slogatev1alpha1.Argument{Name: "a"}, slogatev1alpha1.Argument{Name: ""}),
			want: field.ErrorList{
				field.Duplicate(spec.Child("args").Index(1).Child("name"), "a"),
				field.Required(spec.Child("args").Index(2).Child("name"), ""),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ValidateTemplateSpec(tc.spec, spec)
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(field.Error{}, "Detail"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ValidateTemplateSpec() mismatch (-want +got):\n%s", diff)
			}
			for _, e := range got {
				if e.Type != field.ErrorTypeDuplicate && e.Detail == "" {
					t.Errorf("error %v has no detail", e)
				}
			}
		})
	}
}
