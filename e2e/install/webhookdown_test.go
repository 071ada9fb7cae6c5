package install_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

// TestWebhookDown stops the webhook: an update of a Deployment in an opted-in namespace is refused
// (failurePolicy: Fail) with a message that names slogate; the same update in a namespace that did
// not opt in goes through.
func TestWebhookDown(t *testing.T) {
	mustInstalled(t)
	opted := env.MustCreateNamespace(t, "", optIn).Name
	plain := env.MustCreateNamespace(t, "", nil).Name
	wh := mustStartWebhook(t)
	mustWaitAdmitting(t, opted)
	for _, ns := range []string{opted, plain} {
		env.MustKubectlInput(t, renderRotation(t, 0), "apply", "-n", ns, "-f", "-")
	}

	wh.proc.Stop(webhookStopGrace)

	ctx, cancel := context.WithTimeout(t.Context(), webhookDownTimeout)
	defer cancel()
	began := time.Now()
	_, err := env.KubectlInput(ctx, renderRotation(t, 1), "apply", "-n", opted, "-f", "-")
	switch {
	case err == nil:
		t.Errorf("an update in opted-in namespace %s went through with the webhook down", opted)
	case !strings.Contains(err.Error(), "slogate"):
		t.Errorf("the refusal does not name slogate: %v", err)
	default:
		t.Logf("refused after %v: %v", time.Since(began).Round(time.Millisecond), err)
	}
	if _, err := env.KubectlInput(ctx, renderRotation(t, 1), "apply", "-n", plain, "-f", "-"); err != nil {
		t.Errorf("an update in namespace %s, which did not opt in, failed with the webhook down: %v", plain, err)
	}
	d := &appsv1.Deployment{}
	if err := env.Client().Get(ctx, client.ObjectKey{Namespace: opted, Name: "web"}, d); err != nil {
		t.Errorf("reading in the opted-in namespace with the webhook down: %v", err)
	} else if d.Annotations["e2e.slogate.io/apply"] != "0" {
		t.Errorf("the refused update was stored: annotation %q", d.Annotations["e2e.slogate.io/apply"])
	}
}

// mustWaitAdmitting waits until a server-side dry-run create in namespace ns is admitted with the
// mutating webhook's revision label: the apiserver calls the webhook and trusts its certificate.
func mustWaitAdmitting(t *testing.T, ns string) {
	t.Helper()
	cluster.MustPoll(t, firstAdmissionTimeout, "the apiserver to call the webhook successfully", func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		if err := yaml.Unmarshal(renderRotation(t, 0), d); err != nil {
			return false, err
		}
		d.Namespace = ns
		if err := env.Client().Create(ctx, d, client.DryRunAll); err != nil {
			return false, nil
		}
		_, ok := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
		return ok, nil
	})
}
