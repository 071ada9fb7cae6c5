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
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/certs"
	"github.com/slogate/slogate/webhook"
)

// Certificate modes: files reads tls.crt and tls.key from --cert-dir and reloads them when they
// change (cert-manager, or any tool that writes the files); self-managed issues, renews and rolls
// them itself (package certs) and writes them into --cert-dir.
const (
	certModeFiles       = "files"
	certModeSelfManaged = "self-managed"
)

func main() {
	var (
		certMode, certDir, certName, keyName string
		host, metricsAddr, probeAddr         string
		analyzerUsername                     string
		port                                 int
		enableHTTP2                          bool
		shutdownTimeout                      time.Duration
	)
	flag.StringVar(&certMode, "cert-mode", certModeFiles, "where the serving certificate comes from: files or self-managed")
	certOpts := certs.DefaultOptions()
	certOpts.AddFlags(flag.CommandLine)
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

	cfg := ctrl.GetConfigOrDie()
	server, rotator, err := webhookServer(cfg, certMode, certOpts, ctrlwebhook.Options{
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
	utilruntime.Must(slogatev1alpha1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
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
	if rotator != nil {
		if err := mgr.Add(rotator); err != nil {
			log.Error(err, "Unable to add the serving-certificate rotator")
			os.Exit(1)
		}
		if err := mgr.AddReadyzCheck("serving-certificate", rotator.ReadyCheck); err != nil {
			log.Error(err, "Unable to add the serving-certificate readiness check")
			os.Exit(1)
		}
	}
	log.Info("Starting the webhook server", "port", port, "certMode", certMode, "analyzerUsername", analyzerUsername)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// webhookServer makes the webhook server for a certificate mode, and in self-managed mode the
// rotator that keeps its certificate (nil otherwise).
func webhookServer(cfg *rest.Config, certMode string, certOpts certs.Options, opts ctrlwebhook.Options) (ctrlwebhook.Server, *certs.Rotator, error) {
	switch certMode {
	case certModeFiles:
		// The server watches CertDir with controller-runtime's certwatcher and serves the new
		// certificate as soon as the files change.
		return ctrlwebhook.NewServer(opts), nil, nil
	case certModeSelfManaged:
		// The rotator writes CertDir and serves what it loaded; the server does not open the files.
		certOpts.CertDir = opts.CertDir
		rotator, err := certs.New(cfg, certOpts)
		if err != nil {
			return nil, nil, err
		}
		opts.TLSOpts = append(opts.TLSOpts, rotator.TLSOpt)
		return ctrlwebhook.NewServer(opts), rotator, nil
	default:
		return nil, nil, fmt.Errorf("--cert-mode=%q: the supported modes are %q and %q", certMode, certModeFiles, certModeSelfManaged)
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
