package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slogate/slogate/e2e/cluster"
)

// Timeouts of this package, in one place.
const (
	// buildTimeout bounds `go build ./hack/demo` (seconds with a warm cache; a cold one compiles
	// client-go and controller-runtime, about two minutes on 2 cores).
	buildTimeout = 10 * time.Minute
	// demoTimeout bounds one --fast run from start to its summary: the control plane (about 5 s),
	// Prometheus, slogate and the data plane (a few seconds), v1 (seconds), v2's release (measured:
	// about a minute) and v3's (measured: about 20 s). Each release is also bounded by the demo
	// itself (4 minutes with --fast).
	demoTimeout = 12 * time.Minute
	// stopTimeout bounds the demo's cleanup after Ctrl-C, or after the summary with --exit: every
	// process gets SIGTERM and at most 5 s before SIGKILL (measured: about 2 s in all).
	stopTimeout = 90 * time.Second
	// httpTimeout bounds one scrape or one Prometheus query on loopback.
	httpTimeout = 10 * time.Second
)

var (
	// root is the repository root; the demo runs from there, as `make demo` runs it.
	root string
	// demoBinary is hack/demo built for this run.
	demoBinary string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	var err error
	if root, err = cluster.RepoRoot(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	if err := checkTools(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "slogate-demo-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	demoBinary = filepath.Join(dir, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", demoBinary, "./hack/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: go build ./hack/demo: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// checkTools names everything the demo needs that is missing, and the make target that provides it.
func checkTools() error {
	var errs []error
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
		"webhook", "analyzer", "demo-app", "kubectl-slogate"} {
		if _, err := cluster.Binary(name); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := cluster.KubectlPath(); err != nil {
		errs = append(errs, err)
	}
	for _, name := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(name); err != nil {
			errs = append(errs, fmt.Errorf("%s is not on PATH: run `make prometheus`", name))
		}
	}
	return errors.Join(errs...)
}

// demoRun is one run of the demo program.
type demoRun struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// startDemo starts the demo with args in the repository root. Its output is logged when the test
// ends; the run is interrupted (then killed) if the test ends first.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	r := &demoRun{out: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(demoBinary, args...)
	r.cmd.Dir = root
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	// The demo dies with the test binary; its own children die with it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Signal(os.Interrupt)
			select {
			case <-r.done:
			case <-time.After(stopTimeout):
				_ = r.cmd.Process.Kill()
				<-r.done
			}
		}
		t.Logf("demo %s output:\n%s", strings.Join(args, " "), r.out.String())
	})
	return r
}

// mustWaitOutput waits until the output matches re and returns the submatches of the first match.
// It fails the test when the demo exits or timeout passes first.
func (r *demoRun) mustWaitOutput(t *testing.T, timeout time.Duration, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(r.out.String()); m != nil {
			return m
		}
		select {
		case <-r.done:
			if m := re.FindStringSubmatch(r.out.String()); m != nil {
				return m
			}
			t.Fatalf("the demo exited (%v) before printing %q", r.err, re)
		case <-deadline:
			t.Fatalf("the demo did not print %q within %v", re, timeout)
		case <-tick.C:
		}
	}
}

// mustExit waits for the demo to exit and returns its exit status.
func (r *demoRun) mustExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("the demo did not exit within %v", timeout)
	}
	var exit *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &exit):
		return exit.ExitCode()
	default:
		t.Fatalf("waiting for the demo: %v", r.err)
		return -1
	}
}

// What the demo prints that the tests read (hack/demo/summary.go and story.go write it).
var (
	v2Line = regexp.MustCompile(`(?m)^  v2 \(revision ([0-9a-z]+)\) Succeeded in \S+: 5% → 25% → 50% → 100%, (\d+) measurements`)
	v3Line = regexp.MustCompile(`(?m)^  v3 \(revision ([0-9a-z]+)\) RolledBack at step (\d+)/(\d+) \(analysis success-rate, latency-p95\) ` +
		`after \S+, because success-rate/success-rate measured ([0-9.]+) at (\d+)% canary weight \(AnalysisFailed\)`)
	kubeconfigLine = regexp.MustCompile(`(?m)^  export KUBECONFIG=(\S+)$`)
	promLine       = regexp.MustCompile(`(?m)^  Prometheus:\s+(http://\S+)`)
	metricsLine    = regexp.MustCompile(`(?m)^  slogate metrics:\s+analyzer (http://\S+), webhook (http://\S+)$`)
	tookLine       = regexp.MustCompile(`(?m)^  The demo took (\S+)\.$`)
	runningLine    = regexp.MustCompile(`(?m)^The demo keeps running; Ctrl-C stops it`)
	stoppedLine    = regexp.MustCompile(`(?m)^Stopped in \S+; everything the demo started is gone\.$`)
	holdWarning    = regexp.MustCompile(`Warning: slogate: canary release of revision ([0-9a-z]+) started`)
)

// story is what the summary says.
type story struct {
	v2, v3     string // revisions
	kubeconfig string
	took       string
}

// mustCheckStory checks that the output tells the story as it must end: v2 promoted step by step,
// v3 rolled back by the success-rate check at 5 %, the webhook's warning for both, and the
// KUBECONFIG line.
func mustCheckStory(t *testing.T, out string) story {
	t.Helper()
	var s story
	m := v2Line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line says v2 Succeeded through 5%%, 25%%, 50%%, 100%% (want %q)", v2Line)
	}
	s.v2 = m[1]
	m = v3Line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line says v3 RolledBack because of its success rate (want %q)", v3Line)
	}
	s.v3 = m[1]
	if m[2] != "3" || m[5] != "5" {
		t.Errorf("v3 rolled back at step %s/%s at %s%%: want step 3 (the first analysis) at 5%%", m[2], m[3], m[5])
	}
	var rate float64
	if _, err := fmt.Sscan(m[4], &rate); err != nil || rate >= 99 || rate < 60 {
		t.Errorf("v3's success rate: want about 80 (one request in five fails), below the threshold 99; got %q", m[4])
	}
	if s.v2 == s.v3 {
		t.Errorf("v2 and v3 have the same revision %s", s.v2)
	}
	warned := holdWarning.FindAllStringSubmatch(out, -1)
	if len(warned) != 2 || warned[0][1] != s.v2 || warned[1][1] != s.v3 {
		t.Errorf("kubectl apply's warnings: want a release started for %s, then for %s; got %q", s.v2, s.v3, warned)
	}
	// v2's part shows every weight it went through: in a change line ("canary weight 25%"), or, for a
	// weight held shorter than the demo's poll interval (100 % just before promotion), in the
	// analyzer's WeightSet event ("canary weight 100 %").
	v2part := between(out, "── v2:", "── v3:")
	for _, w := range []int{5, 25, 50, 100} {
		line, event := fmt.Sprintf("canary weight %d%%", w), fmt.Sprintf("canary weight %d %%", w)
		if !strings.Contains(v2part, line) && !strings.Contains(v2part, event) {
			t.Errorf("v2's release never showed %q (nor the event %q)", line, event)
		}
	}
	v3part := between(out, "── v3:", "── Summary")
	if !regexp.MustCompile(`measured success-rate/success-rate at 5% = \S+  Failed`).MatchString(v3part) {
		t.Errorf("v3's release shows no Failed success-rate measurement at 5%%")
	}
	if m := kubeconfigLine.FindStringSubmatch(out); m != nil {
		s.kubeconfig = m[1]
	} else {
		t.Errorf("no KUBECONFIG line (want %q)", kubeconfigLine)
	}
	if m := tookLine.FindStringSubmatch(out); m != nil {
		s.took = m[1]
	}
	return s
}

// between is the part of s from the first start to the next end after it ("" if start is missing;
// to the end of s if end is).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// mustBeGone checks that the demo left nothing behind: its run directory (holding the kubeconfig)
// is removed and nothing listens at the given URLs any more.
func mustBeGone(t *testing.T, kubeconfig string, urls ...string) {
	t.Helper()
	if kubeconfig != "" {
		if _, err := os.Stat(filepath.Dir(kubeconfig)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the run directory %s is still there (stat: %v)", filepath.Dir(kubeconfig), err)
		}
	}
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			t.Errorf("parsing %q: %v", u, err)
			continue
		}
		if c, err := net.DialTimeout("tcp", pu.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens at %s", pu.Host)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers in other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
