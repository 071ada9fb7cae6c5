package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

// redrawInterval is how often the view is redrawn on a terminal even when nothing changed, so that
// ages and countdowns move.
const redrawInterval = 2 * time.Second

// clearScreen moves the cursor home and clears the terminal.
const clearScreen = "\x1b[H\x1b[2J"

// ErrReleaseFailed is wrapped by the error status --watch returns when the release it followed ended
// without being promoted.
var ErrReleaseFailed = errors.New("release did not succeed")

type statusOptions struct {
	*Options
	watch bool
	print *genericclioptions.PrintFlags
	// tty forces terminal mode (redraw) or pipe mode (append); nil detects it from Out.
	tty *bool
}

func newStatusCommand(o *Options) *cobra.Command {
	so := &statusOptions{Options: o, print: genericclioptions.NewPrintFlags("").WithTypeSetter(Scheme)}
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show the live view of a Deployment's release",
		Long: `Show the current release of a Deployment (NAME may also be a Release name): the steps with the
current one marked, the canary weight, each measurement with its value and verdict, the conditions, and
the latest events of the Release and the Deployment.

With --watch the view is drawn again on every change (redrawn on a terminal, appended on a pipe)
until the release ends; the exit status is 0 when it succeeded and 1 when it was rolled back or
aborted.`,
		Example: `  # The release of Deployment web
  kubectl slogate status web -n shop

  # Follow it until it ends
  kubectl slogate status web -n shop --watch`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return so.run(cmd.Context(), args[0]) },
	}
	cmd.Flags().BoolVarP(&so.watch, "watch", "w", false, "Draw the view again on every change until the release ends.")
	so.print.AddFlags(cmd)
	return cmd
}

func (o *statusOptions) run(ctx context.Context, name string) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var p printers.ResourcePrinter
	if *o.print.OutputFormat != "" {
		if p, err = o.print.ToPrinter(); err != nil {
			return err
		}
	}
	if !o.watch {
		t, err := resolve(ctx, c, ns, name)
		if err != nil {
			return err
		}
		return o.show(ctx, c, t, p, o.Out)
	}
	return o.follow(ctx, c, ns, name, p)
}

// show writes the view (or the object, with -o) of a resolved target.
func (o *statusOptions) show(ctx context.Context, c client.Client, t *target, p printers.ResourcePrinter, w io.Writer) error {
	if t.release == nil {
		if p != nil {
			return fmt.Errorf("release %s has not been created yet", t.pending)
		}
		_, err := fmt.Fprintf(w, "Deployment %s/%s is held for revision %s: waiting for the analyzer to create release %s (is the analyzer running?)\n",
			t.namespace, t.deployment.Name, t.deployment.Annotations[slogatev1alpha1.CanaryRevisionAnnotation], t.pending)
		return err
	}
	if p != nil {
		r := t.release.DeepCopy()
		r.SetGroupVersionKind(slogatev1alpha1.GroupVersion.WithKind("Release"))
		return p.PrintObj(r, w)
	}
	evs, err := events(ctx, c, t)
	if err != nil {
		return err
	}
	return cli.RenderStatus(w, cli.StatusView{Release: t.release, Deployment: t.deployment, Events: evs, Now: o.Now()})
}

// follow shows the view on every change of the Deployment or its releases until the current
// release ends.
func (o *statusOptions) follow(ctx context.Context, c client.WithWatch, ns, name string, p printers.ResourcePrinter) error {
	tty := printers.IsTerminal(o.Out)
	if o.tty != nil {
		tty = *o.tty
	}
	var ticks <-chan time.Time
	if tty && p == nil {
		tick := time.NewTicker(redrawInterval)
		defer tick.Stop()
		ticks = tick.C
	}

	var releases, deployments watch.Interface
	defer func() {
		for _, w := range []watch.Interface{releases, deployments} {
			if w != nil {
				w.Stop()
			}
		}
	}()
	// Watches end now and then (the API server closes them); they are opened again, and since the
	// view is read afresh on each change, nothing is lost.
	open := func() error {
		var err error
		if releases == nil {
			if releases, err = c.Watch(ctx, &slogatev1alpha1.ReleaseList{}, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("watching releases in namespace %s: %w", ns, err)
			}
		}
		if deployments == nil {
			if deployments, err = c.Watch(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("watching deployments in namespace %s: %w", ns, err)
			}
		}
		return nil
	}

	var last, depName string
	draw := func(force bool) (bool, error) {
		t, err := resolve(ctx, c, ns, name)
		if err != nil {
			return false, err
		}
		if t.deployment != nil {
			depName = t.deployment.Name
		} else {
			depName = t.release.Spec.DeploymentName
		}
		key := version(t)
		if key == last && !force {
			return false, nil
		}
		first := last == ""
		last = key
		switch {
		case p != nil:
		case tty:
			fmt.Fprint(o.Out, clearScreen)
		case !first:
			fmt.Fprintf(o.Out, "\n--- %s ---\n", o.Now().UTC().Format(time.RFC3339))
		}
		if err := o.show(ctx, c, t, p, o.Out); err != nil {
			return false, err
		}
		if t.release == nil || !t.release.Status.Phase.IsTerminal() {
			return false, nil
		}
		if t.release.Status.Phase == slogatev1alpha1.PhaseSucceeded {
			return true, nil
		}
		return true, fmt.Errorf("%w: %s %s (%s): %s", ErrReleaseFailed, t.release.Name, t.release.Status.Phase,
			t.release.Status.Reason, t.release.Status.Message)
	}

	if err := open(); err != nil {
		return err
	}
	if done, err := draw(true); done || err != nil {
		return err
	}
	for {
		var ev watch.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil // interrupted: not a failure of the release
		case <-ticks:
			if done, err := draw(true); done || err != nil {
				return err
			}
			continue
		case ev, ok = <-releases.ResultChan():
			if !ok {
				releases = nil
			}
		case ev, ok = <-deployments.ResultChan():
			if !ok {
				deployments = nil
			}
		}
		if !ok || ev.Type == watch.Error {
			if err := open(); err != nil {
				return err
			}
			continue
		}
		if !concerns(ev.Object, name, depName) {
			continue
		}
		if done, err := draw(false); done || err != nil {
			return err
		}
	}
}

// concerns reports whether a watch event is about the followed Deployment or one of its releases.
func concerns(obj any, name, deployment string) bool {
	switch o := obj.(type) {
	case *slogatev1alpha1.Release:
		return o.Name == name || o.Spec.DeploymentName == deployment
	case *appsv1.Deployment:
		return o.Name == deployment
	}
	return false
}

// version identifies what the view was drawn from.
func version(t *target) string {
	v := "release:"
	if t.release != nil {
		v += t.release.Name + "@" + t.release.ResourceVersion
	} else {
		v += "pending " + t.pending
	}
	if t.deployment != nil {
		v += " deployment@" + t.deployment.ResourceVersion
	}
	return v
}
