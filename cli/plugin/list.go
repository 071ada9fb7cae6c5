package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

type listOptions struct {
	*Options
	allNamespaces bool
	print         *genericclioptions.PrintFlags
}

func newListCommand(o *Options) *cobra.Command {
	lo := &listOptions{Options: o, print: genericclioptions.NewPrintFlags("").WithTypeSetter(Scheme)}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the releases in a namespace, or in all of them",
		Example: `  # The releases in the current namespace
  kubectl slogate list

  # In every namespace, as YAML
  kubectl slogate list -A -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return lo.run(cmd.Context()) },
	}
	cmd.Flags().BoolVarP(&lo.allNamespaces, "all-namespaces", "A", false, "List the releases in every namespace.")
	lo.print.AddFlags(cmd)
	return cmd
}

func (o *listOptions) run(ctx context.Context) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var opts []client.ListOption
	if !o.allNamespaces {
		opts = append(opts, client.InNamespace(ns))
	}
	var list slogatev1alpha1.ReleaseList
	if err := c.List(ctx, &list, opts...); err != nil {
		return fmt.Errorf("listing releases: %w", err)
	}
	if *o.print.OutputFormat != "" {
		p, err := o.print.ToPrinter()
		if err != nil {
			return err
		}
		for i := range list.Items {
			list.Items[i].SetGroupVersionKind(slogatev1alpha1.GroupVersion.WithKind("Release"))
		}
		return p.PrintObj(&list, o.Out)
	}
	if len(list.Items) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(o.ErrOut, "No releases found.")
			return nil
		}
		fmt.Fprintf(o.ErrOut, "No releases found in namespace %s.\n", ns)
		if err := checkOptIn(ctx, c, ns); err != nil {
			fmt.Fprintf(o.ErrOut, "Note: %v\n", err)
		}
		return nil
	}
	return cli.RenderList(o.Out, list.Items, o.allNamespaces, o.Now())
}
