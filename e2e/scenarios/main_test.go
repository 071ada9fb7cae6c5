package scenarios

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
	"github.com/slogate/slogate/e2e/slogate"
)

// Timeouts of this package, in one place. A release under the scenarios' policy (scenario.yaml)
// takes about 30 s here: three pauses of 3 s, two analyses that need two successful measurements
// 2 s apart after a 4 s delay, and a promotion of 4 replicas on kwok.
const (
	// setupTimeout bounds TestMain's start of Prometheus, the data plane, the webhook and the
	// analyzer (a few seconds).
	setupTimeout = 3 * time.Minute
	// appReadyTimeout bounds a Deployment applied by kubectl becoming available on kwok, and the data
	// plane serving its pods (under 5 s).
	appReadyTimeout = 60 * time.Second
	// releaseTimeout bounds a whole release, from kubectl apply to a terminal, cleaned-up Release.
	releaseTimeout = 4 * time.Minute
	// stepTimeout bounds reaching a given step or phase of a release (the longest is an analysis:
	// about 10 s, or up to the policy's analysis timeout of 1 m when Prometheus lacks samples).
	stepTimeout = 2 * time.Minute
	// quietPeriod is how long a scenario watches for something that must not happen (a release
	// started by re-applying a failed manifest). The analyzer reacts within a second.
	quietPeriod = 8 * time.Second
	// holdGrace bounds the time between the webhook holding a Deployment and the analyzer creating
	// its Release (under a second; more when the analyzer was just killed and waits for the lease).
	holdGrace = 20 * time.Second
	// trafficRate is the requests per second the data plane sends on each route.
	trafficRate = 100
	// trafficWindow is how many requests a check of who serves the route looks at (2 s of traffic).
	trafficWindow = 200
)

var (
	// env is the control plane of this package; each scenario has its own namespace in it.
	env *cluster.Cluster
	// promServer is the Prometheus the analyzer queries and the data plane feeds.
	promServer *prom.Server
	// plane sends the routes' traffic to demo-apps standing in for the pods.
	plane *dataplane.Driver
	// analyzer is bin/analyzer; restart scenarios kill and start it.
	analyzer *slogate.Analyzer
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run is cluster.RunTests with a teardown: the scenarios' own processes stop before the control
// plane does.
func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	c, err := cluster.Start(context.Background(), cluster.Options{CRDDirs: []string{cluster.SlogateCRDDir}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: control plane up in %.1fs; kubeconfig %s\n", c.StartupDuration().Seconds(), c.Kubeconfig())
	env = c
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	stops, err := setup(ctx, c)
	cancel()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: setup failed: %v\n", err)
	} else {
		code = m.Run()
	}
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	if code != 0 {
		c.KeepArtifacts()
		fmt.Fprintf(os.Stderr, "cluster: scenarios failed; logs kept in %s\n", c.Logs())
	}
	c.Stop()
	return code
}

// setup starts what the scenarios share, returning how to stop it (also after an error).
func setup(ctx context.Context, c *cluster.Cluster) ([]func(), error) {
	var stops []func()
	demoApp, err := cluster.Binary("demo-app")
	if err != nil {
		return stops, err
	}
	promServer, err = prom.Start(ctx, prom.Options{})
	if err != nil {
		return stops, fmt.Errorf("starting prometheus: %w", err)
	}
	stops = append(stops, func() { _ = promServer.Close() })
	plane, err = dataplane.Start(ctx, dataplane.Options{
		Config: c.RESTConfig(), DemoApp: demoApp, Prometheus: promServer, Rate: trafficRate, LogDir: c.Logs() + "/dataplane",
	})
	if err != nil {
		return stops, fmt.Errorf("starting the data plane: %w", err)
	}
	stops = append(stops, func() { _ = plane.Stop() })
	wh, err := slogate.StartWebhook(ctx, c, slogate.WebhookOptions{})
	if err != nil {
		return stops, fmt.Errorf("starting the webhook: %w", err)
	}
	stops = append(stops, func() { wh.Stop(context.Background()) })
	analyzer, err = slogate.StartAnalyzer(ctx, c, slogate.AnalyzerOptions{PrometheusAddress: promServer.Address()})
	if err != nil {
		return stops, fmt.Errorf("starting the analyzer: %w", err)
	}
	stops = append(stops, analyzer.Stop)
	fmt.Fprintf(os.Stderr, "scenarios: prometheus %s, analyzer log %s\n", promServer.Address(), analyzer.LogPath())
	return stops, nil
}
