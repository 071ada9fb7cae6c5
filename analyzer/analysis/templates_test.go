package analysis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// builtinDir holds the ClusterAnalysisTemplates slogate installs.
const builtinDir = "../../manifests/base/templates"

// decodeStrictMust decodes every YAML document of file into a new T, refusing unknown fields.
func decodeStrictMust[T any](t *testing.T, file string) []*T {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*T
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if strings.TrimSpace(string(doc)) == "" {
			continue
		}
		obj := new(T)
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
}

// TestSeedTemplates takes the seed's two AnalysisTemplates with only apiVersion changed: they
// decode into the API types without unknown fields, validate, and run.
func TestSeedTemplates(t *testing.T) {
	seed := decodeStrictMust[slogatev1alpha1.AnalysisTemplate](t, "testdata/seed-templates.yaml")
	if len(seed) != 2 {
		t.Fatalf("got %d templates, want 2", len(seed))
	}
	for _, tmpl := range seed {
		if tmpl.APIVersion != "slogate.io/v1alpha1" || tmpl.Kind != "AnalysisTemplate" {
			t.Errorf("%s: apiVersion %s kind %s", tmpl.Name, tmpl.APIVersion, tmpl.Kind)
		}
		if errs := ValidateTemplateSpec(&tmpl.Spec, field.NewPath("spec")); len(errs) > 0 {
			t.Errorf("%s: %v", tmpl.Name, errs.ToAggregate())
		}
	}
	wantRate := slogatev1alpha1.Metric{
		Name:             "success-rate",
		Interval:         ptr.To(metav1Duration(time.Minute)),
		SuccessCondition: "result[0] >= 99.5",
		FailureLimit:     ptr.To[int32](2),
		Provider: slogatev1alpha1.MetricProvider{Prometheus: &slogatev1alpha1.PrometheusMetric{
			Address: "http://prometheus.monitoring.svc:9090",
			Query: "100 * (\n  sum(rate(http_requests_total{app=\"payments-api\",status!~\"5..\"}[5m]))\n  /\n" +
				"  sum(rate(http_requests_total{app=\"payments-api\"}[5m]))\n)\n",
		}},
	}
	if diff := cmp.Diff([]slogatev1alpha1.Metric{wantRate}, seed[0].Spec.Metrics); diff != "" {
		t.Errorf("success-rate-check mismatch (-want +got):\n%s", diff)
	}

	// Both run as one analysis step, as in the seed's Rollout: the release's own address is not
	// used, the template's is.
	objs := []client.Object{seed[0], seed[1]}
	q := newFakeQuerier()
	var addresses []string
	g := New(newReader(t, objs...), QuerierFactoryFunc(func(a string) (Querier, error) {
		addresses = append(addresses, a)
		return q, nil
	}), "http://default:9090")
	// The seed's queries sum without by(): one sample without labels.
	q.set(seed[0].Spec.Metrics[0].Provider.Prometheus.Query, answer{value: unlabelled(99.7)})
	q.set(seed[1].Spec.Metrics[0].Provider.Prometheus.Query, answer{value: unlabelled(212.5)})
	rel := makeRelease()
	res, err := g.Analyze(t.Context(), gate.Request{Release: rel, Now: t0,
		Step: stepOf(slogatev1alpha1.TemplateRef{TemplateName: "success-rate-check"}, slogatev1alpha1.TemplateRef{TemplateName: "latency-p95-check"})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != gate.Successful {
		t.Errorf("outcome %s (%s), want Successful", res.Outcome, res.Message)
	}
	if diff := cmp.Diff([]string{"http://prometheus.monitoring.svc:9090", "http://prometheus.monitoring.svc:9090"}, addresses); diff != "" {
		t.Errorf("addresses mismatch (-want +got):\n%s", diff)
	}
}

// TestBuiltinTemplates checks the shipped ClusterAnalysisTemplates: they decode strictly,
// validate, and render for a release into queries that select the canary revision.
func TestBuiltinTemplates(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(builtinDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rel := makeRelease()
	wantRendered := map[string]struct {
		query       string
		minRequests string
		condition   string
	}{
		"canary-success-rate": {
			query: `100 * (1 - (
  (sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status=~"5.."}[2m])) or vector(0))
  /
  sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m]))
))
`,
			minRequests: `sum(increase(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m])) or vector(0)` + "\n",
			condition:   "result[0] >= 99",
		},
		"canary-latency-p95": {
			query: `histogram_quantile(0.95,
  sum by (le) (rate(http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m]))
) * 1000
`,
			minRequests: `sum(increase(http_request_duration_seconds_count{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m])) or vector(0)` + "\n",
			condition:   "result[0] < 350",
		},
		"canary-vs-stable": {
			query: `100 * (
  (sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status=~"5.."}[2m])) or vector(0))
  /
  sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m]))
  -
  (sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision!="c4n4ry",status=~"5.."}[2m])) or vector(0))
  /
  sum(rate(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision!="c4n4ry"}[2m]))
)
`,
			minRequests: `sum(increase(http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"}[2m])) or vector(0)` + "\n",
			condition:   "result[0] <= 1",
		},
	}
	seen := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, tmpl := range decodeStrictMust[slogatev1alpha1.ClusterAnalysisTemplate](t, f) {
			t.Run(tmpl.Name, func(t *testing.T) {
				seen[tmpl.Name] = true
				if tmpl.APIVersion != "slogate.io/v1alpha1" || tmpl.Kind != "ClusterAnalysisTemplate" || tmpl.Namespace != "" {
					t.Errorf("apiVersion %s kind %s namespace %q", tmpl.APIVersion, tmpl.Kind, tmpl.Namespace)
				}
				if errs := ValidateTemplateSpec(&tmpl.Spec, field.NewPath("spec")); len(errs) > 0 {
					t.Fatal(errs.ToAggregate())
				}
				want, ok := wantRendered[tmpl.Name]
				if !ok {
					t.Fatalf("no expectation for %s", tmpl.Name)
				}
				m := &tmpl.Spec.Metrics[0]
				args, err := mergeArgs(tmpl.Name, tmpl.Spec.Args, nil, map[string]bool{})
				if err != nil {
					t.Fatal(err)
				}
				g := New(nil, QuerierFactoryFunc(func(string) (Querier, error) { return newFakeQuerier(), nil }), "http://p:9090")
				r, err := g.prepareMetric(rel, tmpl.Name, m, args)
				if err != nil {
					t.Fatal(err)
				}
				got := struct{ query, minRequests, condition string }{r.query, r.minRequestsQuery, r.successCondition}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(got)); diff != "" {
					t.Errorf("rendered mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
	for name := range wantRendered {
		if !seen[name] {
			t.Errorf("built-in template %s not found in %s", name, builtinDir)
		}
	}
	// Every file is listed in the kustomization and every listed file exists.
	kust, err := os.ReadFile(filepath.Join(builtinDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(kust, &k); err != nil {
		t.Fatal(err)
	}
	var yamls []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			yamls = append(yamls, b)
		}
	}
	if diff := cmp.Diff(yamls, k.Resources, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("kustomization resources mismatch (-files +listed):\n%s", diff)
	}
}
