package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
	"github.com/slogate/slogate/e2e/slogate"
)

// env is everything the demo runs.
type env struct {
	p     *printer
	sched schedule

	// root is the repository root; manifests is hack/demo in it.
	root, manifests string
	cluster         *cluster.Cluster
	prom            *prom.Server
	targets         *targets
	driver          *dataplane.Driver
	analyzer        *slogate.Analyzer
	webhook         *slogate.Webhook
	// analyzerMetrics and webhookMetrics are the URLs of slogate's /metrics endpoints.
	analyzerMetrics, webhookMetrics string
	// policy is the rendered policy.yaml.
	policy string

	keepDir bool
	keptDir string
}

// start starts the control plane, Prometheus, slogate and the data plane, and installs slogate's
// built-in templates.
func (e *env) start(ctx context.Context, keep bool) error {
	var err error
	if e.root, err = cluster.RepoRoot(); err != nil {
		return err
	}
	e.manifests = filepath.Join(e.root, "hack", "demo")
	e.keepDir = keep

	e.p.step("Starting a local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (%d fake nodes)", 3)
	e.cluster, err = cluster.Start(ctx, cluster.Options{
		CRDDirs:         []string{cluster.SlogateCRDDir},
		NoSignalHandler: true,
		KeepArtifacts:   keep,
	})
	if err != nil {
		return err
	}
	e.p.done("up in %s, with the Gateway API and slogate CRDs", roundDuration(e.cluster.StartupDuration()))
	if err := demoLog.open(filepath.Join(e.cluster.Logs(), "demo.log")); err != nil {
		return err
	}

	begin := time.Now()
	e.p.step("Starting Prometheus (scrapes every second)")
	e.prom, err = prom.Start(ctx, prom.Options{Dir: filepath.Join(e.cluster.Dir(), "prometheus")})
	if err != nil {
		return err
	}
	e.targets = &targets{server: e.prom}
	e.p.done("%s, ready in %s", e.prom.Address(), since(begin))

	begin = time.Now()
	e.p.step("Starting slogate: the admission webhook and the analyzer, as local processes")
	if err := e.startSlogate(ctx); err != nil {
		return err
	}
	e.p.done("ready in %s; the analyzer runs as ServiceAccount %s/%s", since(begin), slogate.SystemNamespace, slogate.AnalyzerServiceAccount)

	begin = time.Now()
	e.p.step("Starting the data plane: a demo-app process per revision, %v requests/s through the HTTPRoute", e.sched.Rate)
	e.driver, err = dataplane.Start(ctx, dataplane.Options{
		Config:     e.cluster.RESTConfig(),
		DemoApp:    filepath.Join(e.root, "bin", "demo-app"),
		Namespaces: []string{namespace},
		Prometheus: e.targets,
		Rate:       e.sched.Rate,
		LogDir:     filepath.Join(e.cluster.Logs(), "demo-app"),
		Logger:     ctrllog.Log.WithName("dataplane"),
	})
	if err != nil {
		return err
	}
	e.p.done("ready in %s", since(begin))

	if e.policy, err = renderPolicy(e.manifests, filepath.Join(e.cluster.Dir(), "manifests"), e.sched); err != nil {
		return err
	}
	return nil
}

// startSlogate starts the webhook and the analyzer (as its own ServiceAccount), and has
// Prometheus scrape their metrics too.
func (e *env) startSlogate(ctx context.Context) error {
	var err error
	e.webhook, err = slogate.StartWebhook(ctx, e.cluster, slogate.WebhookOptions{})
	if err != nil {
		return fmt.Errorf("starting the webhook: %w", err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		return err
	}
	analyzerMetrics := "127.0.0.1:" + strconv.Itoa(ports[0])
	e.analyzer, err = slogate.StartAnalyzer(ctx, e.cluster, slogate.AnalyzerOptions{
		PrometheusAddress: e.prom.Address(),
		// The last of a repeated flag wins: the demo picks the metrics port, to print it and have
		// Prometheus scrape it.
		Args: []string{"--metrics-bind-address=" + analyzerMetrics},
	})
	if err != nil {
		return fmt.Errorf("starting the analyzer: %w", err)
	}
	e.analyzerMetrics = "http://" + analyzerMetrics + "/metrics"
	e.webhookMetrics = e.webhook.MetricsURL()
	webhookTarget, err := hostPort(e.webhookMetrics)
	if err != nil {
		return err
	}
	return e.targets.setOwn([]prom.Target{
		{Address: analyzerMetrics, Labels: map[string]string{"component": "analyzer"}},
		{Address: webhookTarget, Labels: map[string]string{"component": "webhook"}},
	})
}

// hostPort is the host:port of a URL.
func hostPort(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", u, err)
	}
	return pu.Host, nil
}

// keep makes stop keep the run directory.
func (e *env) keep() { e.keepDir = true }

// stop stops everything start started, the data plane first (its processes are Prometheus's
// targets) and the control plane last (it owns slogate's processes).
func (e *env) stop() {
	if e.driver != nil {
		if err := e.driver.Stop(); err != nil {
			e.p.say("stopping the data plane: %v", err)
		}
	}
	if e.prom != nil {
		if err := e.prom.Close(); err != nil {
			e.p.say("stopping Prometheus: %v", err)
		}
	}
	demoLog.close()
	if e.cluster != nil {
		if e.keepDir {
			e.cluster.KeepArtifacts()
			e.keptDir = e.cluster.Dir()
		}
		e.cluster.Stop()
	}
}

// targets merges the data plane's scrape targets with slogate's own, for Prometheus.
type targets struct {
	server *prom.Server

	mu       sync.Mutex
	app, own []prom.Target
}

// SetTargets implements dataplane.TargetSetter.
func (t *targets) SetTargets(app []prom.Target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.app = slices.Clone(app)
	return t.server.SetTargets(slices.Concat(t.app, t.own))
}

func (t *targets) setOwn(own []prom.Target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.own = slices.Clone(own)
	return t.server.SetTargets(slices.Concat(t.app, t.own))
}

// relPath is path relative to the working directory when it is below it, else path.
func relPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}
