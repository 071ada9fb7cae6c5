package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"

	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
	"github.com/slogate/slogate/e2e/slogate"
)

// Sizes of the environment.
const (
	// benchNodes fake nodes of benchPodsPerNode pods hold the scale section's 1,000 releases
	// (a stable and a canary pod each) and everything else.
	benchNodes       = 4
	benchPodsPerNode = 1000
	// scrapeInterval is Prometheus's scrape and evaluation interval (e2e/prom's default).
	scrapeInterval = time.Second
)

// env is the e2e environment the cluster sections share: a local control plane, a real
// Prometheus, slogate's webhook and analyzer as local processes, and the data plane.
type env struct {
	root    string
	c       *cluster.Cluster
	prom    *prom.Server
	targets *targetMux
	webhook *slogate.Webhook
	// webhookPid is bin/webhook's process.
	webhookPid int

	analyzer        *slogate.Analyzer
	analyzerBinary  string
	analyzerMetrics string // URL of the analyzer's /metrics
	analyzerArg     string // the flag that names the analyzer's process

	driver *dataplane.Driver
}

// startEnv starts the control plane, Prometheus, the webhook, the analyzer and the data plane.
func startEnv(ctx context.Context, dir string) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if e.root, err = cluster.RepoRoot(); err != nil {
		return nil, err
	}
	for _, b := range []string{"webhook", "analyzer", "demo-app"} {
		if _, err := os.Stat(filepath.Join(e.root, "bin", b)); err != nil {
			return nil, fmt.Errorf("bin/%s is missing: run `make build` (make bench does)", b)
		}
	}
	begin := time.Now()
	e.c, err = cluster.Start(ctx, cluster.Options{
		Nodes: benchNodes,
		NodeCapacity: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("1000"),
			corev1.ResourceMemory: resource.MustParse("4Ti"),
			corev1.ResourcePods:   resource.MustParse(strconv.Itoa(benchPodsPerNode)),
		},
		CRDDirs: []string{cluster.SlogateCRDDir},
		// The controllers must keep up with a thousand releases: the harness's defaults are for tests.
		ControllerManagerArgs: []string{"--kube-api-qps=1000", "--kube-api-burst=2000", "--concurrent-deployment-syncs=20", "--concurrent-replicaset-syncs=20"},
		BaseDir:               dir,
	})
	if err != nil {
		return nil, err
	}
	logf("control plane up in %s (logs %s)", time.Since(begin).Round(100*time.Millisecond), e.c.Logs())
	e.prom, err = prom.Start(ctx, prom.Options{Dir: filepath.Join(e.c.Dir(), "prometheus"), ScrapeInterval: scrapeInterval})
	if err != nil {
		return nil, err
	}
	e.targets = &targetMux{server: e.prom}

	e.webhook, err = slogate.StartWebhook(ctx, e.c, slogate.WebhookOptions{
		// The harness logs at debug level; a production webhook logs at info (each hold, not
		// each request). The last of a repeated flag wins.
		Args: []string{"--zap-log-level=info"},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the webhook: %w", err)
	}
	webhookBinary, err := cluster.Binary("webhook")
	if err != nil {
		return nil, err
	}
	if e.webhookPid, err = findPid(webhookBinary, "--webhook-port="+strconv.Itoa(e.webhook.Port())); err != nil {
		return nil, err
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	e.analyzerArg = "--metrics-bind-address=127.0.0.1:" + strconv.Itoa(port)
	e.analyzerMetrics = "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	if e.analyzerBinary, err = cluster.Binary("analyzer"); err != nil {
		return nil, err
	}
	e.analyzer, err = slogate.StartAnalyzer(ctx, e.c, slogate.AnalyzerOptions{
		PrometheusAddress: e.prom.Address(),
		// As the webhook: info level, as installed. The metrics port is the bench's, to read them
		// and to find the process.
		// Leader election with the installed timings too: the e2e starter's short lease (4 s,
		// renewed within 3 s) can be lost on a machine this loaded, and a leader that loses its
		// lease exits.
		Args: []string{e.analyzerArg, "--zap-log-level=info",
			"--leader-elect-lease-duration=15s", "--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s"},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the analyzer: %w", err)
	}

	e.driver, err = dataplane.Start(ctx, dataplane.Options{
		Config:     e.c.RESTConfig(),
		DemoApp:    filepath.Join(e.root, "bin", "demo-app"),
		Prometheus: e.targets,
		LogDir:     filepath.Join(e.c.Logs(), "demo-app"),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the data plane: %w", err)
	}
	logf("environment up in %s", time.Since(begin).Round(100*time.Millisecond))
	return e, nil
}

// analyzerPid is the running analyzer's process.
func (e *env) analyzerPid() (int, error) { return findPid(e.analyzerBinary, e.analyzerArg) }

// restartAnalyzer stops the analyzer and starts a fresh process (fresh peak RSS and CPU count).
func (e *env) restartAnalyzer(ctx context.Context) error {
	e.analyzer.Stop()
	return e.analyzer.Start(ctx)
}

// apiserverMetrics scrapes the API server's /metrics as the admin.
func (e *env) apiserverMetrics(ctx context.Context) (families, error) {
	cfg := e.c.RESTConfig()
	cfg.GroupVersion = nil
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := newGet(ctx, cfg.Host+"/metrics")
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server: %w", err)
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

// analyzerGone says whether the analyzer process has exited, with the end of its log.
func (e *env) analyzerGone() error {
	if _, err := e.analyzerPid(); err == nil {
		return nil
	}
	return fmt.Errorf("the analyzer exited; end of its log %s:\n%s", e.analyzer.LogPath(), e.analyzer.Log(3000))
}

func (e *env) stop() {
	if e.driver != nil {
		_ = e.driver.Stop()
	}
	if e.analyzer != nil {
		e.analyzer.Stop()
	}
	if e.webhook != nil {
		e.webhook.Stop(context.Background())
	}
	if e.prom != nil {
		_ = e.prom.Close()
	}
	if e.c != nil {
		e.c.Stop()
	}
}

// targetMux gives Prometheus the data plane's targets plus the bench's own.
type targetMux struct {
	server *prom.Server

	mu            sync.Mutex
	driver, extra []prom.Target
}

// SetTargets is the data plane's.
func (t *targetMux) SetTargets(ts []prom.Target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.driver = ts
	return t.flushLocked()
}

func (t *targetMux) setExtra(ts []prom.Target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.extra = ts
	return t.flushLocked()
}

func (t *targetMux) flushLocked() error {
	all := append(append([]prom.Target(nil), t.driver...), t.extra...)
	return t.server.SetTargets(all)
}

var errTimeout = errors.New("timed out")

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
