package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/slogate/slogate/e2e/cluster"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == serveWebhookCommand {
		if err := serveWebhook(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// The libraries' logs (client-go, controller-runtime) would drown the progress lines.
	ctrl.SetLogger(logr.Discard())
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	only      string
	out       string
	dir       string
	admission admissionConfig
	rates     string
	// admissionServer is bin (bin/webhook in the environment) or child (no cluster).
	admissionServer string
	applyCount      int
	rollback        rollbackConfig
	scale           scaleConfig
}

func run() error {
	var o options
	flag.StringVar(&o.only, "only", "admission,apply,rollback,scale", "sections to run, comma-separated")
	flag.StringVar(&o.out, "out", "bench/RESULTS.md", "where to write the results (relative to the repository root); empty writes nothing")
	flag.StringVar(&o.dir, "dir", "", "work directory (default: a temporary one, removed at the end)")
	flag.StringVar(&o.rates, "admission-rates", "500,1000,2000", "request rates of the admission load")
	flag.DurationVar(&o.admission.duration, "admission-duration", 30*time.Second, "duration of each admission run")
	flag.IntVar(&o.admission.reps, "admission-reps", 3, "repetitions of each admission rate")
	flag.StringVar(&o.admissionServer, "admission-server", "bin", "bin: load bin/webhook in the environment; child: the handlers in a child process, no cluster")
	flag.IntVar(&o.applyCount, "apply-count", 200, "Deployments applied into each namespace")
	o.rollback = defaultRollbackConfig()
	flag.IntVar(&o.rollback.failing, "rollback-runs", o.rollback.failing, "failing releases of the rollback section")
	flag.IntVar(&o.rollback.healthy, "healthy-runs", o.rollback.healthy, "healthy releases of the rollback section")
	flag.IntVar(&o.rollback.batch, "rollback-batch", o.rollback.batch, "releases run at once in the rollback section")
	o.scale = defaultScaleConfig()
	flag.IntVar(&o.scale.releases, "scale-releases", o.scale.releases, "concurrent releases of the scale section")
	flag.DurationVar(&o.scale.Interval, "scale-interval", o.scale.Interval, "analysis interval of the scale section")
	flag.IntVar(&o.scale.intervals, "scale-intervals", o.scale.intervals, "length of the scale section's steady window, in intervals")
	flag.Parse()

	for _, f := range strings.Split(o.rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("--admission-rates: %q is not a positive number", f)
		}
		o.admission.rates = append(o.admission.rates, n)
	}
	only := strings.Split(o.only, ",")
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	failed := false
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "slogate-bench-"); err != nil {
			return err
		}
		defer func() {
			if failed {
				fmt.Fprintf(os.Stderr, "bench: a section failed: logs kept in %s\n", o.dir)
				return
			}
			os.RemoveAll(o.dir)
		}()
	}
	o.admission.dir = o.dir

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	// The environment starts with the first section that needs it and stops at the end.
	var e *env
	defer func() {
		if e != nil {
			e.stop()
		}
	}()
	needEnv := func(ctx context.Context) (*env, error) {
		if e != nil {
			return e, nil
		}
		var err error
		e, err = startEnv(ctx, o.dir)
		return e, err
	}
	withEnv := func(f func(ctx context.Context, e *env, s *section) error) func(ctx context.Context, s *section) error {
		return func(ctx context.Context, s *section) error {
			e, err := needEnv(ctx)
			if err != nil {
				return fmt.Errorf("starting the environment: %w", err)
			}
			return f(ctx, e, s)
		}
	}

	rep := &report{machine: describeMachine(), command: commandLine(), started: time.Now()}
	type step struct {
		name, title string
		run         func(ctx context.Context, s *section) error
	}
	steps := []step{
		{"admission", "Admission latency over TLS", func(ctx context.Context, s *section) error {
			if o.admissionServer == "child" {
				return runAdmission(ctx, o.admission, nil, s)
			}
			return withEnv(func(ctx context.Context, e *env, s *section) error { return runAdmission(ctx, o.admission, e, s) })(ctx, s)
		}},
		{"apply", "kubectl apply through the real API server", withEnv(func(ctx context.Context, e *env, s *section) error {
			return runApply(ctx, e, o.applyCount, s)
		})},
		{"rollback", "Time to rollback", withEnv(func(ctx context.Context, e *env, s *section) error {
			return runRollback(ctx, e, o.rollback, s)
		})},
		{"scale", "One analyzer, many releases", withEnv(func(ctx context.Context, e *env, s *section) error {
			return runScale(ctx, e, o.scale, s)
		})},
	}
	for _, st := range steps {
		if !slices.Contains(only, st.name) {
			continue
		}
		s := &section{title: st.title, command: sectionCommand(st.name)}
		rep.sections = append(rep.sections, s)
		begin := time.Now()
		load := loadNow()
		fmt.Fprintf(os.Stderr, "bench: %s\n", st.title)
		s.err = st.run(ctx, s)
		s.took = time.Since(begin)
		s.setup = append(s.setup, fmt.Sprintf("Load average (1 min) of the machine when the section started: %s, when it ended: %s.", load, loadNow()))
		if s.err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", st.name, s.err)
			failed = true
			if e != nil {
				e.c.KeepArtifacts()
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.finished = time.Now()
	rep.table(os.Stdout)
	if o.out != "" {
		path := o.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		rep.markdown(f)
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", path)
	}
	for _, s := range rep.sections {
		if s.err != nil {
			return fmt.Errorf("section %q did not finish", s.title)
		}
	}
	return nil
}

// commandLine is how this run was started, as a user would type it.
func commandLine() string {
	args := append([]string{"go run ./hack/bench"}, os.Args[1:]...)
	return strings.Join(args, " ")
}

// sectionCommand reruns one section with the flags of this run that concern it.
func sectionCommand(name string) string {
	prefixes := map[string][]string{
		"admission": {"admission-"}, "apply": {"apply-"}, "rollback": {"rollback-", "healthy-"}, "scale": {"scale-"},
	}[name]
	args := []string{"go run ./hack/bench", "--only=" + name}
	for _, a := range os.Args[1:] {
		flagName := strings.TrimLeft(a, "-")
		for _, p := range prefixes {
			if strings.HasPrefix(flagName, p) {
				args = append(args, a)
			}
		}
	}
	return strings.Join(args, " ")
}
