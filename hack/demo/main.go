package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"k8s.io/cli-runtime/pkg/printers"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

type options struct {
	// fast shortens the schedule (e2e/demo's test).
	fast bool
	// exit stops at the end instead of running until Ctrl-C.
	exit bool
	// plain prints change lines instead of redrawing the view, even on a terminal.
	plain bool
	// keep keeps the run directory (logs, kubeconfig, rendered manifests) after the end.
	keep bool
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // the story did not end as it must, or the environment did not start
	exitInterrupted = 130
)

func main() {
	var o options
	flag.BoolVar(&o.fast, "fast", false, "Shorten every pause and analysis interval (about half the time; used by the e2e test).")
	flag.BoolVar(&o.exit, "exit", false, "Stop and clean up at the end instead of running until Ctrl-C.")
	flag.BoolVar(&o.plain, "plain", false, "Print the live view as lines of changes, also on a terminal.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the run directory (logs, kubeconfig, manifests) after the demo stops.")
	flag.Parse()

	// The data plane's watches log through controller-runtime; the log goes to <logs>/demo.log once
	// the run directory exists, never to the terminal.
	ctrllog.SetLogger(zap.New(zap.WriteTo(demoLog)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// From now on a second Ctrl-C ends the process at once; every child dies with it (its
		// parent-death signal), only the run directory is left behind.
		stop()
	}()
	p := newPrinter(os.Stdout, !o.plain && printers.IsTerminal(os.Stdout))
	p.size = terminalSize(int(os.Stdout.Fd()))
	os.Exit(run(ctx, o, p))
}

// run tells the story and returns the exit status.
func run(ctx context.Context, o options, p *printer) int {
	start := time.Now()
	s := scheduleFor(o.fast)
	p.title()

	e := &env{p: p, sched: s}
	defer func() {
		p.say("Stopping: data plane, Prometheus, slogate, control plane ...")
		stopped := time.Now()
		e.stop()
		if e.keptDir != "" {
			p.say("Stopped in %s. Kept %s", since(stopped), e.keptDir)
		} else {
			p.say("Stopped in %s; everything the demo started is gone.", since(stopped))
		}
	}()
	if err := e.start(ctx, o.keep); err != nil {
		if ctx.Err() != nil {
			p.say("Interrupted.")
			return exitInterrupted
		}
		p.fail("the demo environment did not start: %v", err)
		e.keep()
		return exitFailed
	}

	res, err := tellStory(ctx, e, p)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			p.say("Interrupted.")
			return exitInterrupted
		}
		p.fail("%v", err)
		p.say("Logs: %s", e.cluster.Logs())
		e.keep()
		return exitFailed
	}
	p.summary(res, e, time.Since(start))
	if !o.exit {
		p.say("The demo keeps running; Ctrl-C stops it and removes everything it started.")
		<-ctx.Done()
		fmt.Fprintln(p.out)
	}
	return exitOK
}

// demoLog is the demo's own log file, set once the control plane's run directory exists; until
// then log lines are dropped.
var demoLog = &lateFile{}

// lateFile is an io.Writer whose file is set after it is handed out.
type lateFile struct {
	mu sync.Mutex
	f  *os.File
}

func (l *lateFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return len(p), nil
	}
	return l.f.Write(p)
}

// open sets the file; close closes it and drops later lines.
func (l *lateFile) open(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = f
	return nil
}

func (l *lateFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// since is the time since t, rounded for people.
func since(t time.Time) string { return roundDuration(time.Since(t)).String() }

// roundDuration rounds to a tenth of a second below a minute and to a second above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
