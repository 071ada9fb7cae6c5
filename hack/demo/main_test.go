package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/slogate/slogate/analyzer/analysis"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/webhook"
)

// TestRenderPolicy renders policy.yaml for both schedules and checks that slogate's own admission
// checks accept it and that the schedule's values landed where they belong.
func TestRenderPolicy(t *testing.T) {
	for name, fast := range map[string]bool{"normal": false, "fast": true} {
		t.Run(name, func(t *testing.T) {
			s := scheduleFor(fast)
			path, err := renderPolicy(".", t.TempDir(), s)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			docs := strings.Split(string(data), "\n---\n")
			if len(docs) != 3 {
				t.Fatalf("got %d documents, want a RolloutPolicy and two AnalysisTemplates", len(docs))
			}
			var pol slogatev1alpha1.RolloutPolicy
			if err := yaml.UnmarshalStrict([]byte(docs[0]), &pol); err != nil {
				t.Fatalf("decoding the RolloutPolicy: %v", err)
			}
			if errs := webhook.ValidateRolloutPolicySpec(&pol.Spec, field.NewPath("spec")); len(errs) > 0 {
				t.Errorf("the webhook refuses the policy: %v", errs.ToAggregate())
			}
			var pauses []time.Duration
			for _, st := range pol.Spec.Steps {
				if st.Pause != nil && st.Pause.Duration != nil {
					pauses = append(pauses, st.Pause.Duration.Duration)
				}
			}
			if diff := cmp.Diff([]time.Duration{s.Pause, s.Pause, s.Pause}, pauses); diff != "" {
				t.Errorf("pauses (-want +got):\n%s", diff)
			}
			for _, doc := range docs[1:] {
				var at slogatev1alpha1.AnalysisTemplate
				if err := yaml.UnmarshalStrict([]byte(doc), &at); err != nil {
					t.Fatalf("decoding an AnalysisTemplate: %v", err)
				}
				if errs := analysis.ValidateTemplateSpec(&at.Spec, field.NewPath("spec")); len(errs) > 0 {
					t.Errorf("template %s is refused: %v", at.Name, errs.ToAggregate())
				}
				for _, m := range at.Spec.Metrics {
					got := []any{m.Interval, m.Window, m.MinRequests.Count}
					want := []any{&metav1.Duration{Duration: s.Interval}, &metav1.Duration{Duration: s.Window}, int64(s.MinRequests)}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("template %s metric %s: interval, window, minRequests (-want +got):\n%s", at.Name, m.Name, diff)
					}
				}
			}
		})
	}
}

func TestFitScreen(t *testing.T) {
	for name, tc := range map[string]struct {
		in         string
		rows, cols int
		want       string
	}{
		"unknown size":     {in: "a\nbb\n", want: "a\nbb\n"},
		"cut to rows-1":    {in: "1\n2\n3\n4\n", rows: 3, want: "1\n2\n"},
		"cut long lines":   {in: "abcdef\nab\n", cols: 4, want: "abc…\nab\n"},
		"runes, not bytes": {in: "██████\n", cols: 4, want: "███…\n"},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fitScreen(tc.in, tc.rows, tc.cols)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrafficLine(t *testing.T) {
	m := &trafficMeter{versions: map[string]string{"r1": "v1", "r2": "v2"}}
	for name, tc := range map[string]struct {
		w    dataplane.RouteStats
		d    time.Duration
		want string
	}{
		"nothing yet": {d: 0, want: "no requests yet"},
		"95/5 with errors": {
			w: dataplane.RouteStats{Sent: 500, Revisions: map[string]int64{"r1": 475, "r2": 25}, Codes: map[int]int64{200: 495, 500: 5}},
			d: 5 * time.Second, want: "100 req/s: v1 95% · v2 5% · 5xx 1.0%",
		},
		"an unknown revision and requests the gateway answered": {
			w: dataplane.RouteStats{Sent: 100, Revisions: map[string]int64{"r1": 90, "zz": 5}, Codes: map[int]int64{200: 95, 503: 5}, NoBackend: 5},
			d: 2 * time.Second, want: "50 req/s: v1 90% · zz 5% · 5xx 5.0% · answered by the gateway 5",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := m.line(tc.w, tc.d); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSummaryHelpers(t *testing.T) {
	w := func(n int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: &n} }
	analysisStep := slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{{TemplateName: "success-rate"}}}}
	meas := func(v slogatev1alpha1.Verdict, value, msg string) slogatev1alpha1.Measurement {
		return slogatev1alpha1.Measurement{Template: "success-rate", Metric: "success-rate", Weight: 5, Value: value, Verdict: v, Message: msg}
	}
	rolledBack := &slogatev1alpha1.Release{
		Spec: slogatev1alpha1.ReleaseSpec{Steps: []slogatev1alpha1.CanaryStep{w(5), analysisStep, w(100)}},
		Status: slogatev1alpha1.ReleaseStatus{
			Phase: slogatev1alpha1.PhaseRolledBack, Reason: "AnalysisFailed", Message: "step 1 failed", StepIndex: 1,
			Measurements: []slogatev1alpha1.Measurement{
				meas(slogatev1alpha1.VerdictInconclusive, "", "too few"),
				meas(slogatev1alpha1.VerdictFailed, "81", "first"),
				meas(slogatev1alpha1.VerdictFailed, "80", "value 80 does not meet successCondition result[0] >= 99"),
				meas(slogatev1alpha1.VerdictSuccessful, "100", ""),
			},
		},
	}
	if got, want := weightSteps(rolledBack), "5% → 100%"; got != want {
		t.Errorf("weightSteps: got %q, want %q", got, want)
	}
	if got, want := verdictCounts(rolledBack), "4 measurements: 1 Successful, 2 Failed, 1 Inconclusive"; got != want {
		t.Errorf("verdictCounts: got %q, want %q", got, want)
	}
	if got, want := stepAt(rolledBack), "analysis success-rate"; got != want {
		t.Errorf("stepAt: got %q, want %q", got, want)
	}
	if got, want := rollbackCause(rolledBack),
		"success-rate/success-rate measured 80 at 5% canary weight (AnalysisFailed): value 80 does not meet successCondition result[0] >= 99"; got != want {
		t.Errorf("rollbackCause: got %q, want %q", got, want)
	}
	timedOut := rolledBack.DeepCopy()
	timedOut.Status.Measurements = nil
	timedOut.Status.Reason = "CanaryNotReady"
	if got, want := rollbackCause(timedOut), "CanaryNotReady: step 1 failed"; got != want {
		t.Errorf("rollbackCause without a Failed measurement: got %q, want %q", got, want)
	}
	promoted := &slogatev1alpha1.Release{Status: slogatev1alpha1.ReleaseStatus{Measurements: []slogatev1alpha1.Measurement{
		meas(slogatev1alpha1.VerdictSuccessful, "100", ""), meas(slogatev1alpha1.VerdictSuccessful, "99.5", ""),
	}}}
	if got, want := verdictCounts(promoted), "2 measurements, all Successful"; got != want {
		t.Errorf("verdictCounts: got %q, want %q", got, want)
	}
}

// The manifests the demo applies as they are are valid YAML of the kinds they claim.
func TestManifestsDecode(t *testing.T) {
	for _, f := range []string{servicesFile, versionFile(1), versionFile(2), versionFile(3)} {
		data, err := os.ReadFile(filepath.Join(".", f))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Errorf("%s document %d: %v", f, i+1, err)
			}
			if obj["kind"] == nil || obj["apiVersion"] == nil {
				t.Errorf("%s document %d has no kind or apiVersion", f, i+1)
			}
		}
	}
}
