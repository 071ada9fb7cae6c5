package slogate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
	webhookmanifests "github.com/slogate/slogate/manifests/base/webhook"
)

// WebhookServiceAccount is the webhook's ServiceAccount; the local webhook runs with its token.
const WebhookServiceAccount = "slogate-webhook"

// Timings of a local webhook.
const (
	// WebhookReadyTimeout bounds a webhook's start: the process serving TLS (/readyz), then the API
	// server calling both configurations (its webhook informers pick up new configurations within
	// about a second). Measured: about 1 s.
	WebhookReadyTimeout = 60 * time.Second
	// webhookStopGrace is how long a stopping webhook gets to finish in-flight requests.
	webhookStopGrace = 10 * time.Second
	// webhookCertValidity is the lifetime of the CA and serving certificate made for a run.
	webhookCertValidity = 24 * time.Hour
)

// WebhookProbeNamespace is the opted-in namespace StartWebhook sends its server-side dry runs to,
// to see the API server calling the webhook.
const WebhookProbeNamespace = "slogate-webhook-probe"

// installWebhookFiles are the manifests the webhook process needs in the cluster: its namespace and
// ServiceAccount.
var installWebhookFiles = []string{
	"manifests/base/namespace.yaml",
	"manifests/base/serviceaccounts.yaml",
}

// WebhookOptions configure StartWebhook.
type WebhookOptions struct {
	// AnalyzerUsername is --analyzer-username; empty means the analyzer's ServiceAccount.
	AnalyzerUsername string
	// Args are appended to the webhook's flags.
	Args []string
}

// Webhook is bin/webhook running as a local process against a Cluster, serving TLS with a CA made
// for the run, and registered with the API server through the configurations of
// manifests/base/webhook, each hook's Service reference replaced by the local URL and the CA.
type Webhook struct {
	c       *cluster.Cluster
	proc    *cluster.Process
	port    int
	metrics string
	caPEM   []byte

	stopOnce sync.Once
}

// StartWebhook starts bin/webhook with a token of its ServiceAccount and a serving certificate for
// 127.0.0.1, registers both webhook configurations, and returns once the API server calls them.
// It fails, saying how to build it, when bin/webhook is missing.
func StartWebhook(ctx context.Context, c *cluster.Cluster, opts WebhookOptions) (*Webhook, error) {
	binary, err := cluster.Binary("webhook")
	if err != nil {
		return nil, err
	}
	if err := applyRepoFiles(ctx, c, installWebhookFiles); err != nil {
		return nil, err
	}
	kubeconfig, err := c.ServiceAccountKubeconfig(ctx, SystemNamespace, WebhookServiceAccount)
	if err != nil {
		return nil, err
	}
	certDir, err := os.MkdirTemp(c.Dir(), "webhook-certs-")
	if err != nil {
		return nil, err
	}
	caPEM, err := writeServingCertificate(certDir)
	if err != nil {
		return nil, err
	}
	ports, err := cluster.FreePorts(3)
	if err != nil {
		return nil, err
	}
	analyzer := opts.AnalyzerUsername
	if analyzer == "" {
		analyzer = "system:serviceaccount:" + SystemNamespace + ":" + AnalyzerServiceAccount
	}
	w := &Webhook{c: c, port: ports[0], metrics: "127.0.0.1:" + strconv.Itoa(ports[1]), caPEM: caPEM}
	probe := "127.0.0.1:" + strconv.Itoa(ports[2])
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--cert-mode=files",
		"--cert-dir=" + certDir,
		"--webhook-host=127.0.0.1",
		"--webhook-port=" + strconv.Itoa(w.port),
		"--metrics-bind-address=" + w.metrics,
		"--health-probe-bind-address=" + probe,
		"--analyzer-username=" + analyzer,
		"--zap-log-level=debug",
	}, opts.Args...)
	w.proc, err = c.StartProcess(cluster.ProcessSpec{Name: "webhook", Path: binary, Args: args})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, WebhookReadyTimeout)
	defer cancel()
	if err := w.waitReady(ctx, probe); err != nil {
		w.proc.Stop(webhookStopGrace)
		return nil, err
	}
	if err := w.register(ctx); err != nil {
		w.proc.Stop(webhookStopGrace)
		return nil, err
	}
	if err := w.waitCalled(ctx); err != nil {
		w.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return w, nil
}

func applyRepoFiles(ctx context.Context, c *cluster.Cluster, files []string) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		if _, err := c.ApplyYAML(ctx, SystemNamespace, data); err != nil {
			return fmt.Errorf("applying %s: %w", f, err)
		}
	}
	return nil
}

// writeServingCertificate makes a CA and a serving certificate for 127.0.0.1 and localhost signed
// by it, writes tls.crt and tls.key into dir, and returns the CA's PEM.
func writeServingCertificate(dir string) ([]byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slogate-e2e-webhook-ca"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(webhookCertValidity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("making the webhook CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "slogate-webhook"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(webhookCertValidity),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("making the webhook serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// waitReady waits for /readyz, which the webhook answers once its server serves TLS.
func (w *Webhook) waitReady(ctx context.Context, probe string) error {
	hc := &http.Client{Timeout: time.Second}
	for {
		if done, err := w.proc.Exited(); done {
			return fmt.Errorf("the webhook exited (%w); log %s:\n%s", err, w.proc.LogPath(), w.proc.Tail(4000))
		}
		if resp, err := hc.Get("http://" + probe + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the webhook did not become ready within %v; log %s:\n%s", WebhookReadyTimeout, w.proc.LogPath(), w.proc.Tail(4000))
		case <-time.After(cluster.PollInterval):
		}
	}
}

// Configurations returns the webhook configurations of manifests/base/webhook routed to this
// process: each hook calls https://127.0.0.1:<port><its path> and trusts the run's CA. Names, rules
// and selectors stay as installed.
func (w *Webhook) Configurations() (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(webhookmanifests.Mutating, &m); err != nil {
		return nil, nil, fmt.Errorf("reading the mutating webhook configuration: %w", err)
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(webhookmanifests.Validating, &v); err != nil {
		return nil, nil, fmt.Errorf("reading the validating webhook configuration: %w", err)
	}
	for i := range m.Webhooks {
		if err := w.route(&m.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, fmt.Errorf("hook %s: %w", m.Webhooks[i].Name, err)
		}
	}
	for i := range v.Webhooks {
		if err := w.route(&v.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, fmt.Errorf("hook %s: %w", v.Webhooks[i].Name, err)
		}
	}
	return &m, &v, nil
}

func (w *Webhook) route(cc *admissionregistrationv1.WebhookClientConfig) error {
	if cc.Service == nil || cc.Service.Path == nil {
		return errors.New("the hook names no Service path")
	}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", w.port, *cc.Service.Path)
	cc.Service, cc.URL, cc.CABundle = nil, &url, w.caPEM
	return nil
}

// register applies both configurations, routed to this process.
func (w *Webhook) register(ctx context.Context) error {
	m, v, err := w.Configurations()
	if err != nil {
		return err
	}
	for _, obj := range []any{m, v} {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if _, err := w.c.ApplyYAML(ctx, "", data); err != nil {
			return fmt.Errorf("registering the webhook: %w", err)
		}
	}
	return nil
}

// waitCalled waits until the API server calls both configurations: a server-side dry run of a
// Deployment in an opted-in namespace comes back labelled (mutating), and one with a malformed
// slogate.io/skip is refused naming the field (validating).
func (w *Webhook) waitCalled(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: WebhookProbeNamespace,
		Labels: map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}}}
	if err := w.c.Client().Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	probe := func(annotations map[string]string) *appsv1.Deployment {
		labels := map[string]string{"app": "probe"}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns.Name, Annotations: annotations},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "probe"}}}},
			},
		}
	}
	var last string
	for {
		d := probe(nil)
		err := w.c.Client().Create(ctx, d, client.DryRunAll)
		mutated := err == nil && d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] != ""
		last = fmt.Sprintf("mutating: labelled=%v err=%v", mutated, err)
		if mutated {
			err = w.c.Client().Create(ctx, probe(map[string]string{slogatev1alpha1.SkipAnnotation: "maybe"}), client.DryRunAll)
			if err != nil && strings.Contains(err.Error(), "metadata.annotations[slogate.io/skip]") {
				return nil
			}
			last = fmt.Sprintf("validating: err=%v", err)
		}
		if done, perr := w.proc.Exited(); done {
			return fmt.Errorf("the webhook exited (%w); log %s:\n%s", perr, w.proc.LogPath(), w.proc.Tail(4000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server did not call the webhook within %v (last: %s); log %s:\n%s",
				WebhookReadyTimeout, last, w.proc.LogPath(), w.proc.Tail(4000))
		case <-time.After(cluster.PollInterval):
		}
	}
}

// Stop removes both webhook configurations (so the cluster stays usable) and stops the process
// with SIGTERM, letting in-flight requests finish.
func (w *Webhook) Stop(ctx context.Context) {
	w.stopOnce.Do(func() {
		for _, obj := range []client.Object{
			&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "slogate"}},
			&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "slogate"}},
		} {
			_ = client.IgnoreNotFound(w.c.Client().Delete(ctx, obj))
		}
		w.proc.Stop(webhookStopGrace)
	})
}

// Port is the port the webhook serves on (127.0.0.1).
func (w *Webhook) Port() int { return w.port }

// CAPEM is the CA that signed the serving certificate.
func (w *Webhook) CAPEM() []byte { return append([]byte(nil), w.caPEM...) }

// MetricsURL is the webhook's Prometheus endpoint.
func (w *Webhook) MetricsURL() string { return "http://" + w.metrics + "/metrics" }

// TLSConfig trusts the webhook's serving certificate, for calling it directly.
func (w *Webhook) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.caPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Log returns the end of the process's log.
func (w *Webhook) Log(n int64) string { return w.proc.Tail(n) }

// LogPath is the process's log file.
func (w *Webhook) LogPath() string { return w.proc.LogPath() }
