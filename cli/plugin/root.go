package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Scheme knows the Kubernetes types and slogate's.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(slogatev1alpha1.AddToScheme(Scheme))
}

// Options are shared by every command.
type Options struct {
	genericiooptions.IOStreams
	// ConfigFlags are kubectl's connection flags (--kubeconfig, --context, --namespace ...).
	ConfigFlags *genericclioptions.ConfigFlags
	// NewClient returns an API client whose API warnings go to warnings. Tests replace it.
	NewClient func(warnings rest.WarningHandlerWithContext) (client.WithWatch, error)
	// Now is the clock.
	Now func() time.Time
}

// NewOptions returns Options that talk to the cluster the ConfigFlags name.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	o := &Options{
		IOStreams:   streams,
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		Now:         time.Now,
	}
	o.NewClient = o.restClient
	return o
}

func (o *Options) restClient(warnings rest.WarningHandlerWithContext) (client.WithWatch, error) {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warnings
	return client.NewWithWatch(cfg, client.Options{Scheme: Scheme})
}

// client returns an API client that prints API warnings as kubectl does.
func (o *Options) client() (client.WithWatch, error) {
	c, err := o.NewClient(warningPrinter{rest.NewWarningWriter(o.ErrOut, rest.WarningWriterOptions{Deduplicate: true})})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return c, nil
}

// warningPrinter prints API warnings as kubectl does ("Warning: ...").
type warningPrinter struct{ rest.WarningHandler }

func (w warningPrinter) HandleWarningHeaderWithContext(_ context.Context, code int, agent, text string) {
	w.HandleWarningHeader(code, agent, text)
}

// namespace is the namespace of --namespace, or else of the kubeconfig context.
func (o *Options) namespace() (string, error) {
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// NewCommand returns the kubectl-slogate command with its subcommands.
func NewCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-slogate",
		Short: "Watch and steer slogate canary releases",
		Long: `kubectl slogate shows and steers the canary releases slogate runs for Deployments in namespaces
labelled slogate.io/canary=enabled. Every pod-template change of such a Deployment becomes a release:
a share of traffic goes to the new revision, Prometheus judges it, and it is promoted step by step or
rolled back.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl slogate",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(o.In)
	cmd.SetOut(o.Out)
	cmd.SetErr(o.ErrOut)
	o.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newListCommand(o),
		newStatusCommand(o),
		newActionCommand(o, "promote", slogatev1alpha1.ActionPromote),
		newActionCommand(o, "abort", slogatev1alpha1.ActionAbort),
		newActionCommand(o, "retry", slogatev1alpha1.ActionRetry),
		newPreviewCommand(o),
	)
	return cmd
}
