package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// RenderList writes releases as a table: NAME, DEPLOYMENT, PHASE, STEP x/n, WEIGHT, CANARY, AGE,
// REASON, with a NAMESPACE column first when withNamespace is set. Rows are sorted by namespace,
// then name.
func RenderList(w io.Writer, releases []slogatev1alpha1.Release, withNamespace bool, now time.Time) error {
	rs := slices.Clone(releases)
	slices.SortFunc(rs, func(a, b slogatev1alpha1.Release) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if withNamespace {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tDEPLOYMENT\tPHASE\tSTEP\tWEIGHT\tCANARY\tAGE\tREASON")
	for i := range rs {
		r := &rs[i]
		if withNamespace {
			fmt.Fprintf(tw, "%s\t", r.Namespace)
		}
		phase := r.Status.Phase
		if phase == "" {
			phase = slogatev1alpha1.PhaseProgressing
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d%%\t%s\t%s\t%s\n", r.Name, esc(r.Spec.DeploymentName), phase, StepProgress(r),
			r.Status.CanaryWeight, esc(orDash(r.Spec.CanaryRevision)), timeAgo(&r.CreationTimestamp, now), esc(orDash(r.Status.Reason)))
	}
	return tw.Flush()
}
