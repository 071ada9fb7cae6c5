package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/e2e/cluster"
)

// Job is the job name of the scrape configuration, the `job` label of every scraped series.
const Job = "demo-app"

// Target labels every target carries (see Target.Labels).
const (
	LabelNamespace       = "namespace"
	LabelApp             = "app"
	LabelRevision        = "slogate_io_revision"
	LabelPodTemplateHash = "pod_template_hash"
)

// Target is one scrape target.
type Target struct {
	// Address is the host:port serving /metrics.
	Address string
	// Labels are added to every series scraped from the target: LabelNamespace, LabelApp,
	// LabelRevision (when the pods have a revision label) and LabelPodTemplateHash.
	Labels map[string]string
}

// Options of Start. The zero value is usable.
type Options struct {
	// Binary is the prometheus executable; default "prometheus" on PATH.
	Binary string
	// Dir holds the configuration, targets, TSDB and log; default a new temporary directory that
	// Close removes.
	Dir string
	// ScrapeInterval is the scrape and evaluation interval; default 1s.
	ScrapeInterval time.Duration
	// ReadyTimeout bounds the wait for /-/ready at each start; default 60s.
	ReadyTimeout time.Duration
}

// Server is a running (or stopped, restartable) Prometheus.
type Server struct {
	binary       string
	dir          string
	ownDir       bool
	readyTimeout time.Duration
	port         int
	api          promv1.API

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// ErrNotFound is returned by Start when the prometheus binary cannot be found.
var ErrNotFound = errors.New("prometheus binary not found: run `make e2e-tools` (it runs hack/install-prometheus.sh)")

// Start writes the configuration and starts Prometheus on a free loopback port, and returns once
// it answers /-/ready.
func Start(ctx context.Context, opts Options) (*Server, error) {
	binary := opts.Binary
	if binary == "" {
		binary = "prometheus"
	}
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	s := &Server{binary: path, dir: opts.Dir, readyTimeout: opts.ReadyTimeout}
	if s.readyTimeout == 0 {
		s.readyTimeout = 60 * time.Second
	}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "slogate-prom-"); err != nil {
			return nil, fmt.Errorf("creating the Prometheus directory: %w", err)
		}
		s.ownDir = true
	}
	interval := opts.ScrapeInterval
	if interval == 0 {
		interval = time.Second
	}
	if err := s.writeConfig(interval); err != nil {
		return nil, s.cleanupAfter(err)
	}
	if err := s.SetTargets(nil); err != nil {
		return nil, s.cleanupAfter(err)
	}

	// The port is picked by binding and releasing it; should another process take it in between,
	// Prometheus exits at once and a new port is tried.
	const attempts = 3
	for i := range attempts {
		if s.port, err = cluster.FreePort(); err != nil {
			return nil, s.cleanupAfter(err)
		}
		client, err := api.NewClient(api.Config{Address: s.Address()})
		if err != nil {
			return nil, s.cleanupAfter(fmt.Errorf("creating the Prometheus client: %w", err))
		}
		s.api = promv1.NewAPI(client)
		err = s.start(ctx)
		if err == nil {
			return s, nil
		}
		if i == attempts-1 || !strings.Contains(err.Error(), "address already in use") {
			return nil, s.cleanupAfter(err)
		}
	}
	panic("unreachable")
}

func (s *Server) cleanupAfter(err error) error {
	if cerr := s.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// Address is the base URL of the server, e.g. http://127.0.0.1:41234.
func (s *Server) Address() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.port)
}

// Dir is the directory holding the configuration, targets, TSDB and log.
func (s *Server) Dir() string { return s.dir }

// LogPath is the file Prometheus logs to (appended to at each start).
func (s *Server) LogPath() string { return filepath.Join(s.dir, "prometheus.log") }

func (s *Server) targetsPath() string { return filepath.Join(s.dir, "targets", "targets.json") }

func (s *Server) writeConfig(interval time.Duration) error {
	if err := os.MkdirAll(filepath.Dir(s.targetsPath()), 0o755); err != nil {
		return fmt.Errorf("creating the targets directory: %w", err)
	}
	// The YAML is written by hand: a handful of fields, and JSON strings are valid YAML scalars.
	quote := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: %[2]s
    file_sd_configs:
      - files: [%[3]s]
        refresh_interval: %[1]s
`, model.Duration(interval), quote(Job), quote(s.targetsPath()))
	if err := os.WriteFile(filepath.Join(s.dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("writing the Prometheus configuration: %w", err)
	}
	return nil
}

// fileSDGroup is one entry of a file_sd target file.
type fileSDGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// SetTargets replaces the scrape targets. The file is replaced atomically; Prometheus sees the
// change within a second (file watch, with the refresh interval as a fallback).
func (s *Server) SetTargets(targets []Target) error {
	groups := make([]fileSDGroup, 0, len(targets))
	for _, t := range targets {
		if t.Address == "" {
			return errors.New("target address must not be empty")
		}
		groups = append(groups, fileSDGroup{Targets: []string{t.Address}, Labels: t.Labels})
	}
	data, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding targets: %w", err)
	}
	// The temporary name does not match the file_sd pattern, so a half-written file is never read.
	tmp := s.targetsPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing targets: %w", err)
	}
	if err := os.Rename(tmp, s.targetsPath()); err != nil {
		return fmt.Errorf("replacing targets: %w", err)
	}
	return nil
}

func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("prometheus is already running")
	}
	logFile, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the Prometheus log: %w", err)
	}
	// Not CommandContext: the process belongs to the Server, not to the context of the call.
	cmd := exec.Command(s.binary,
		"--config.file="+filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(s.dir, "data"),
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(s.port),
		"--web.enable-lifecycle",
	)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting prometheus: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	if err := s.waitReady(ctx, done); err != nil {
		s.signalLocked(syscall.SIGKILL)
		<-done
		s.cmd, s.done = nil, nil
		return err
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, s.readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Address()+"/-/ready", nil)
		if err != nil {
			return fmt.Errorf("building the readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited before it was ready: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("waiting for prometheus to be ready: %w; log: %s", ctx.Err(), s.logTail())
		case <-tick.C:
		}
	}
}

// logTail is the end of the log, for error messages.
func (s *Server) logTail() string {
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const n = 2000
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return strings.TrimSpace(string(data))
}

// signalLocked signals the process group; s.mu is held.
func (s *Server) signalLocked(sig syscall.Signal) {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

// Running tells whether the process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop ends Prometheus with SIGTERM (SIGKILL after 10 s) and waits for it. The directory is kept
// for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() error { return s.stop(syscall.SIGTERM, 10*time.Second) }

// Kill ends Prometheus with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() error { return s.stop(syscall.SIGKILL, 0) }

func (s *Server) stop(sig syscall.Signal, grace time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	s.signalLocked(sig)
	if grace > 0 {
		select {
		case <-s.done:
		case <-time.After(grace):
			s.signalLocked(syscall.SIGKILL)
		}
	}
	<-s.done
	s.cmd, s.done = nil, nil
	return nil
}

// Restart starts a stopped (or killed) Prometheus again on the same port and TSDB, and waits until
// it is ready. A running server is stopped first.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// Close stops Prometheus and removes the directory if Start created it.
func (s *Server) Close() error {
	if err := s.Stop(); err != nil {
		return err
	}
	if s.ownDir {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("removing the Prometheus directory: %w", err)
		}
	}
	return nil
}

// API is a client of the server's HTTP API.
func (s *Server) API() promv1.API { return s.api }

// Query evaluates an instant query now.
func (s *Server) Query(ctx context.Context, query string) (model.Value, error) {
	v, _, _, err := s.api.Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("querying %q: %w", query, err)
	}
	return v, nil
}

// ErrNoSingleValue is returned by QueryValue when the result is not one number.
var ErrNoSingleValue = errors.New("result is not a single sample")

// QueryValue evaluates an instant query whose result is a scalar or a one-sample vector and
// returns that number (which may be NaN).
func (s *Server) QueryValue(ctx context.Context, query string) (float64, error) {
	v, err := s.Query(ctx, query)
	if err != nil {
		return 0, err
	}
	switch r := v.(type) {
	case *model.Scalar:
		return float64(r.Value), nil
	case model.Vector:
		if len(r) == 1 {
			return float64(r[0].Value), nil
		}
		return 0, fmt.Errorf("%w: %d samples for %q", ErrNoSingleValue, len(r), query)
	default:
		return 0, fmt.Errorf("%w: %s for %q", ErrNoSingleValue, v.Type(), query)
	}
}

// ActiveTargets lists the targets Prometheus currently scrapes with their health.
func (s *Server) ActiveTargets(ctx context.Context) ([]promv1.ActiveTarget, error) {
	r, err := s.api.Targets(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing targets: %w", err)
	}
	return r.Active, nil
}
