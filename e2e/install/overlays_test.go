package install_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slogate/slogate/certs"
	"github.com/slogate/slogate/e2e/cluster"
)

const (
	mutatingName    = certs.DefaultMutatingWebhookConfiguration
	validatingName  = certs.DefaultValidatingWebhookConfiguration
	systemNamespace = "slogate-system"
	analyzerUser    = "system:serviceaccount:slogate-system:slogate-analyzer"
	webhookUser     = "system:serviceaccount:slogate-system:slogate-webhook"
)

// TestOverlaysApply installs slogate with each overlay, as a user would, and switches between them:
// every apply succeeds, a server-side dry run of either overlay over an install finds nothing to
// reject, Pod Security "restricted" admits the slogate pods (kwok runs them), and the webhook
// container's token authenticates as slogate-webhook.
func TestOverlaysApply(t *testing.T) {
	// A fresh start even when another test of this package installed before: the webhook
	// configurations may have been pointed at a local webhook (URL clientConfig), which an apply of
	// the overlay, naming a Service, cannot merge with.
	mustDeleteWebhookConfigurations(t)

	mustApplyCRDs(t)
	out := mustApplyOverlay(t, "self-managed")
	t.Logf("kubectl apply -k manifests/self-managed:\n%s", out)
	mustNotWarn(t, out)

	for _, overlay := range []string{"self-managed", "cert-manager"} {
		out := mustApplyOverlay(t, overlay, "--dry-run=server")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasSuffix(line, "(server dry run)") {
				t.Errorf("server-side dry run of %s: unexpected line %q", overlay, line)
			}
		}
		mustNotWarn(t, out)
	}

	out = mustApplyOverlay(t, "cert-manager")
	t.Logf("kubectl apply -k manifests/cert-manager:\n%s", out)
	mustNotWarn(t, out)
	for _, obj := range []string{"issuer/slogate-selfsigned", "issuer/slogate-webhook-ca", "certificate/slogate-webhook-ca", "certificate/slogate-webhook"} {
		env.MustKubectl(t, "-n", systemNamespace, "get", obj)
	}
	for _, kind := range []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} {
		got := env.MustKubectl(t, "get", kind, "-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.annotations.cert-manager\.io/inject-ca-from}{"\n"}{end}`)
		if !strings.Contains(got, "=slogate-system/slogate-webhook") {
			t.Errorf("%s lack cert-manager.io/inject-ca-from: %q", kind, got)
		}
	}
	d := mustRolledOut(t)
	if !slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Secret != nil && v.Secret.SecretName == "slogate-webhook-cert"
	}) {
		t.Errorf("cert-manager overlay: the pod does not mount slogate-webhook-cert")
	}

	out = mustApplyOverlay(t, "self-managed")
	t.Logf("kubectl apply -k manifests/self-managed (switching back):\n%s", out)
	d = mustRolledOut(t)
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--cert-mode=self-managed") {
		t.Errorf("self-managed overlay: webhook args %v lack --cert-mode=self-managed", d.Spec.Template.Spec.Containers[0].Args)
	}

	// The webhook container's credentials: the token Secret the pod mounts is filled by
	// Kubernetes and authenticates as slogate-webhook, not as the pod's ServiceAccount.
	var token string
	cluster.MustPoll(t, cluster.NamespaceReadyTimeout, "the slogate-webhook token Secret to be filled", func(ctx context.Context) (bool, error) {
		s := &corev1.Secret{}
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: "slogate-webhook-token"}, s); err != nil {
			return false, err
		}
		token = string(s.Data["token"])
		return token != "", nil
	})
	whoami := env.MustKubectl(t, "--kubeconfig", mustTokenKubeconfig(t, "webhook-token", token), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if whoami != webhookUser {
		t.Errorf("the webhook container's token authenticates as %q, want %q", whoami, webhookUser)
	}
}

// mustNotWarn fails on admission warnings in kubectl's output (Pod Security "would violate",
// deprecated APIs, unknown fields).
func mustNotWarn(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Warning:") {
			t.Errorf("apply warned: %s", line)
		}
	}
}

// mustRolledOut waits for the slogate Deployment's pods (run by kwok) to be updated and available:
// the ReplicaSet could create them, so Pod Security "restricted" admitted them.
func mustRolledOut(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "the slogate Deployment to roll out", func(ctx context.Context) (bool, error) {
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: "slogate"}, d); err != nil {
			return false, err
		}
		want := *d.Spec.Replicas
		return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == want &&
			d.Status.AvailableReplicas == want && d.Status.Replicas == want, nil
	})
	return d
}

// mustDeleteWebhookConfigurations deletes slogate's webhook configurations if they exist.
func mustDeleteWebhookConfigurations(t *testing.T) {
	t.Helper()
	for _, n := range []string{"mutatingwebhookconfiguration/" + mutatingName, "validatingwebhookconfiguration/" + validatingName} {
		env.MustKubectl(t, "delete", "--ignore-not-found", n)
	}
}

// mustTokenKubeconfig writes a kubeconfig for the cluster that authenticates with token.
func mustTokenKubeconfig(t *testing.T, name, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.Server(), CertificateAuthorityData: env.CACertPEM()}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(fmt.Errorf("kubeconfig: %w", err))
	}
	return path
}
