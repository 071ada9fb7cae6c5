package slogate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slogate/slogate/e2e/cluster"
)

// Names the analyzer runs under, as installed (manifests/base).
const (
	// SystemNamespace is slogate's own namespace.
	SystemNamespace = "slogate-system"
	// AnalyzerServiceAccount is the analyzer's ServiceAccount; the webhook recognises its writes by
	// its username.
	AnalyzerServiceAccount = "slogate-analyzer"
	// AnalyzerLease is the analyzer's leader-election Lease in SystemNamespace.
	AnalyzerLease = "slogate-analyzer"
)

// Timings of a local analyzer. Leader election is shortened so that an analyzer started after a
// kill takes over within seconds rather than the production 15 s.
const (
	// AnalyzerLeaseDuration is how long the lease of a killed analyzer blocks the next one.
	AnalyzerLeaseDuration = 4 * time.Second
	analyzerRenewDeadline = 3 * time.Second
	analyzerRetryPeriod   = 500 * time.Millisecond
	// AnalyzerReadyTimeout bounds an analyzer's start: /readyz, then the lease (at most
	// AnalyzerLeaseDuration after a kill). Measured: under 1 s after a clean stop.
	AnalyzerReadyTimeout = 60 * time.Second
	// analyzerStopGrace is how long a stopping analyzer gets to release its lease.
	analyzerStopGrace = 10 * time.Second
)

// installFiles are the manifests the analyzer needs in the cluster: its namespace, ServiceAccount,
// RBAC and the ValidatingAdmissionPolicy that keeps its writes in opted-in namespaces.
var installFiles = []string{
	"manifests/base/namespace.yaml",
	"manifests/base/serviceaccounts.yaml",
	"manifests/base/rbac-analyzer.yaml",
	"manifests/base/scope-policy.yaml",
}

// AnalyzerOptions configure StartAnalyzer.
type AnalyzerOptions struct {
	// PrometheusAddress is --prometheus-address, the Prometheus of templates that name none.
	PrometheusAddress string
	// Args are appended to the analyzer's flags.
	Args []string
}

// Analyzer is bin/analyzer running as a local process against a Cluster, with the analyzer's
// ServiceAccount and RBAC as installed.
type Analyzer struct {
	c          *cluster.Cluster
	binary     string
	kubeconfig string
	opts       AnalyzerOptions

	mu     sync.Mutex
	proc   *cluster.Process
	probe  string
	starts int
	// prevHolder is the lease holder before the current process started.
	prevHolder string
}

// StartAnalyzer installs the analyzer's namespace, ServiceAccount, RBAC and scope policy, and starts
// bin/analyzer with a token of its ServiceAccount. It returns once the analyzer is ready and holds
// the leader lease. It fails, saying how to build it, when bin/analyzer is missing.
func StartAnalyzer(ctx context.Context, c *cluster.Cluster, opts AnalyzerOptions) (*Analyzer, error) {
	binary, err := cluster.Binary("analyzer")
	if err != nil {
		return nil, err
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, f := range installFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		if _, err := c.ApplyYAML(ctx, SystemNamespace, data); err != nil {
			return nil, fmt.Errorf("applying %s: %w", f, err)
		}
	}
	kubeconfig, err := c.ServiceAccountKubeconfig(ctx, SystemNamespace, AnalyzerServiceAccount)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{c: c, binary: binary, kubeconfig: kubeconfig, opts: opts}
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Start starts the analyzer process (again, after Kill or Stop) and waits until it is ready and
// leads. A start that loses its free ports to another process before binding them (they are
// picked by listening on port 0 and closing) is tried again with new ones, up to startAttempts.
func (a *Analyzer) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != nil {
		if done, _ := a.proc.Exited(); !done {
			return errors.New("the analyzer is running")
		}
	}
	var err error
	for range startAttempts {
		var proc *cluster.Process
		proc, err = a.start(ctx)
		if err == nil {
			return nil
		}
		if proc == nil || !strings.Contains(proc.Tail(4000), "address already in use") {
			return err
		}
	}
	return err
}

// startAttempts bounds the starts of Start that lose their ports.
const startAttempts = 3

func (a *Analyzer) start(ctx context.Context) (*cluster.Process, error) {
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return nil, err
	}
	a.probe = "127.0.0.1:" + strconv.Itoa(ports[1])
	args := []string{
		"--kubeconfig=" + a.kubeconfig,
		"--leader-elect=true",
		"--leader-election-namespace=" + SystemNamespace,
		"--leader-election-id=" + AnalyzerLease,
		"--leader-elect-lease-duration=" + AnalyzerLeaseDuration.String(),
		"--leader-elect-renew-deadline=" + analyzerRenewDeadline.String(),
		"--leader-elect-retry-period=" + analyzerRetryPeriod.String(),
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(ports[0]),
		"--health-probe-bind-address=" + a.probe,
		"--zap-log-level=debug",
	}
	if a.opts.PrometheusAddress != "" {
		args = append(args, "--prometheus-address="+a.opts.PrometheusAddress)
	}
	args = append(args, a.opts.Args...)
	a.starts++
	a.prevHolder = a.holder(ctx)
	proc, err := a.c.StartProcess(cluster.ProcessSpec{Name: "analyzer", Path: a.binary, Args: args})
	if err != nil {
		return nil, err
	}
	a.proc = proc
	if err := a.waitLeading(ctx, proc); err != nil {
		proc.Stop(analyzerStopGrace)
		return proc, err
	}
	return proc, nil
}

// waitLeading waits for /readyz and for the lease to name this process.
func (a *Analyzer) waitLeading(ctx context.Context, proc *cluster.Process) error {
	ctx, cancel := context.WithTimeout(ctx, AnalyzerReadyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	ready := false
	for {
		if done, err := proc.Exited(); done {
			return fmt.Errorf("the analyzer exited (%w); log %s:\n%s", err, proc.LogPath(), proc.Tail(4000))
		}
		if !ready {
			if resp, err := hc.Get("http://" + a.probe + "/readyz"); err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
			}
		}
		if ready && a.leads(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the analyzer did not become ready and leader within %v; log %s:\n%s",
				AnalyzerReadyTimeout, proc.LogPath(), proc.Tail(4000))
		case <-time.After(cluster.PollInterval):
		}
	}
}

// leads reports whether the lease has a holder other than the one before this process started,
// renewed within the lease duration. controller-runtime names the holder <hostname>_<uuid>, a fresh
// uuid per process, so a new holder is this process (the only analyzer of the cluster).
func (a *Analyzer) leads(ctx context.Context) bool {
	var lease coordinationv1.Lease
	if err := a.c.Client().Get(ctx, types.NamespacedName{Namespace: SystemNamespace, Name: AnalyzerLease}, &lease); err != nil {
		return false
	}
	h := lease.Spec.HolderIdentity
	if h == nil || *h == "" || *h == a.prevHolder || lease.Spec.RenewTime == nil {
		return false
	}
	return time.Since(lease.Spec.RenewTime.Time) < AnalyzerLeaseDuration
}

// holder is the current holder of the lease, "" when there is none.
func (a *Analyzer) holder(ctx context.Context) string {
	var lease coordinationv1.Lease
	if err := a.c.Client().Get(ctx, types.NamespacedName{Namespace: SystemNamespace, Name: AnalyzerLease}, &lease); err != nil ||
		lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// Kill sends SIGKILL to the analyzer: a crash at whatever it was doing.
func (a *Analyzer) Kill() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != nil {
		a.proc.Kill()
	}
}

// Stop stops the analyzer with SIGTERM (it releases the lease) and waits for it to exit.
func (a *Analyzer) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != nil {
		a.proc.Stop(analyzerStopGrace)
	}
}

// Log returns the end of the current process's log.
func (a *Analyzer) Log(n int64) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return ""
	}
	return a.proc.Tail(n)
}

// LogPath is the current process's log file.
func (a *Analyzer) LogPath() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return ""
	}
	return a.proc.LogPath()
}

// Starts counts the processes started so far.
func (a *Analyzer) Starts() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.starts
}
