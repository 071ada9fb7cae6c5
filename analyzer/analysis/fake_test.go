package analysis

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// answer is what the fake Prometheus returns for a query.
type answer struct {
	value model.Value
	err   error
	// block makes the query wait for its context to end.
	block bool
}

func scalar(f float64) model.Value { return &model.Scalar{Value: model.SampleValue(f)} }

func vector(fs ...float64) model.Value {
	v := model.Vector{}
	for i, f := range fs {
		v = append(v, &model.Sample{
			Metric: model.Metric{"slogate_io_revision": model.LabelValue("r" + string(rune('a'+i)))},
			Value:  model.SampleValue(f),
		})
	}
	return v
}

// unlabelled is the result of a query that sums without by().
func unlabelled(f float64) model.Value {
	return model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(f)}}
}

var (
	nan    = math.NaN()
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

// fakeQuerier answers by query text; a query it does not know gets an empty vector.
type fakeQuerier struct {
	mu      sync.Mutex
	answers map[string]answer
	sent    []string
}

func newFakeQuerier() *fakeQuerier { return &fakeQuerier{answers: map[string]answer{}} }

func (f *fakeQuerier) set(q string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[q] = a
}

func (f *fakeQuerier) Query(ctx context.Context, q string, _ time.Time) (model.Value, error) {
	f.mu.Lock()
	a, ok := f.answers[q]
	f.sent = append(f.sent, q)
	f.mu.Unlock()
	if !ok {
		return model.Vector{}, nil
	}
	if a.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return a.value, a.err
}

func (f *fakeQuerier) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// Times in tests are whole seconds, as metav1.Time stores them.
var t0 = time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := slogatev1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newReader(t *testing.T, objs ...client.Object) client.Reader {
	t.Helper()
	return fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(objs...).Build()
}

func clusterTemplate(name string, spec *slogatev1alpha1.AnalysisTemplateSpec) *slogatev1alpha1.ClusterAnalysisTemplate {
	return &slogatev1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: *spec}
}

func namespacedTemplate(ns, name string, spec *slogatev1alpha1.AnalysisTemplateSpec) *slogatev1alpha1.AnalysisTemplate {
	return &slogatev1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: *spec}
}

// makeRelease is the release of payments-api in prod at an analysis step that started at t0.
func makeRelease() *slogatev1alpha1.Release {
	started := metav1.NewTime(t0)
	return &slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "payments-api-c4n4ry"},
		Spec: slogatev1alpha1.ReleaseSpec{
			DeploymentName: "payments-api",
			StableRevision: "st4b1e",
			CanaryRevision: "c4n4ry",
		},
		Status: slogatev1alpha1.ReleaseStatus{
			Phase:         slogatev1alpha1.PhaseProgressing,
			StepIndex:     2,
			StepStartedAt: &started,
			CanaryWeight:  5,
		},
	}
}

func stepOf(refs ...slogatev1alpha1.TemplateRef) *slogatev1alpha1.AnalysisStep {
	return &slogatev1alpha1.AnalysisStep{Templates: refs}
}

func clusterRef(name string) slogatev1alpha1.TemplateRef {
	return slogatev1alpha1.TemplateRef{TemplateName: name, ClusterScope: true}
}

// harness runs a step call after call the way the release engine does: it stores the counters
// and appends the measurements between calls.
type harness struct {
	t       *testing.T
	gate    *Gate
	rel     *slogatev1alpha1.Release
	step    *slogatev1alpha1.AnalysisStep
	querier *fakeQuerier
}

func newHarness(t *testing.T, step *slogatev1alpha1.AnalysisStep, objs ...client.Object) *harness {
	t.Helper()
	q := newFakeQuerier()
	factory := QuerierFactoryFunc(func(string) (Querier, error) { return q, nil })
	return &harness{
		t:       t,
		gate:    New(newReader(t, objs...), factory, "http://prometheus.test:9090"),
		rel:     makeRelease(),
		step:    step,
		querier: q,
	}
}

// analyzeMust calls Analyze at now, fails the test on an error, and stores the result.
func (h *harness) analyzeMust(now time.Time) gate.Result {
	h.t.Helper()
	res, err := h.gate.Analyze(h.t.Context(), gate.Request{Release: h.rel, Step: h.step, Now: now})
	if err != nil {
		h.t.Fatalf("Analyze() error: %v", err)
	}
	h.rel.Status.Metrics = res.Metrics
	h.rel.Status.Measurements = AppendMeasurements(h.rel.Status.Measurements, res.Measurements)
	return res
}

func metav1Duration(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }
