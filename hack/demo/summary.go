package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

// summary says how the story ended and how to look around. e2e/demo's test reads the lines that
// start with "v2 (revision", "v3 (revision" and "export KUBECONFIG=".
func (p *printer) summary(res *result, e *env, total time.Duration) {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, "  "+format+"\n", a...) }

	v2 := res.v2.release
	line("v2 (revision %s) %s in %s: %s, %s.", res.v2.revision, v2.Status.Phase, roundDuration(res.v2.took),
		weightSteps(v2), verdictCounts(v2))
	v3 := res.v3.release
	line("v3 (revision %s) %s at step %s (%s) after %s, because %s", res.v3.revision, v3.Status.Phase,
		cli.StepProgress(v3), stepAt(v3), roundDuration(res.v3.took), rollbackCause(v3))
	line("Now %s sends %s; %s stays paused on v3's template (%s=%s)", route, res.weights, deployment,
		slogatev1alpha1.FailedRevisionAnnotation, res.held.Annotations[slogatev1alpha1.FailedRevisionAnnotation])
	line("while the v2 pods serve: apply a fixed template, re-apply v2, or `kubectl slogate retry %s -n %s`.", deployment, namespace)
	line("The demo took %s.", roundDuration(total))
	p.chapter("Summary")
	p.write(b.String())

	b.Reset()
	line("export KUBECONFIG=%s", e.cluster.Kubeconfig())
	line("export PATH=%s:$PATH    # bin/kubectl-slogate, the kubectl plugin", filepath.Join(e.root, "bin"))
	line("kubectl slogate list -A")
	line("kubectl slogate status %s -n %s", deployment, namespace)
	line("kubectl get deployments,services,httproutes,releases -n %s", namespace)
	line("kubectl apply -n %s -f %s    # v2 again: the hold on v3 ends at once", namespace, relPath(e.file(versionFile(2))))
	b.WriteString("\n")
	line("Prometheus:       %s  (demo-app series, and slogate's own: slogate_release_phase, slogate_analysis_measurements_total, ...)", e.prom.Address())
	line("slogate metrics:  analyzer %s, webhook %s", e.analyzerMetrics, e.webhookMetrics)
	line("Manifests:        %s, %s", relPath(e.manifests), relPath(e.policy))
	line("Logs:             %s", e.cluster.Logs())
	p.chapter("Look around: point kubectl at the demo cluster")
	p.write(b.String())
	p.write("\n")
}

// weightSteps lists the weights of a release's setWeight steps: "5% → 25% → 50% → 100%".
func weightSteps(r *slogatev1alpha1.Release) string {
	var ws []string
	for _, s := range r.Spec.Steps {
		if s.SetWeight != nil {
			ws = append(ws, fmt.Sprintf("%d%%", *s.SetWeight))
		}
	}
	return strings.Join(ws, " → ")
}

// verdictCounts says how many measurements a release took and how they came out.
func verdictCounts(r *slogatev1alpha1.Release) string {
	counts := map[slogatev1alpha1.Verdict]int{}
	for _, m := range r.Status.Measurements {
		counts[m.Verdict]++
	}
	n := len(r.Status.Measurements)
	if counts[slogatev1alpha1.VerdictSuccessful] == n {
		return fmt.Sprintf("%d measurements, all Successful", n)
	}
	var parts []string
	for _, v := range []slogatev1alpha1.Verdict{slogatev1alpha1.VerdictSuccessful, slogatev1alpha1.VerdictFailed,
		slogatev1alpha1.VerdictInconclusive, slogatev1alpha1.VerdictError} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return fmt.Sprintf("%d measurements: %s", n, strings.Join(parts, ", "))
}

// stepAt describes the step a release ended at.
func stepAt(r *slogatev1alpha1.Release) string {
	if i := int(r.Status.StepIndex); i < len(r.Spec.Steps) {
		return cli.DescribeStep(r.Spec.Steps[i])
	}
	return "after the last step"
}

// rollbackCause names the measurement that rolled a release back, or else its reason and message.
func rollbackCause(r *slogatev1alpha1.Release) string {
	ms := r.Status.Measurements
	for i := len(ms) - 1; i >= 0; i-- {
		if m := ms[i]; m.Verdict == slogatev1alpha1.VerdictFailed {
			return fmt.Sprintf("%s/%s measured %s at %d%% canary weight (%s): %s", m.Template, m.Metric, orDash(m.Value),
				m.Weight, r.Status.Reason, m.Message)
		}
	}
	return fmt.Sprintf("%s: %s", r.Status.Reason, r.Status.Message)
}
