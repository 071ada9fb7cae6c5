package slo

import (
	"bytes"
	_ "embed"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

//go:embed invalid_templates.yaml
var invalidTemplatesYAML []byte

// TestInvalidTemplatesRejected: kubectl apply of an AnalysisTemplate (or ClusterAnalysisTemplate)
// with a condition that is not a boolean expr-lang expression, a query or condition that is not a
// valid Go template of slogate's variables, negative limits, or no query is refused, and kubectl's
// error names every offending field by its path. What the CRD schema can say (minimums, required
// fields) the API server refuses; the rest the validating webhook does. Nothing refused is
// stored, and a valid template is admitted, and then refused an update that breaks it.
func TestInvalidTemplatesRejected(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name
	docs := map[string][]byte{}
	for _, doc := range bytes.Split(invalidTemplatesYAML, []byte("\n---\n")) {
		var obj struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil || obj.Metadata.Name == "" {
			t.Fatalf("invalid_templates.yaml: a document without a name (%v)", err)
		}
		docs[obj.Metadata.Name] = doc
	}

	const (
		namespaced = `admission webhook "analysistemplates.validate.slogate.io" denied the request`
		cluster    = `admission webhook "clusteranalysistemplates.validate.slogate.io" denied the request`
	)
	tests := map[string]struct {
		resource string
		want     []string
	}{
		"bad-expression": {
			resource: "analysistemplate",
			want: []string{namespaced,
				`spec.metrics[0].successCondition: Invalid value: "result[0] >="`,
				`spec.metrics[1].failureCondition: Invalid value: "result[0] * 1000"`},
		},
		"bad-template": {
			resource: "analysistemplate",
			want: []string{namespaced,
				`spec.metrics[0].successCondition: Invalid value: "result[0] >= {{ .Args.threshold }}"`,
				`spec.metrics[0].minRequests.query: Invalid value:`,
				`spec.metrics[0].provider.prometheus.query: Invalid value:`},
		},
		"negative-limits": {
			resource: "analysistemplate",
			want: []string{
				`spec.metrics[0].failureLimit: Invalid value: -1`,
				`spec.metrics[0].inconclusiveLimit: Invalid value: -2`,
				`spec.metrics[0].consecutiveErrorLimit: Invalid value: -3`,
				`spec.metrics[0].minRequests.count: Invalid value: -10`},
		},
		"missing-query": {
			resource: "analysistemplate",
			want:     []string{`spec.metrics[0].provider.prometheus.query: Required value`},
		},
		"slo-e2e-bad-expression": {
			resource: "clusteranalysistemplate",
			want:     []string{cluster, `spec.metrics[0].successCondition: Invalid value: "result[0] >="`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc, ok := docs[name]
			if !ok {
				t.Fatalf("invalid_templates.yaml has no %s", name)
			}
			_, err := env.KubectlInput(t.Context(), doc, "apply", "-n", ns, "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply of %s succeeded, want it refused", name)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("kubectl's error does not contain %q:\n%v", want, err)
				}
			}
			if out, err := env.Kubectl(t.Context(), "get", tc.resource, name, "-n", ns, "--ignore-not-found", "-o", "name"); err != nil || out != "" {
				t.Errorf("after the refusal, kubectl get %s %s: %q (%v), want nothing", tc.resource, name, out, err)
			}
		})
	}

	// A metric without a provider is the webhook's to refuse, once the schema is satisfied.
	t.Run("missing-provider", func(t *testing.T) {
		doc := strings.Replace(string(docs["missing-query"]), "address: http://127.0.0.1:9090", "query: sum(rate(http_requests_total[1m]))", 1)
		_, err := env.KubectlInput(t.Context(), []byte(doc), "apply", "-n", ns, "-f", "-")
		for _, want := range []string{namespaced, `spec.metrics[1].provider.prometheus: Required value`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("kubectl's error does not contain %q:\n%v", want, err)
			}
		}
	})

	// The valid template is admitted; an update that breaks its condition is refused and the stored
	// template keeps its condition.
	t.Run("update", func(t *testing.T) {
		env.MustKubectlInput(t, docs["good"], "apply", "-n", ns, "-f", "-")
		broken := strings.Replace(string(docs["good"]), "successCondition: result[0] >= {{ .Args.threshold }}",
			"successCondition: result[0] >= {{ .Args.treshold }}", 1)
		_, err := env.KubectlInput(t.Context(), []byte(broken), "apply", "-n", ns, "-f", "-")
		for _, want := range []string{namespaced, `spec.metrics[0].successCondition: Invalid value: "result[0] >= {{ .Args.treshold }}"`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("kubectl's error does not contain %q:\n%v", want, err)
			}
		}
		var stored slogatev1alpha1.AnalysisTemplate
		if err := env.Client().Get(t.Context(), types.NamespacedName{Namespace: ns, Name: "good"}, &stored); err != nil {
			t.Fatalf("getting the valid template: %v", err)
		}
		if got := stored.Spec.Metrics[0].SuccessCondition; got != "result[0] >= {{ .Args.threshold }}" {
			t.Errorf("stored successCondition %q after the refused update", got)
		}
	})
}
