package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/webhook"
)

// Certificate modes: files reads tls.crt and tls.key from --cert-dir and reloads them when they
// change (cert-manager, or any tool that writes the files).
const certModeFiles = "files"

func main() {
	var (
		certMode, certDir, certName, keyName string
		host, metricsAddr, probeAddr         string
		analyzerUsername                     string
		port                                 int
		enableHTTP2                          bool
		shutdownTimeout                      time.Duration
	)
	flag.StringVar(&certMode, "cert-mode", certModeFiles, "where the serving certificate comes from: files")
	flag.StringVar(&certDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with the serving certificate and key (--cert-mode=files)")
	flag.StringVar(&certName, "cert-name", "tls.crt", "file name of the serving certificate in --cert-dir")
	flag.StringVar(&keyName, "key-name", "tls.key", "file name of the serving key in --cert-dir")
	flag.StringVar(&host, "webhook-host", "", "address the webhook server listens on (empty: all)")
	flag.IntVar(&port, "webhook-port", 9443, "port the webhook server listens on")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", `address of the metrics endpoint ("0" turns it off)`)
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&analyzerUsername, "analyzer-username", webhook.DefaultAnalyzerUsername, "username of the analyzer's requests")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "serve HTTP/2 (off: HTTP/1.1 only, which avoids the HTTP/2 rapid-reset and stream-cancellation attacks)")
	flag.DurationVar(&shutdownTimeout, "graceful-shutdown-timeout", 30*time.Second, "how long in-flight requests may take after SIGTERM")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	server, err := webhookServer(certMode, ctrlwebhook.Options{
		Host: host, Port: port, CertDir: certDir, CertName: certName, KeyName: keyName,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			if !enableHTTP2 {
				c.NextProtos = []string{"http/1.1"}
			}
		}},
	})
	if err != nil {
		log.Error(err, "Invalid serving certificate configuration", "certMode", certMode)
		os.Exit(1)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		WebhookServer:           server,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		GracefulShutdownTimeout: &shutdownTimeout,
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	if err := setupWebhook(mgr, analyzerUsername); err != nil {
		log.Error(err, "Unable to set up the webhook")
		os.Exit(1)
	}
	log.Info("Starting the webhook server", "port", port, "certMode", certMode, "analyzerUsername", analyzerUsername)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// webhookServer makes the webhook server for a certificate mode. Another mode (self-managed
// certificates, package certs) adds a case here, and any runnable it needs in setupWebhook.
func webhookServer(certMode string, opts ctrlwebhook.Options) (ctrlwebhook.Server, error) {
	switch certMode {
	case certModeFiles:
		// The server watches CertDir with controller-runtime's certwatcher and serves the new
		// certificate as soon as the files change.
		return ctrlwebhook.NewServer(opts), nil
	default:
		return nil, fmt.Errorf("--cert-mode=%q: the supported modes are %q", certMode, certModeFiles)
	}
}

// setupWebhook registers the handlers, the decision metrics and the probes. Readiness waits until
// the webhook server serves TLS.
func setupWebhook(mgr ctrl.Manager, analyzerUsername string) error {
	m, err := webhook.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	if err := webhook.Setup(mgr, webhook.Options{AnalyzerUsername: analyzerUsername, Metrics: m}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	return nil
}
