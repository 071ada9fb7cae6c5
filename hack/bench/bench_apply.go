package main

import (
	"context"
	"fmt"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Namespaces of the apply section.
const (
	applyOptedIn = "bench-apply-slogate"
	applyPlain   = "bench-apply-plain"
)

// Webhook names the API server reports admission durations under (manifests/base/webhook).
const (
	mutateDeploymentHook   = "deployments.mutate.slogate.io"
	validateDeploymentHook = "deployments.validate.slogate.io"
)

// applyManifest is the realistic Deployment as a user applies it: no status, no server fields,
// one replica (kwok runs it), no ServiceAccount of its own (it would have to exist).
func applyManifest(namespace, name string) ([]byte, error) {
	d := realisticDeployment(namespace, name, "ghcr.io/example/payments-api:2026.04.15")
	d.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: d.Labels}
	delete(d.Spec.Template.Labels, slogatev1alpha1.RevisionLabel)
	d.Spec.Replicas = ptr.To[int32](1)
	d.Spec.Template.Spec.ServiceAccountName = ""
	d.Status = appsv1.DeploymentStatus{}
	return yaml.Marshal(d)
}

// runApply times `kubectl apply` of new Deployments into an opted-in namespace and a plain one, in
// turn (the order swapped every pair so that drift cancels), and reads what the API server
// measured of its calls to the webhook.
func runApply(ctx context.Context, e *env, n int, s *section) error {
	for name, labels := range map[string]map[string]string{
		applyOptedIn: {slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue},
		applyPlain:   nil,
	} {
		if err := e.c.Client().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	s.setup = append(s.setup,
		fmt.Sprintf("`kubectl apply -f -` (the machine's kubectl, a process per apply, discovery cached) of %d new Deployments into namespace %s "+
			"(labelled %s=%s: the API server calls slogate's mutating and validating webhooks, bin/webhook over TLS) and %d into %s (no label: no call), "+
			"alternating, the order swapped every pair. Each Deployment is the admission section's 3-container one with 1 replica.",
			n, applyOptedIn, slogatev1alpha1.NamespaceOptInLabel, slogatev1alpha1.NamespaceOptInValue, n, applyPlain),
		"The overhead is the median of the per-pair differences (opted-in minus plain); its spread is their interquartile range. "+
			"Beside it, the API server's own measure of each webhook call (apiserver_admission_webhook_admission_duration_seconds, "+
			"from its /metrics before and after; quantiles interpolated in its buckets, as histogram_quantile does).",
	)
	apply := func(ns string, i int) (time.Duration, error) {
		manifest, err := applyManifest(ns, fmt.Sprintf("app-%03d", i))
		if err != nil {
			return 0, err
		}
		begin := time.Now()
		if _, err := e.c.KubectlInput(ctx, manifest, "apply", "-f", "-"); err != nil {
			return 0, err
		}
		return time.Since(begin), nil
	}
	// Warm-up: discovery cache, connections, the webhook's first TLS handshake.
	for i := range 3 {
		for _, ns := range []string{applyOptedIn, applyPlain} {
			if _, err := apply(ns, 900+i); err != nil {
				return err
			}
		}
	}
	before, err := e.apiserverMetrics(ctx)
	if err != nil {
		return err
	}
	var opted, plain, diff sample
	for i := range n {
		order := []string{applyOptedIn, applyPlain}
		if i%2 == 1 {
			order = []string{applyPlain, applyOptedIn}
		}
		took := map[string]time.Duration{}
		for _, ns := range order {
			d, err := apply(ns, i)
			if err != nil {
				return err
			}
			took[ns] = d
		}
		opted = append(opted, ms64(took[applyOptedIn]))
		plain = append(plain, ms64(took[applyPlain]))
		diff = append(diff, ms64(took[applyOptedIn]-took[applyPlain]))
		if (i+1)%50 == 0 {
			logf("apply: %d pairs", i+1)
		}
	}
	after, err := e.apiserverMetrics(ctx)
	if err != nil {
		return err
	}
	iqr := func(x sample) string {
		return fmt.Sprintf("%.1f–%.1f ms (p25–p75, n=%d)", x.quantile(0.25), x.quantile(0.75), len(x))
	}
	s.add(row{what: "kubectl apply, opted-in namespace", median: fmt.Sprintf("%.1f ms", opted.median()), spread: iqr(opted)})
	s.add(row{what: "kubectl apply, plain namespace", median: fmt.Sprintf("%.1f ms", plain.median()), spread: iqr(plain)})
	s.add(row{what: "overhead per apply (paired difference)", median: fmt.Sprintf("%+.1f ms", diff.median()), spread: iqr(diff)})
	var bounds []float64
	for _, hook := range []string{mutateDeploymentHook, validateDeploymentHook} {
		h := after.histogram("apiserver_admission_webhook_admission_duration_seconds", map[string]string{"name": hook}).
			minus(before.histogram("apiserver_admission_webhook_admission_duration_seconds", map[string]string{"name": hook}))
		if h.count == 0 {
			s.note("The API server recorded no call to %s during the applies.", hook)
			continue
		}
		if len(h.bounds) > 1 {
			bounds = h.bounds[:2]
		}
		s.add(row{what: "API server → " + hook + " call",
			median: fmt.Sprintf("%.1f ms mean", 1000*h.mean()),
			spread: fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (n=%.0f calls)", 1000*h.quantile(0.5), 1000*h.quantile(0.99), h.count)})
	}
	if len(bounds) == 2 {
		s.note("The API server's histogram of webhook calls has buckets of %g s and %g s at the low end: its quantiles are interpolated within "+
			"them (coarse below %g ms); the mean (sum over count) is exact.", bounds[0], bounds[1], 1000*bounds[0])
	}
	rejected := after.sum("apiserver_admission_webhook_rejection_count", nil) - before.sum("apiserver_admission_webhook_rejection_count", nil)
	if rejected > 0 {
		s.note("The API server counted %.0f webhook rejections during the applies.", rejected)
	}
	s.note("What bounds the overhead: the two webhook calls the API server makes in turn (mutating, then validating), each a TLS request "+
		"to a process on the same 2 cores; the spread of a kubectl process's own start (tens of milliseconds) is far larger, which is why "+
		"the paired median and the API server's own timing are given. Load average during the applies: %s.", loadNow())
	fmt.Fprintln(os.Stderr)
	return nil
}

func ms64(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func loadNow() string { return describeMachine().Load }
