package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slogate/slogate/analyzer/policy"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

// ErrWouldBeRejected is wrapped by the error preview returns when a change would be rejected.
var ErrWouldBeRejected = errors.New("the change would be rejected")

type previewOptions struct {
	*Options
	filenames    []string
	recursive    bool
	fieldManager string
}

func newPreviewCommand(o *Options) *cobra.Command {
	po := &previewOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "preview -f FILENAME",
		Short: "Say whether applying a Deployment would start a release, with which revision, policy and steps",
		Long: `Apply the Deployments in the files as a server-side dry run (kubectl apply --server-side
--force-conflicts --dry-run=server) and say what slogate would do: start a canary release (with the
revision, the policy and its steps), replace the canary of a running release, end a release, nothing,
or reject the change (with the API server's message). Admission warnings are shown. Nothing is changed.

The exit status is 1 when a change would be rejected.`,
		Example: `  kubectl slogate preview -f deployment.yaml
  kustomize build overlays/prod | kubectl slogate preview -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return po.run(cmd.Context()) },
	}
	cmd.Flags().StringSliceVarP(&po.filenames, "filename", "f", nil, "Files, directories or URLs with the Deployments to preview (- for standard input).")
	cmd.Flags().BoolVarP(&po.recursive, "recursive", "R", false, "Read the directories given with -f recursively.")
	cmd.Flags().StringVar(&po.fieldManager, "field-manager", "kubectl", "The field manager of the dry-run apply (that of your kubectl apply --server-side).")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// warningCollector keeps the admission warnings of the requests made with it.
type warningCollector struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningCollector) HandleWarningHeaderWithContext(_ context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// take returns the warnings collected so far and forgets them.
func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Compact(w.warnings)
	w.warnings = nil
	return out
}

func (o *previewOptions) run(ctx context.Context) error {
	ns, explicit, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	infos, err := resource.NewBuilder(o.ConfigFlags).
		Unstructured().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(explicit, &resource.FilenameOptions{Filenames: o.filenames, Recursive: o.recursive}).
		Flatten().
		Do().Infos()
	if err != nil {
		return fmt.Errorf("reading %v: %w", o.filenames, err)
	}
	warnings := &warningCollector{}
	c, err := o.NewClient(warnings)
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	var previews []cli.Preview
	rejected := 0
	for _, info := range infos {
		gvk := info.Object.GetObjectKind().GroupVersionKind()
		if gvk != appsv1.SchemeGroupVersion.WithKind("Deployment") {
			fmt.Fprintf(o.ErrOut, "skipping %s %s/%s: only apps/v1 Deployments start releases\n", gvk.Kind, info.Namespace, info.Name)
			continue
		}
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("reading deployment %s/%s: unexpected type %T", info.Namespace, info.Name, info.Object)
		}
		warnings.take()
		in, err := dryRun(ctx, c, u, info.Namespace, o.fieldManager)
		if err != nil {
			return err
		}
		in.Warnings = warnings.take()
		p := cli.Classify(in)
		if p.Outcome == cli.PreviewRejected {
			rejected++
		}
		previews = append(previews, p)
	}
	if len(previews) == 0 {
		return fmt.Errorf("no apps/v1 Deployment in %v", o.filenames)
	}
	if err := cli.RenderPreview(o.Out, previews); err != nil {
		return err
	}
	if rejected > 0 {
		return fmt.Errorf("%w: %d of %d", ErrWouldBeRejected, rejected, len(previews))
	}
	return nil
}

// dryRun applies u as a server-side dry run and gathers what Classify needs.
func dryRun(ctx context.Context, c client.Client, u *unstructured.Unstructured, ns, fieldManager string) (cli.PreviewInput, error) {
	name := u.GetName()
	in := cli.PreviewInput{Name: name, Namespace: ns}

	n := &corev1.Namespace{}
	switch err := c.Get(ctx, client.ObjectKey{Name: ns}, n); {
	case err == nil:
		in.OptedIn = cli.OptedIn(n.Labels)
	case apierrors.IsNotFound(err):
		in.Rejection = fmt.Sprintf("namespace %s not found", ns)
		return in, nil
	case apierrors.IsForbidden(err):
		in.OptedIn = true // cannot tell; the dry run's mutation shows what happens
	default:
		return in, fmt.Errorf("reading namespace %s: %w", ns, err)
	}

	live := &appsv1.Deployment{}
	switch err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, live); {
	case err == nil:
		in.Live = live
	case !apierrors.IsNotFound(err):
		return in, fmt.Errorf("reading deployment %s/%s: %w", ns, name, err)
	}

	obj := u.DeepCopy()
	obj.SetNamespace(ns)
	err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
		client.DryRunAll, client.ForceOwnership, client.FieldOwner(fieldManager))
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) && !isTransient(err) {
			in.Rejection = err.Error()
			return in, nil
		}
		return in, fmt.Errorf("dry-run apply of deployment %s/%s: %w", ns, name, err)
	}
	res := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, res); err != nil {
		return in, fmt.Errorf("reading the dry-run result of deployment %s/%s: %w", ns, name, err)
	}
	in.Result = res
	if !in.OptedIn {
		return in, nil
	}

	var policies slogatev1alpha1.RolloutPolicyList
	if err := c.List(ctx, &policies, client.InNamespace(ns)); err != nil {
		return in, fmt.Errorf("listing rollout policies in namespace %s: %w", ns, err)
	}
	var clusterPolicies slogatev1alpha1.ClusterRolloutPolicyList
	if err := c.List(ctx, &clusterPolicies); err != nil && !apierrors.IsForbidden(err) {
		return in, fmt.Errorf("listing cluster rollout policies: %w", err)
	}
	p := policy.Resolve(res, policies.Items, clusterPolicies.Items)
	in.Policy, in.Steps = p.Name, p.Spec.Steps
	return in, nil
}

// isTransient reports whether an API error says nothing about the change itself. Forbidden is not
// one of them: an admission webhook denies with 403, and an RBAC refusal would refuse the apply too.
func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsUnauthorized(err)
}
