package slogate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
)

// Environment is what a release scenario runs on besides the control plane: a real Prometheus, the
// data plane that feeds it (demo-apps behind the routes' live weights), the webhook and the analyzer.
type Environment struct {
	Prometheus *prom.Server
	Plane      *dataplane.Driver
	Webhook    *Webhook
	Analyzer   *Analyzer
	// DemoApp is the demo-app binary the data plane runs, for scenarios that start a data plane of
	// their own.
	DemoApp string

	stops []func()
}

// EnvironmentOptions configure StartEnvironment.
type EnvironmentOptions struct {
	// TrafficRate is the requests per second the data plane sends on each route.
	TrafficRate float64
}

// StartEnvironment starts Prometheus, the data plane, the webhook and the analyzer (which queries
// that Prometheus by default) against c. On an error it stops what it started.
func StartEnvironment(ctx context.Context, c *cluster.Cluster, opts EnvironmentOptions) (_ *Environment, err error) {
	e := &Environment{}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	if e.DemoApp, err = cluster.Binary("demo-app"); err != nil {
		return nil, err
	}
	if e.Prometheus, err = prom.Start(ctx, prom.Options{}); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w", err)
	}
	e.stops = append(e.stops, func() { _ = e.Prometheus.Close() })
	e.Plane, err = dataplane.Start(ctx, dataplane.Options{
		Config: c.RESTConfig(), DemoApp: e.DemoApp, Prometheus: e.Prometheus, Rate: opts.TrafficRate,
		LogDir: filepath.Join(c.Logs(), "dataplane"),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the data plane: %w", err)
	}
	e.stops = append(e.stops, func() { _ = e.Plane.Stop() })
	if e.Webhook, err = StartWebhook(ctx, c, WebhookOptions{}); err != nil {
		return nil, fmt.Errorf("starting the webhook: %w", err)
	}
	e.stops = append(e.stops, func() { e.Webhook.Stop(context.Background()) })
	if e.Analyzer, err = StartAnalyzer(ctx, c, AnalyzerOptions{PrometheusAddress: e.Prometheus.Address()}); err != nil {
		return nil, fmt.Errorf("starting the analyzer: %w", err)
	}
	e.stops = append(e.stops, e.Analyzer.Stop)
	return e, nil
}

// Stop stops what StartEnvironment started, last started first.
func (e *Environment) Stop() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
	e.stops = nil
}

// RunScenarios is the body of the TestMain of a package of release scenarios: one control plane with
// slogate's CRDs, one Environment started within setupTimeout and handed to use, the tests, then
// everything stopped, the scenarios' processes before the control plane. When a test fails the logs
// are kept and their place printed. name prefixes what it prints.
func RunScenarios(m *testing.M, name string, opts EnvironmentOptions, setupTimeout time.Duration,
	use func(*cluster.Cluster, *Environment)) int {
	c, err := cluster.Start(context.Background(), cluster.Options{CRDDirs: []string{cluster.SlogateCRDDir}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: control plane up in %.1fs; kubeconfig %s\n", c.StartupDuration().Seconds(), c.Kubeconfig())
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	e, err := StartEnvironment(ctx, c, opts)
	cancel()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: setup failed: %v\n", name, err)
	} else {
		fmt.Fprintf(os.Stderr, "%s: prometheus %s, analyzer log %s\n", name, e.Prometheus.Address(), e.Analyzer.LogPath())
		use(c, e)
		code = m.Run()
		e.Stop()
	}
	if code != 0 {
		c.KeepArtifacts()
		fmt.Fprintf(os.Stderr, "cluster: %s failed; logs kept in %s\n", name, c.Logs())
	}
	c.Stop()
	return code
}
