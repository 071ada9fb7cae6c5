package main

import (
	"context"
	"flag"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/analyzer"
	"github.com/slogate/slogate/analyzer/analysis"
	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func main() {
	var (
		metricsAddr, probeAddr, promAddr string
		leaderElect                      bool
		leaderID, leaderNamespace        string
		leaseDuration, renewDeadline     time.Duration
		retryPeriod                      time.Duration
		concurrency                      int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint; 0 turns it off")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&promAddr, "prometheus-address", "http://prometheus.monitoring.svc:9090", "Prometheus of templates that name no address")
	flag.BoolVar(&leaderElect, "leader-elect", true, "run only while holding the leader lease")
	flag.StringVar(&leaderID, "leader-election-id", "slogate-analyzer", "name of the leader lease")
	flag.StringVar(&leaderNamespace, "leader-election-namespace", "slogate-system", "namespace of the leader lease")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a lease held by a dead leader blocks the others")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to take the lease")
	flag.IntVar(&concurrency, "concurrency", 4, "Deployments reconciled at once")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        newScheme(),
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              leaderID,
		LeaderElectionNamespace:       leaderNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
	})
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := setupReleases(ctx, mgr, newGate(mgr, promAddr), concurrency); err != nil {
		log.Error(err, "unable to set up the release controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to add the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "unable to add the readiness check")
		os.Exit(1)
	}
	log.Info("starting the analyzer", "leaderElect", leaderElect, "prometheusAddress", promAddr)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "the manager stopped")
		os.Exit(1)
	}
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, slogatev1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// newGate is the SLO gate of analysis steps: templates read through the manager's cache, queries
// sent to Prometheus.
func newGate(mgr ctrl.Manager, promAddr string) gate.Gate {
	return analysis.New(mgr.GetClient(), analysis.NewPrometheusClients(nil), promAddr)
}

func setupReleases(ctx context.Context, mgr ctrl.Manager, g gate.Gate, concurrency int) error {
	m, err := analyzer.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	r := &analyzer.Reconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    mgr.GetEventRecorder("slogate-analyzer"),
		Gate:        g,
		Clock:       clock.RealClock{},
		Metrics:     m,
		Concurrency: concurrency,
	}
	return r.SetupWithManager(ctx, mgr)
}
