package cli

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// What the status view leaves out.
const (
	// MaxShownMeasurements is how many of the newest measurements the status view lists.
	MaxShownMeasurements = 12
	// MaxShownEvents is how many of the newest events the status view lists.
	MaxShownEvents = 10
	// barWidth is the width of the canary weight bar in characters.
	barWidth = 40
)

// StatusView is everything the status view shows.
type StatusView struct {
	// Release is the release to show. Required.
	Release *slogatev1alpha1.Release
	// Deployment is the released Deployment; nil when it is gone.
	Deployment *appsv1.Deployment
	// Events of the Release and the Deployment, in any order.
	Events []corev1.Event
	// Now is the time ages are measured from.
	Now time.Time
}

// RenderStatus writes the status view of a release to w.
func RenderStatus(w io.Writer, v StatusView) error {
	var b bytes.Buffer
	r := v.Release
	st := r.Status
	phase := st.Phase
	if phase == "" {
		phase = slogatev1alpha1.PhaseProgressing
	}

	tw := tabwriter.NewWriter(&b, 0, 8, 1, ' ', 0)
	field := func(name, format string, a ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", name, esc(fmt.Sprintf(format, a...)))
	}
	field("Release", "%s", r.Name)
	field("Namespace", "%s", r.Namespace)
	field("Deployment", "%s", deploymentSummary(r, v.Deployment))
	if a := pendingAction(v.Deployment); a != "" {
		field("Action", "%s requested, waiting for the analyzer to take it", a)
	}
	field("Phase", "%s%s", phase, phaseDetail(r, phase))
	if st.Message != "" {
		field("Message", "%s", st.Message)
	}
	field("Revisions", "stable %s -> canary %s", orDash(r.Spec.StableRevision), orDash(r.Spec.CanaryRevision))
	field("Policy", "%s", orDash(r.Spec.Policy))
	if len(r.Spec.HTTPRoutes) > 0 {
		field("Routes", "%s (stable %s, canary %s)", strings.Join(r.Spec.HTTPRoutes, ", "), r.Spec.StableService, r.Spec.CanaryService)
	}
	field("Started", "%s", agoText(st.StartedAt, v.Now))
	if st.FinishedAt != nil {
		field("Finished", "%s", agoText(st.FinishedAt, v.Now))
	}
	field("Traffic", "%s", WeightBar(st.CanaryWeight))
	if h := hint(r, phase); h != "" {
		field("Next", "%s", h)
	}
	_ = tw.Flush()

	writeSteps(&b, r, phase, v.Now)
	writeMetrics(&b, r)
	writeMeasurements(&b, r, v.Now)
	writeConditions(&b, st.Conditions, v.Now)
	writeEvents(&b, v.Events, v.Now)

	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

// hint says what the user can do next, where there is a choice to make.
func hint(r *slogatev1alpha1.Release, phase slogatev1alpha1.ReleasePhase) string {
	d := r.Spec.DeploymentName
	switch phase {
	case slogatev1alpha1.PhasePaused:
		return fmt.Sprintf("kubectl slogate promote %s (go on) or kubectl slogate abort %s (roll back)", d, d)
	case slogatev1alpha1.PhaseRolledBack:
		return fmt.Sprintf("fix and apply a new template, or kubectl slogate retry %s (try revision %s again)", d, r.Spec.CanaryRevision)
	}
	return ""
}

// trimLines drops the spaces tabwriter leaves at the end of lines whose last cells are empty.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// WeightBar draws the canary weight: "canary   5% [██░░…░░] 95% stable".
func WeightBar(weight int32) string {
	w := min(max(int(weight), 0), 100)
	filled := (w*barWidth + 50) / 100
	if w > 0 && filled == 0 {
		filled = 1 // any traffic on the canary shows
	}
	if w < 100 && filled == barWidth {
		filled = barWidth - 1 // and so does any traffic on stable
	}
	return fmt.Sprintf("canary %3d%% [%s%s] %3d%% stable",
		w, strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), 100-w)
}

func deploymentSummary(r *slogatev1alpha1.Release, d *appsv1.Deployment) string {
	if d == nil {
		return r.Spec.DeploymentName + " (not found)"
	}
	var parts []string
	if d.Spec.Paused {
		parts = append(parts, "paused")
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	parts = append(parts, fmt.Sprintf("%d/%d available", d.Status.AvailableReplicas, replicas))
	if f := d.Annotations[slogatev1alpha1.FailedRevisionAnnotation]; f != "" {
		parts = append(parts, "failed revision "+f)
	}
	return d.Name + " (" + strings.Join(parts, ", ") + ")"
}

func pendingAction(d *appsv1.Deployment) string {
	if d == nil {
		return ""
	}
	return d.Annotations[slogatev1alpha1.ActionAnnotation]
}

func phaseDetail(r *slogatev1alpha1.Release, phase slogatev1alpha1.ReleasePhase) string {
	var s string
	if st := r.Status; st.Reason != "" {
		s = " (" + st.Reason + ")"
	}
	n := len(r.Spec.Steps)
	i := int(r.Status.StepIndex)
	if !phase.IsTerminal() && phase != slogatev1alpha1.PhasePromoting && i < n {
		s += fmt.Sprintf(", step %s: %s", StepProgress(r), DescribeStep(r.Spec.Steps[i]))
	}
	return s
}

func writeSteps(b *bytes.Buffer, r *slogatev1alpha1.Release, phase slogatev1alpha1.ReleasePhase, now time.Time) {
	b.WriteString("\nSteps:\n")
	if len(r.Spec.Steps) == 0 {
		b.WriteString("  (none)\n")
	}
	cur := int(r.Status.StepIndex)
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	for i, s := range r.Spec.Steps {
		mark, note := " ", ""
		switch {
		case i < cur || phase == slogatev1alpha1.PhaseSucceeded:
			mark = "✓"
		case i == cur && (phase == slogatev1alpha1.PhaseRolledBack || phase == slogatev1alpha1.PhaseAborted):
			mark, note = "✗", "rolled back here"
			if phase == slogatev1alpha1.PhaseAborted {
				note = "aborted here"
			}
		case i == cur && !phase.IsTerminal():
			mark, note = "▶", currentStepNote(r, s, now)
		}
		fmt.Fprintf(tw, "  %s %2d\t%s\t%s\n", mark, i+1, esc(DescribeStep(s)), note)
	}
	_ = tw.Flush()
	if phase == slogatev1alpha1.PhasePromoting {
		b.WriteString("  ▶ every step passed: the Deployment is rolling to the canary revision\n")
	}
}

func writeMetrics(b *bytes.Buffer, r *slogatev1alpha1.Release) {
	if len(r.Status.Metrics) == 0 {
		return
	}
	b.WriteString("\nAnalysis counters:\n")
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tTEMPLATE\tMETRIC\tPHASE\tSUCCESSFUL\tFAILED\tINCONCLUSIVE\tERROR\tIN A ROW")
	for _, m := range r.Status.Metrics {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", m.Step+1, esc(m.Template), esc(m.Metric),
			orDash(string(m.Phase)), m.Successful, m.Failed, m.Inconclusive, m.Error, m.ConsecutiveErrors)
	}
	_ = tw.Flush()
}

func writeMeasurements(b *bytes.Buffer, r *slogatev1alpha1.Release, now time.Time) {
	ms := r.Status.Measurements
	if len(ms) == 0 {
		b.WriteString("\nMeasurements: none yet\n")
		return
	}
	fmt.Fprintf(b, "\nMeasurements:")
	if len(ms) > MaxShownMeasurements {
		fmt.Fprintf(b, " (%d earlier not shown)", len(ms)-MaxShownMeasurements)
		ms = ms[len(ms)-MaxShownMeasurements:]
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  AGE\tSTEP\tWEIGHT\tTEMPLATE\tMETRIC\tVALUE\tVERDICT\tMESSAGE")
	for _, m := range ms {
		fmt.Fprintf(tw, "  %s\t%d\t%d%%\t%s\t%s\t%s\t%s %s\t%s\n", timeAgo(&m.Time, now), m.Step+1, m.Weight,
			esc(m.Template), esc(m.Metric), esc(orDash(m.Value)), verdictMark(m.Verdict), m.Verdict, esc(m.Message))
	}
	_ = tw.Flush()
}

func verdictMark(v slogatev1alpha1.Verdict) string {
	switch v {
	case slogatev1alpha1.VerdictSuccessful:
		return "✓"
	case slogatev1alpha1.VerdictFailed:
		return "✗"
	default:
		return "?"
	}
}

func writeConditions(b *bytes.Buffer, cs []metav1.Condition, now time.Time) {
	if len(cs) == 0 {
		return
	}
	b.WriteString("\nConditions:\n")
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range cs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", esc(c.Type), c.Status, esc(c.Reason), timeAgo(&c.LastTransitionTime, now), esc(c.Message))
	}
	_ = tw.Flush()
}

func writeEvents(b *bytes.Buffer, events []corev1.Event, now time.Time) {
	if len(events) == 0 {
		b.WriteString("\nEvents: none\n")
		return
	}
	es := slices.Clone(events)
	slices.SortStableFunc(es, func(a, b corev1.Event) int {
		return cmp.Or(EventTime(a).Compare(EventTime(b)), cmp.Compare(a.Name, b.Name))
	})
	b.WriteString("\nEvents:")
	if len(es) > MaxShownEvents {
		fmt.Fprintf(b, " (%d earlier not shown)", len(es)-MaxShownEvents)
		es = es[len(es)-MaxShownEvents:]
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  AGE\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, e := range es {
		t := metav1.NewTime(EventTime(e))
		a := timeAgo(&t, now)
		if e.Count > 1 {
			a += fmt.Sprintf(" (x%d)", e.Count)
		}
		obj := e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a, esc(e.Type), esc(e.Reason), esc(obj), esc(strings.TrimSpace(e.Message)))
	}
	_ = tw.Flush()
}

// EventTime is when an event was last seen, whichever API wrote it.
func EventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// timeAgo is the age of t at now in kubectl's short form ("3m10s"), or "-".
func timeAgo(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return age(now.Sub(t.Time))
}

// agoText is "3m10s ago", or "-".
func agoText(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return timeAgo(t, now) + " ago"
}

func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// esc makes text from the cluster safe to print: no terminal escapes, no line breaks that would
// break a table.
func esc(s string) string {
	s = strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
	return printers.EscapeTerminal(s)
}
