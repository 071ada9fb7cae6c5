package dataplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slogate/slogate/e2e/prom"
)

// AppSpec is one demo-app process to start.
type AppSpec struct {
	// Binary is the demo-app executable.
	Binary string
	Group  Group
	// Behaviour sets --error-rate and --latency.
	Behaviour Behaviour
	// LogPath receives the process's stdout and stderr (appended).
	LogPath string
}

// App is a running demo-app process listening on a free loopback port.
type App struct {
	spec AppSpec
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// appStartTimeout bounds the wait for a demo-app to report its port.
const appStartTimeout = 20 * time.Second

// StartApp starts a demo-app on 127.0.0.1 with a port of its choosing and returns once it listens.
// The process is in its own process group and is killed if this process dies.
func StartApp(ctx context.Context, spec AppSpec) (*App, error) {
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	logFile, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the demo-app log: %w", err)
	}
	// stdout goes through a pipe whose first line is the address; the rest is copied to the log.
	r, w, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("creating a pipe: %w", err)
	}
	cmd := exec.Command(spec.Binary,
		"--listen=127.0.0.1:0",
		"--app="+spec.Group.App,
		"--revision="+spec.Group.RevisionKey(),
		"--error-rate="+strconv.FormatFloat(spec.Behaviour.ErrorRate, 'g', -1, 64),
		"--latency="+spec.Behaviour.Latency.String(),
	)
	cmd.Stdout = w
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = r.Close()
		_ = w.Close()
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Binary, err)
	}
	_ = w.Close()
	a := &App{spec: spec, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(a.done)
	}()

	lines := bufio.NewReader(r)
	first := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		first <- line
		_, _ = io.Copy(logFile, lines)
		_ = r.Close()
		_ = logFile.Close()
	}()

	timer := time.NewTimer(appStartTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-first:
	case <-timer.C:
	case <-ctx.Done():
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		_ = a.Stop()
		return nil, fmt.Errorf("demo-app for %s did not report its address (got %q); see %s", spec.Group, line, spec.LogPath)
	}
	a.addr = addr
	return a, nil
}

// Address is the host:port the app listens on.
func (a *App) Address() string { return a.addr }

// URL is the base URL of the app.
func (a *App) URL() string { return "http://" + a.addr }

// Spec is what the app was started with.
func (a *App) Spec() AppSpec { return a.spec }

// Target is the Prometheus target of the app, labelled as a pod of its group would be.
func (a *App) Target() prom.Target {
	return prom.Target{Address: a.addr, Labels: TargetLabels(a.spec.Group)}
}

// TargetLabels are the labels Prometheus gives the series of a group's pods.
func TargetLabels(g Group) map[string]string {
	l := map[string]string{prom.LabelNamespace: g.Namespace, prom.LabelApp: g.App}
	if g.Revision != "" {
		l[prom.LabelRevision] = g.Revision
	}
	if g.PodTemplateHash != "" {
		l[prom.LabelPodTemplateHash] = g.PodTemplateHash
	}
	return l
}

// Exited is closed when the process has exited.
func (a *App) Exited() <-chan struct{} { return a.done }

// Stop ends the process (SIGTERM, SIGKILL after 5 s) and waits for it.
func (a *App) Stop() error {
	select {
	case <-a.done:
		return nil
	default:
	}
	if err := syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping demo-app %s: %w", a.spec.Group, err)
	}
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	}
	return nil
}

// BuildDemoApp builds cmd/demo-app into dir and returns the binary's path. It runs `go build` in the
// current directory, which must be inside the slogate module (a test's working directory is).
func BuildDemoApp(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "demo-app")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/slogate/slogate/cmd/demo-app")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building demo-app: %w: %s", err, b)
	}
	return out, nil
}
