package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

type actionOptions struct {
	*Options
	verb   string
	action string
	full   bool
}

var actionHelp = map[string]struct{ short, long, example string }{
	slogatev1alpha1.ActionPromote: {
		short: "Go on past a manual pause or the current step (--full: skip every remaining step)",
		long: `Ask the analyzer to go on with the release of a Deployment: past a manual pause, or past the current
step. With --full, every remaining step is skipped and the canary revision is promoted.

The request is the annotation slogate.io/action on the Deployment; the analyzer takes it and removes it.
A release that has ended cannot be promoted.`,
		example: `  kubectl slogate promote web -n shop
  kubectl slogate promote web -n shop --full`,
	},
	slogatev1alpha1.ActionAbort: {
		short: "Roll the release back now: all traffic to stable, canary removed",
		long: `Ask the analyzer to roll the release of a Deployment back now: traffic goes to the stable revision
first, then the canary is removed. The Deployment stays paused on the aborted template; "kubectl slogate
retry" starts it again.

The request is the annotation slogate.io/action on the Deployment; the analyzer takes it and removes it.
A release that has ended cannot be aborted.`,
		example: `  kubectl slogate abort web -n shop`,
	},
	slogatev1alpha1.ActionRetry: {
		short: "Start a rolled-back release again",
		long: `Ask the analyzer to start a new release of the revision that was rolled back, from the first step.

The request is the annotation slogate.io/action on the Deployment; the analyzer takes it and removes it.
Only a rolled-back release can be retried.`,
		example: `  kubectl slogate retry web -n shop`,
	},
}

func newActionCommand(o *Options, verb, action string) *cobra.Command {
	ao := &actionOptions{Options: o, verb: verb, action: action}
	h := actionHelp[action]
	cmd := &cobra.Command{
		Use:     verb + " NAME",
		Short:   h.short,
		Long:    h.long,
		Example: h.example,
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return ao.run(cmd.Context(), args[0]) },
	}
	if action == slogatev1alpha1.ActionPromote {
		cmd.Flags().BoolVar(&ao.full, "full", false, "Skip every remaining step and promote the canary revision.")
	}
	return cmd
}

func (o *actionOptions) run(ctx context.Context, name string) error {
	action := o.action
	if o.full {
		action = slogatev1alpha1.ActionPromoteFull
	}
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var msg string
	// The patch carries the resourceVersion the checks were made on, so a concurrent change (another
	// action, the analyzer taking one) makes it fail with a conflict and the checks run again.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		t, err := resolve(ctx, c, ns, name)
		if err != nil {
			return err
		}
		m, err := request(ctx, c, t, action)
		msg = m
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.Out, msg)
	return err
}

// request checks that action makes sense for the target and sets the annotation.
func request(ctx context.Context, c client.Client, t *target, action string) (string, error) {
	if t.release == nil {
		return "", fmt.Errorf("release %s of deployment %s/%s has not been created yet: wait for the analyzer to start it "+
			"(kubectl slogate status %s -n %s --watch)", t.pending, t.namespace, t.deployment.Name, t.deployment.Name, t.namespace)
	}
	if t.deployment == nil {
		return "", fmt.Errorf("deployment %s/%s of release %s is gone: there is nothing to act on",
			t.namespace, t.release.Spec.DeploymentName, t.release.Name)
	}
	if err := cli.CheckAction(action, t.release); err != nil {
		return "", err
	}
	d := t.deployment
	switch pending := d.Annotations[slogatev1alpha1.ActionAnnotation]; pending {
	case "":
	case action:
		return fmt.Sprintf("release %s: %s already requested; waiting for the analyzer to take it", t.release.Name, action), nil
	default:
		return "", fmt.Errorf("deployment %s/%s already has a pending action %q that the analyzer has not taken yet (is it running?); "+
			"to replace it: kubectl annotate deployment %s -n %s --overwrite %s=%s",
			d.Namespace, d.Name, pending, d.Name, d.Namespace, slogatev1alpha1.ActionAnnotation, action)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": d.ResourceVersion,
		"annotations":     map[string]string{slogatev1alpha1.ActionAnnotation: action},
	}})
	if err != nil {
		return "", err
	}
	if err := c.Patch(ctx, d, client.RawPatch(types.MergePatchType, patch)); err != nil {
		if apierrors.IsConflict(err) {
			return "", err // the caller checks again
		}
		return "", fmt.Errorf("annotating deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return fmt.Sprintf("release %s: %s requested (%s=%s on deployment %s); the analyzer takes it and removes the annotation",
		t.release.Name, action, slogatev1alpha1.ActionAnnotation, action, d.Name), nil
}
