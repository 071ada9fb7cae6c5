package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

const (
	sr  = "success-rate-check"
	p95 = "latency-p95-check"
)

func TestRenderStatus(t *testing.T) {
	held := makeDeployment("web").paused().
		annotate(slogatev1alpha1.StableRevisionAnnotation, "5f8b9c6d4").
		annotate(slogatev1alpha1.CanaryRevisionAnnotation, "7d9f6c8b5")
	many := makeRelease("web", "7d9f6c8b5").phase(slogatev1alpha1.PhaseProgressing, "Analyzing", "").at(5, 25, 3*time.Minute)
	for i := range 15 {
		many.measure(time.Duration(15-i)*time.Minute, 2, 5, sr, "success-rate", fmt.Sprintf("99.%d", i), slogatev1alpha1.VerdictSuccessful, "")
	}
	var manyEvents []corev1.Event
	for i := range 13 {
		manyEvents = append(manyEvents, event("Release", "web-7d9f6c8b5", corev1.EventTypeNormal, fmt.Sprintf("Step%02d", i),
			fmt.Sprintf("step %d", i), time.Duration(13-i)*time.Minute, 1))
	}

	tests := map[string]struct {
		view StatusView
	}{
		"status_analysis.txt": {view: StatusView{
			Release: makeRelease("web", "7d9f6c8b5").
				phase(slogatev1alpha1.PhaseProgressing, "Analyzing", "").at(2, 5, 90*time.Second).
				measure(60*time.Second, 2, 5, sr, "success-rate", "99.83", slogatev1alpha1.VerdictSuccessful, "").
				measure(60*time.Second, 2, 5, p95, "p95-latency-ms", "", slogatev1alpha1.VerdictInconclusive, "canary served 12 requests, below the minimum of 50").
				metric(slogatev1alpha1.MetricStatus{Template: sr, Metric: "success-rate", Step: 2, Successful: 1, LastMeasuredAt: ago(time.Minute)}).
				metric(slogatev1alpha1.MetricStatus{Template: p95, Metric: "p95-latency-ms", Step: 2, Inconclusive: 1, LastMeasuredAt: ago(time.Minute)}).
				condition(slogatev1alpha1.ConditionCanaryReady, metav1.ConditionTrue, "PodsReady", "1/1 canary pods ready", 9*time.Minute).
				obj(),
			Deployment: held.obj(),
			Events: []corev1.Event{
				event("Release", "web-7d9f6c8b5", corev1.EventTypeNormal, "WeightSet", "canary weight 5%", 5*time.Minute, 1),
				event("Deployment", "web", corev1.EventTypeNormal, "ReleaseStarted", "canary release of revision 7d9f6c8b5 started", 10*time.Minute, 1),
				event("Release", "web-7d9f6c8b5", corev1.EventTypeNormal, "AnalysisStarted", "analysis step 3 started", 90*time.Second, 1),
			},
			Now: now,
		}},
		"status_manual_pause.txt": {view: StatusView{
			Release: makeRelease("web", "7d9f6c8b5").
				steps(seedSteps()[0], slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{}}, seedSteps()[8]).
				phase(slogatev1alpha1.PhasePaused, "ManualPause", "waiting for kubectl slogate promote").at(1, 5, 20*time.Minute).
				obj(),
			Deployment: held.annotate(slogatev1alpha1.ActionAnnotation, slogatev1alpha1.ActionPromote).obj(),
			Now:        now,
		}},
		"status_promoting.txt": {view: StatusView{
			Release:    makeRelease("web", "7d9f6c8b5").phase(slogatev1alpha1.PhasePromoting, "AllStepsPassed", "").at(9, 100, time.Minute).obj(),
			Deployment: makeDeployment("web").obj(),
			Now:        now,
		}},
		"status_succeeded.txt": {view: StatusView{
			Release: makeRelease("web", "7d9f6c8b5").phase(slogatev1alpha1.PhaseSucceeded, "Promoted", "revision 7d9f6c8b5 is stable").
				at(9, 0, 2*time.Minute).finished(2*time.Minute).
				condition(slogatev1alpha1.ConditionCompleted, metav1.ConditionTrue, "Promoted", "", 2*time.Minute).obj(),
			Deployment: makeDeployment("web").obj(),
			Now:        now,
		}},
		"status_rolled_back.txt": {view: StatusView{
			Release: makeRelease("web", "9a8b7c6d5").
				phase(slogatev1alpha1.PhaseRolledBack, "AnalysisFailed", "success-rate-check/success-rate: 91.2 is not >= 99.5 (3 failures, limit 2)").
				at(2, 0, 4*time.Minute).finished(time.Minute).
				measure(3*time.Minute, 2, 5, sr, "success-rate", "92.5", slogatev1alpha1.VerdictFailed, "92.5 is not >= 99.5").
				measure(2*time.Minute, 2, 5, sr, "success-rate", "91.7", slogatev1alpha1.VerdictFailed, "91.7 is not >= 99.5").
				measure(2*time.Minute, 2, 5, p95, "p95-latency-ms", "", slogatev1alpha1.VerdictError, "query returned no data").
				measure(time.Minute, 2, 5, sr, "success-rate", "91.2", slogatev1alpha1.VerdictFailed, "91.2 is not >= 99.5").
				condition(slogatev1alpha1.ConditionAnalysisPassing, metav1.ConditionFalse, "AnalysisFailed", "success-rate below 99.5", time.Minute).
				condition(slogatev1alpha1.ConditionTrafficRestored, metav1.ConditionTrue, "RolledBack", "100% on stable", time.Minute).
				obj(),
			Deployment: makeDeployment("web").paused().annotate(slogatev1alpha1.FailedRevisionAnnotation, "9a8b7c6d5").obj(),
			Events: []corev1.Event{
				event("Release", "web-9a8b7c6d5", corev1.EventTypeWarning, "RolledBack", "analysis failed: success-rate 91.2 < 99.5\nall traffic on stable", time.Minute, 1),
				event("Release", "web-9a8b7c6d5", corev1.EventTypeWarning, "MeasurementFailed", "success-rate 91.2", time.Minute, 3),
			},
			Now: now,
		}},
		"status_new_release_no_deployment.txt": {view: StatusView{
			Release: func() *slogatev1alpha1.Release {
				r := makeRelease("web", "7d9f6c8b5").obj()
				r.Spec.HTTPRoutes, r.Spec.Policy, r.Status = nil, "", slogatev1alpha1.ReleaseStatus{}
				return r
			}(),
			Now: now,
		}},
		"status_truncated.txt": {view: StatusView{Release: many.obj(), Deployment: held.obj(), Events: manyEvents, Now: now}},
		"status_escapes.txt": {view: StatusView{
			Release: makeRelease("web", "7d9f6c8b5").phase(slogatev1alpha1.PhaseProgressing, "Analyzing", "evil \x1b[31mred\x1b[0m text").at(0, 5, time.Second).
				measure(time.Second, 2, 5, sr, "success-rate", "1\x1b[2J", slogatev1alpha1.VerdictFailed, "a\tb").obj(),
			Now: now,
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := RenderStatus(&b, tc.view); err != nil {
				t.Fatalf("RenderStatus: %v", err)
			}
			got := b.String()
			if strings.Contains(got, "\x1b") {
				t.Errorf("output holds a raw escape character:\n%q", got)
			}
			checkGolden(t, name, got)
		})
	}
}

func TestWeightBar(t *testing.T) {
	tests := map[int32]struct {
		wantCanaryCells int
	}{
		0: {0}, 1: {1}, 5: {2}, 25: {10}, 50: {20}, 99: {39}, 100: {40}, 150: {40}, -3: {0},
	}
	for weight, tc := range tests {
		t.Run(fmt.Sprint(weight), func(t *testing.T) {
			got := WeightBar(weight)
			if n := strings.Count(got, "█"); n != tc.wantCanaryCells {
				t.Errorf("WeightBar(%d) = %q: %d canary cells, want %d", weight, got, n, tc.wantCanaryCells)
			}
			if n := strings.Count(got, "█") + strings.Count(got, "░"); n != barWidth {
				t.Errorf("WeightBar(%d) = %q: %d cells, want %d", weight, got, n, barWidth)
			}
		})
	}
}

func TestDescribeStep(t *testing.T) {
	v := "2m"
	tests := map[string]struct {
		step slogatev1alpha1.CanaryStep
		want string
	}{
		"weight":       {step: seedSteps()[3], want: "setWeight 25%"},
		"timed pause":  {step: seedSteps()[1], want: "pause 3m0s"},
		"manual pause": {step: slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{}}, want: "pause until promoted"},
		"analysis":     {step: seedSteps()[2], want: "analysis success-rate-check, latency-p95-check"},
		"analysis with cluster template and args": {
			step: slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{
				Templates: []slogatev1alpha1.TemplateRef{{TemplateName: "slo", ClusterScope: true}},
				Args:      []slogatev1alpha1.Argument{{Name: "window", Value: &v}, {Name: "svc"}},
			}},
			want: "analysis slo (cluster) [window=2m svc=<unset>]",
		},
		"empty": {want: "(empty step)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DescribeStep(tc.step); got != tc.want {
				t.Errorf("DescribeStep() = %q, want %q", got, tc.want)
			}
		})
	}
}
