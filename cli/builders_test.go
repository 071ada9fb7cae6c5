package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// now is the clock of every test in this package.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(-d))
	return &t
}

// seedSteps is the seed's schedule.
func seedSteps() []slogatev1alpha1.CanaryStep {
	analysis := slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
		{TemplateName: "success-rate-check"}, {TemplateName: "latency-p95-check"},
	}}}
	weight := func(w int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: ptr.To(w)} }
	pause := func(d time.Duration) slogatev1alpha1.CanaryStep {
		return slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
	}
	return []slogatev1alpha1.CanaryStep{
		weight(5), pause(180 * time.Second), analysis,
		weight(25), pause(300 * time.Second), analysis,
		weight(50), pause(300 * time.Second), weight(100),
	}
}

type releaseBuilder struct{ r slogatev1alpha1.Release }

func makeRelease(deployment, canary string) *releaseBuilder {
	return &releaseBuilder{r: slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name: slogatev1alpha1.ReleaseName(deployment, canary), Namespace: "shop",
			CreationTimestamp: *ago(10 * time.Minute),
		},
		Spec: slogatev1alpha1.ReleaseSpec{
			DeploymentName: deployment, StableRevision: "5f8b9c6d4", CanaryRevision: canary,
			Policy: "default", Steps: seedSteps(),
			StableService: deployment + "-stable", CanaryService: deployment + "-canary",
			HTTPRoutes: []string{deployment + "-route"},
		},
		Status: slogatev1alpha1.ReleaseStatus{StartedAt: ago(10 * time.Minute)},
	}}
}

func (b *releaseBuilder) namespace(ns string) *releaseBuilder { b.r.Namespace = ns; return b }
func (b *releaseBuilder) created(d time.Duration) *releaseBuilder {
	b.r.CreationTimestamp = *ago(d)
	return b
}
func (b *releaseBuilder) steps(s ...slogatev1alpha1.CanaryStep) *releaseBuilder {
	b.r.Spec.Steps = s
	return b
}
func (b *releaseBuilder) phase(p slogatev1alpha1.ReleasePhase, reason, message string) *releaseBuilder {
	b.r.Status.Phase, b.r.Status.Reason, b.r.Status.Message = p, reason, message
	return b
}
func (b *releaseBuilder) at(step int32, weight int32, since time.Duration) *releaseBuilder {
	b.r.Status.StepIndex, b.r.Status.CanaryWeight, b.r.Status.StepStartedAt = step, weight, ago(since)
	return b
}
func (b *releaseBuilder) finished(d time.Duration) *releaseBuilder {
	b.r.Status.FinishedAt = ago(d)
	return b
}
func (b *releaseBuilder) measure(before time.Duration, step, weight int32, tmpl, metric, value string, v slogatev1alpha1.Verdict, msg string) *releaseBuilder {
	b.r.Status.Measurements = append(b.r.Status.Measurements, slogatev1alpha1.Measurement{
		Template: tmpl, Metric: metric, Step: step, Weight: weight, Value: value, Verdict: v, Message: msg, Time: *ago(before),
	})
	return b
}
func (b *releaseBuilder) metric(m slogatev1alpha1.MetricStatus) *releaseBuilder {
	b.r.Status.Metrics = append(b.r.Status.Metrics, m)
	return b
}
func (b *releaseBuilder) condition(typ string, s metav1.ConditionStatus, reason, msg string, before time.Duration) *releaseBuilder {
	b.r.Status.Conditions = append(b.r.Status.Conditions, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: msg, LastTransitionTime: *ago(before),
	})
	return b
}
func (b *releaseBuilder) obj() *slogatev1alpha1.Release { return b.r.DeepCopy() }

type deploymentBuilder struct{ d appsv1.Deployment }

func makeDeployment(name string) *deploymentBuilder {
	return &deploymentBuilder{d: appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: map[string]string{}},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: 3},
	}}
}

func (b *deploymentBuilder) paused() *deploymentBuilder { b.d.Spec.Paused = true; return b }
func (b *deploymentBuilder) annotate(k, v string) *deploymentBuilder {
	b.d.Annotations[k] = v
	return b
}
func (b *deploymentBuilder) obj() *appsv1.Deployment { return b.d.DeepCopy() }

func event(kind, name, typ, reason, msg string, before time.Duration, count int32) corev1.Event {
	return corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name + "." + reason, Namespace: "shop"},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: "shop"},
		Type:           typ, Reason: reason, Message: msg, Count: count,
		LastTimestamp: *ago(before),
	}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test ./cli -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
