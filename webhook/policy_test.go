package webhook

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func weight(w int32) slogatev1alpha1.CanaryStep {
	return slogatev1alpha1.CanaryStep{SetWeight: ptr.To(w)}
}
func pause(d time.Duration) slogatev1alpha1.CanaryStep {
	return slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
}
func analysisOf(names ...string) slogatev1alpha1.CanaryStep {
	a := &slogatev1alpha1.AnalysisStep{}
	for _, n := range names {
		a.Templates = append(a.Templates, slogatev1alpha1.TemplateRef{TemplateName: n})
	}
	return slogatev1alpha1.CanaryStep{Analysis: a}
}

// seedSteps is the seed's schedule.
func seedSteps() []slogatev1alpha1.CanaryStep {
	return []slogatev1alpha1.CanaryStep{
		weight(5), pause(180 * time.Second), analysisOf("success-rate-check", "latency-p95-check"),
		weight(25), pause(300 * time.Second), analysisOf("success-rate-check", "latency-p95-check"),
		weight(50), pause(300 * time.Second), weight(100),
	}
}

func TestValidateRolloutPolicySpec(t *testing.T) {
	cases := map[string]struct {
		spec     slogatev1alpha1.RolloutPolicySpec
		wantErrs []string
	}{
		"the seed's schedule": {spec: slogatev1alpha1.RolloutPolicySpec{
			Steps: seedSteps(), StableService: "payments-api-stable", CanaryService: "payments-api-canary",
			TrafficRouting: &slogatev1alpha1.TrafficRouting{GatewayAPI: &slogatev1alpha1.GatewayAPITrafficRouting{HTTPRoute: "payments-api-route"}},
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "payments-api"}},
		}},
		"empty: the default schedule": {},
		"weights may go down and a manual pause has no duration": {spec: slogatev1alpha1.RolloutPolicySpec{
			Steps: []slogatev1alpha1.CanaryStep{weight(50), weight(10), {Pause: &slogatev1alpha1.PauseStep{}}, weight(0)},
		}},
		"a step of two kinds and a step of none": {
			spec: slogatev1alpha1.RolloutPolicySpec{Steps: []slogatev1alpha1.CanaryStep{
				{SetWeight: ptr.To[int32](5), Pause: &slogatev1alpha1.PauseStep{}}, {},
			}},
			wantErrs: []string{
				`spec.steps[0]: Invalid value: "2 kinds": must set exactly one of setWeight, pause and analysis`,
				`spec.steps[1]: Invalid value: "0 kinds": must set exactly one of setWeight, pause and analysis`,
			},
		},
		"a weight out of range": {
			spec:     slogatev1alpha1.RolloutPolicySpec{Steps: []slogatev1alpha1.CanaryStep{weight(101)}},
			wantErrs: []string{`spec.steps[0].setWeight: Invalid value: 101: must be from 0 to 100`},
		},
		"a pause that is not positive": {
			spec:     slogatev1alpha1.RolloutPolicySpec{Steps: []slogatev1alpha1.CanaryStep{pause(0), pause(-time.Second)}},
			wantErrs: []string{`spec.steps[0].pause.duration: Invalid value: "0s": must be a positive duration, such as 180s or 5m`, `spec.steps[1].pause.duration: Invalid value: "-1s": must be a positive duration, such as 180s or 5m`},
		},
		"an analysis without templates, with an empty and a bad name, and duplicate args": {
			spec: slogatev1alpha1.RolloutPolicySpec{Steps: []slogatev1alpha1.CanaryStep{
				analysisOf(),
				{Analysis: &slogatev1alpha1.AnalysisStep{
					Templates: []slogatev1alpha1.TemplateRef{{TemplateName: ""}, {TemplateName: "Bad_Name"}},
					Args:      []slogatev1alpha1.Argument{{Name: "svc"}, {Name: "svc"}, {Name: ""}},
				}},
			}},
			wantErrs: []string{
				`spec.steps[0].analysis.templates: Required value: an analysis step names at least one template`,
				`spec.steps[1].analysis.templates[0].templateName: Required value: names an AnalysisTemplate (or, with clusterScope, a ClusterAnalysisTemplate)`,
				`spec.steps[1].analysis.templates[1].templateName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`spec.steps[1].analysis.args[1].name: Duplicate value: "svc"`,
				`spec.steps[1].analysis.args[2].name: Required value: an argument has a name`,
			},
		},
		"service and route names": {
			spec: slogatev1alpha1.RolloutPolicySpec{
				StableService: "web.stable", CanaryService: "web.stable",
				TrafficRouting: &slogatev1alpha1.TrafficRouting{GatewayAPI: &slogatev1alpha1.GatewayAPITrafficRouting{HTTPRoute: "Route!"}},
			},
			wantErrs: []string{
				`spec.stableService: Invalid value: "web.stable": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
				`spec.canaryService: Invalid value: "web.stable": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
				`spec.canaryService: Invalid value: "web.stable": must differ from stableService`,
				`spec.trafficRouting.gatewayAPI.httpRoute: Invalid value: "Route!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			},
		},
		"timeouts that are not positive": {
			spec: slogatev1alpha1.RolloutPolicySpec{
				CanaryReadyTimeout: &metav1.Duration{}, AnalysisTimeout: &metav1.Duration{Duration: -time.Minute},
				PromotionTimeout: &metav1.Duration{Duration: time.Minute},
			},
			wantErrs: []string{
				`spec.canaryReadyTimeout: Invalid value: "0s": must be a positive duration, such as 180s or 5m`,
				`spec.analysisTimeout: Invalid value: "-1m0s": must be a positive duration, such as 180s or 5m`,
			},
		},
		"an invalid selector": {
			spec: slogatev1alpha1.RolloutPolicySpec{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: "Near"}}}},
			wantErrs: []string{`spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs := ValidateRolloutPolicySpec(&tc.spec, field.NewPath("spec"))
			if diff := cmp.Diff(tc.wantErrs, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpecValidators(t *testing.T) {
	good := slogatev1alpha1.AnalysisTemplateSpec{Metrics: []slogatev1alpha1.Metric{{
		Name: "success-rate", SuccessCondition: "result[0] >= 99.5",
		Provider: slogatev1alpha1.MetricProvider{Prometheus: &slogatev1alpha1.PrometheusMetric{
			Query: `100 * sum(rate(http_requests_total{app="{{ .App }}",status!~"5.."}[{{ .Window }}])) / sum(rate(http_requests_total{app="{{ .App }}"}[{{ .Window }}]))`,
		}},
	}}}
	bad := slogatev1alpha1.AnalysisTemplateSpec{}
	policy := func(steps ...slogatev1alpha1.CanaryStep) *slogatev1alpha1.RolloutPolicy {
		return &slogatev1alpha1.RolloutPolicy{ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: testNamespace},
			Spec: slogatev1alpha1.RolloutPolicySpec{Steps: steps}}
	}
	cluster := func(steps ...slogatev1alpha1.CanaryStep) *slogatev1alpha1.ClusterRolloutPolicy {
		return &slogatev1alpha1.ClusterRolloutPolicy{ObjectMeta: metav1.ObjectMeta{Name: "everyone"}, Spec: slogatev1alpha1.RolloutPolicySpec{Steps: steps}}
	}
	template := func(s slogatev1alpha1.AnalysisTemplateSpec) *slogatev1alpha1.AnalysisTemplate {
		return &slogatev1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "success-rate-check", Namespace: testNamespace}, Spec: s}
	}
	clusterTemplate := func(s slogatev1alpha1.AnalysisTemplateSpec) *slogatev1alpha1.ClusterAnalysisTemplate {
		return &slogatev1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "latency"}, Spec: s}
	}
	opts := Options{}
	ctx := t.Context()

	cases := map[string]struct {
		validate func() error
		wantErr  string
	}{
		"a good RolloutPolicy": {validate: func() error {
			_, err := NewRolloutPolicyValidator(opts).ValidateCreate(ctx, policy(seedSteps()...))
			return err
		}},
		"a bad RolloutPolicy update": {
			validate: func() error {
				_, err := NewRolloutPolicyValidator(opts).ValidateUpdate(ctx, policy(), policy(weight(200)))
				return err
			},
			wantErr: `spec.steps[0].setWeight: Invalid value: 200: must be from 0 to 100`,
		},
		"deleting a bad RolloutPolicy": {validate: func() error {
			_, err := NewRolloutPolicyValidator(opts).ValidateDelete(ctx, policy(weight(200)))
			return err
		}},
		"a bad ClusterRolloutPolicy": {
			validate: func() error {
				_, err := NewClusterRolloutPolicyValidator(opts).ValidateCreate(ctx, cluster(pause(0)))
				return err
			},
			wantErr: `spec.steps[0].pause.duration: Invalid value: "0s": must be a positive duration, such as 180s or 5m`,
		},
		"a good AnalysisTemplate": {validate: func() error {
			_, err := NewAnalysisTemplateValidator(opts).ValidateCreate(ctx, template(good))
			return err
		}},
		"an AnalysisTemplate without metrics": {
			validate: func() error {
				_, err := NewAnalysisTemplateValidator(opts).ValidateCreate(ctx, template(bad))
				return err
			},
			wantErr: `spec.metrics: Required value`,
		},
		"a good ClusterAnalysisTemplate": {validate: func() error {
			_, err := NewClusterAnalysisTemplateValidator(opts).ValidateUpdate(ctx, clusterTemplate(bad), clusterTemplate(good))
			return err
		}},
		"a ClusterAnalysisTemplate without metrics": {
			validate: func() error {
				_, err := NewClusterAnalysisTemplateValidator(opts).ValidateCreate(ctx, clusterTemplate(bad))
				return err
			},
			wantErr: `spec.metrics: Required value`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			// The template errors come from package analysis: only their start is pinned here.
			if tc.wantErr == "" || len(got) < len(tc.wantErr) {
				if got != tc.wantErr {
					t.Errorf("error (-want +got):\n%s", cmp.Diff(tc.wantErr, got))
				}
				return
			}
			if got[:len(tc.wantErr)] != tc.wantErr {
				t.Errorf("error (-want +got):\n%s", cmp.Diff(tc.wantErr, got))
			}
		})
	}
}
