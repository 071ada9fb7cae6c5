package cli

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

// watcher is a running status --watch.
type watcher struct {
	stdout, stderr syncBuffer
	done           chan struct{}
	// code is the exit status once done is closed.
	code int
}

// startWatch starts `status NAME --watch` and stops it at the end of the test if it is still running.
func startWatch(t *testing.T, inv invocation, ns, name string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	w := &watcher{done: make(chan struct{})}
	cmd := inv.command(ctx, t, "status", name, "-n", ns, "--watch")
	cmd.Stdout, cmd.Stderr = &w.stdout, &w.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s status --watch: %v", inv, err)
	}
	go func() {
		defer close(w.done)
		var exit *exec.ExitError
		if err := cmd.Wait(); errors.As(err, &exit) {
			w.code = exit.ExitCode()
		} else if err != nil {
			w.code = -1
		}
	}()
	t.Cleanup(func() {
		cancel() // kills it if it is still running
		<-w.done
		t.Logf("%s status %s --watch: exit %d\nstdout:\n%s\nstderr:\n%s", inv, name, w.code, w.stdout.String(), w.stderr.String())
	})
	return w
}

// mustShow waits until the watch has printed want.
func (w *watcher) mustShow(t *testing.T, want string) {
	t.Helper()
	cluster.MustPoll(t, watchTimeout, "status --watch to show "+want, func(context.Context) (bool, error) {
		return strings.Contains(w.stdout.String(), want), nil
	})
}

// mustEnd waits until the watch ends and returns its exit status.
func (w *watcher) mustEnd(t *testing.T) int {
	t.Helper()
	select {
	case <-w.done:
		return w.code
	case <-time.After(watchTimeout):
		t.Fatalf("status --watch did not end within %s", watchTimeout)
		return 0
	}
}

func TestStatusWatch(t *testing.T) {
	ns := mustNamespace(t, true)
	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			name := "web-" + inv.String()
			mustCreate(t, deployment(ns, name, held("stable0", "w1")))
			w := startWatch(t, inv, ns, name)

			// The webhook has held the Deployment; the analyzer has not made the Release yet.
			w.mustShow(t, "waiting for the analyzer to create release "+name+"-w1")

			r := release(ns, name, "w1", slogatev1alpha1.PhaseProgressing)
			r.Status.StepIndex, r.Status.CanaryWeight = 0, 5
			mustCreateRelease(t, r)
			w.mustShow(t, "Release:    "+name+"-w1")
			w.mustShow(t, "canary   5% [██░")

			mustUpdateReleaseStatus(t, ns, r.Name, func(s *slogatev1alpha1.ReleaseStatus) { s.StepIndex, s.CanaryWeight = 3, 25 })
			w.mustShow(t, "canary  25% [██████████░")

			mustUpdateReleaseStatus(t, ns, r.Name, func(s *slogatev1alpha1.ReleaseStatus) {
				s.Phase, s.Reason, s.StepIndex, s.CanaryWeight = slogatev1alpha1.PhaseSucceeded, "Promoted", 9, 0
			})
			if code := w.mustEnd(t); code != 0 {
				t.Fatalf("status --watch of a release that succeeded: exit %d, want 0; stderr %s", code, w.stderr.String())
			}
			out := w.stdout.String()
			views := strings.Split(out, "\n--- ")
			if len(views) < 4 {
				t.Errorf("got %d views, want at least 4 (waiting, 5%%, 25%%, succeeded):\n%s", len(views), out)
			}
			if last := views[len(views)-1]; !strings.Contains(last, "Phase:      Succeeded (Promoted)") {
				t.Errorf("the last view is not the succeeded release:\n%s", last)
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("on a pipe the view must not hold terminal escapes:\n%q", out)
			}
		})
	}
}

func TestStatusWatchRolledBack(t *testing.T) {
	ns := mustNamespace(t, true)
	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			name := "web-" + inv.String()
			mustCreate(t, deployment(ns, name, held("stable0", "bad")))
			mustCreateRelease(t, release(ns, name, "bad", slogatev1alpha1.PhaseProgressing))
			w := startWatch(t, inv, ns, name)
			w.mustShow(t, "Phase:      Progressing")

			mustUpdateReleaseStatus(t, ns, name+"-bad", func(s *slogatev1alpha1.ReleaseStatus) {
				s.Phase, s.Reason, s.Message, s.CanaryWeight = slogatev1alpha1.PhaseRolledBack, "AnalysisFailed", "success-rate 91.2 < 99.5", 0
			})
			if code := w.mustEnd(t); code != 1 {
				t.Fatalf("status --watch of a release that was rolled back: exit %d, want 1", code)
			}
			if want := "error: release did not succeed: " + name + "-bad RolledBack (AnalysisFailed): success-rate 91.2 < 99.5"; !strings.Contains(w.stderr.String(), want) {
				t.Errorf("stderr = %q, want %q", w.stderr.String(), want)
			}
			if !strings.Contains(w.stdout.String(), "Phase:      RolledBack (AnalysisFailed)") {
				t.Errorf("the rolled-back view was not shown:\n%s", w.stdout.String())
			}
		})
	}
}

func TestStatusWatchOfAnEndedRelease(t *testing.T) {
	ns := mustNamespace(t, true)
	mustCreate(t, deployment(ns, "web"))
	mustCreateRelease(t, release(ns, "web", "done", slogatev1alpha1.PhaseSucceeded))
	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "status", "web", "-n", ns, "--watch")
			if n := strings.Count(r.stdout, "Release:    web-done"); n != 1 {
				t.Errorf("status --watch of an ended release drew %d views, want 1:\n%s", n, r.stdout)
			}
		})
	}
}
