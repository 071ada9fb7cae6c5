package install_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slogate/slogate/certs"
	"github.com/slogate/slogate/e2e/cluster"
)

// localWebhook is bin/webhook running as a local process, as its own ServiceAccount, in
// self-managed certificate mode.
type localWebhook struct {
	proc *cluster.Process
	port int
}

// rotationArgs are certificate lifetimes short enough to see renewals and a CA roll within a
// test: the serving certificate lives 15 s (renewed about every 10 s), the CA 45 s (rolled at
// about 30 s: published at once, served 2 s later, the old CA dropped 3 s after that).
var rotationArgs = []string{
	"--cert-validity=15s",
	"--cert-ca-validity=45s",
	"--cert-trust-delay=2s",
	"--cert-retire-delay=3s",
	"--cert-sync-interval=1s",
}

// mustStartWebhook routes both webhook configurations to a new local webhook process (on a free
// port) and starts it with extra flags; the process is stopped at the end of the test.
func mustStartWebhook(t *testing.T, extra ...string) *localWebhook {
	t.Helper()
	bin, err := cluster.Binary("webhook")
	if err != nil {
		t.Fatalf("%v (go build -o bin/webhook ./cmd/webhook)", err)
	}
	port := mustFreePort(t)
	mustRouteWebhooksTo(t, port)
	kubeconfig := env.MustServiceAccountKubeconfig(t, systemNamespace, "slogate-webhook")
	args := append([]string{
		"--cert-mode=self-managed",
		"--cert-dir=" + filepath.Join(t.TempDir(), "serving-certs"),
		"--cert-extra-sans=127.0.0.1",
		"--webhook-port=" + strconv.Itoa(port),
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(mustFreePort(t)),
		"--analyzer-username=" + analyzerUser,
		"--kubeconfig=" + kubeconfig,
	}, extra...)
	proc, err := env.StartProcess(cluster.ProcessSpec{Name: "webhook", Path: bin, Args: args})
	if err != nil {
		t.Fatalf("starting the webhook: %v", err)
	}
	t.Cleanup(func() {
		proc.Stop(webhookStopGrace)
		if t.Failed() {
			t.Logf("webhook log (end):\n%s", proc.Tail(8000))
		}
	})
	return &localWebhook{proc: proc, port: port}
}

func mustFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// mustRouteWebhooksTo points every webhook of both configurations at https://127.0.0.1:port with
// the path its Service reference named, and empties caBundle: the process must publish it. Only
// the client config changes; names, rules and selectors stay as installed.
func mustRouteWebhooksTo(t *testing.T, port int) {
	t.Helper()
	ctx := t.Context()
	route := func(cc *admissionregistrationv1.WebhookClientConfig) {
		path := ""
		switch {
		case cc.Service != nil && cc.Service.Path != nil:
			path = *cc.Service.Path
		case cc.URL != nil:
			u := *cc.URL
			// https://127.0.0.1:<old port><path>
			if i := indexAfterHost(u); i >= 0 {
				path = u[i:]
			}
		}
		url := fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
		cc.Service, cc.URL, cc.CABundle = nil, &url, nil
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := env.Client().Get(ctx, client.ObjectKey{Name: mutatingName}, mwc); err != nil {
		t.Fatalf("reading %s: %v", mutatingName, err)
	}
	for i := range mwc.Webhooks {
		route(&mwc.Webhooks[i].ClientConfig)
	}
	if err := env.Client().Update(ctx, mwc); err != nil {
		t.Fatalf("routing %s to the local webhook: %v", mutatingName, err)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client().Get(ctx, client.ObjectKey{Name: validatingName}, vwc); err != nil {
		t.Fatalf("reading %s: %v", validatingName, err)
	}
	for i := range vwc.Webhooks {
		route(&vwc.Webhooks[i].ClientConfig)
	}
	if err := env.Client().Update(ctx, vwc); err != nil {
		t.Fatalf("routing %s to the local webhook: %v", validatingName, err)
	}
}

// indexAfterHost returns where the path of an https URL starts, or -1.
func indexAfterHost(u string) int {
	const scheme = "https://"
	if len(u) <= len(scheme) {
		return -1
	}
	for i := len(scheme); i < len(u); i++ {
		if u[i] == '/' {
			return i
		}
	}
	return -1
}

// mustEmptyServingSecret puts the serving Secret back as the self-managed overlay ships it.
func mustEmptyServingSecret(t *testing.T) {
	t.Helper()
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: systemNamespace, Name: certs.DefaultSecretName}
	if err := env.Client().Get(t.Context(), key, s); err != nil {
		t.Fatalf("reading the serving Secret: %v", err)
	}
	s.Data, s.StringData = nil, nil
	for k := range s.Annotations {
		if len(k) > len("slogate.io/") && k[:len("slogate.io/")] == "slogate.io/" {
			delete(s.Annotations, k)
		}
	}
	if err := env.Client().Update(t.Context(), s); err != nil {
		t.Fatalf("emptying the serving Secret: %v", err)
	}
}

// servingSecret reads the serving Secret.
func servingSecret(ctx context.Context) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := env.Client().Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: certs.DefaultSecretName}, s)
	return s, err
}

// since formats a duration for logs.
func since(t0 time.Time) string {
	return time.Since(t0).Round(10 * time.Millisecond).String()
}
