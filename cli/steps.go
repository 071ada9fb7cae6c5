package cli

import (
	"fmt"
	"strings"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// DescribeStep says in a few words what a step does: "setWeight 25%", "pause 3m0s",
// "pause until promoted", "analysis success-rate-check, latency-p95-check".
func DescribeStep(s slogatev1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d%%", *s.SetWeight)
	case s.Pause != nil:
		if s.Pause.Duration == nil {
			return "pause until promoted"
		}
		return "pause " + s.Pause.Duration.Duration.String()
	case s.Analysis != nil:
		names := make([]string, 0, len(s.Analysis.Templates))
		for _, t := range s.Analysis.Templates {
			n := t.TemplateName
			if t.ClusterScope {
				n += " (cluster)"
			}
			names = append(names, n)
		}
		d := "analysis " + strings.Join(names, ", ")
		if len(s.Analysis.Args) > 0 {
			args := make([]string, 0, len(s.Analysis.Args))
			for _, a := range s.Analysis.Args {
				v := "<unset>"
				if a.Value != nil {
					v = *a.Value
				}
				args = append(args, a.Name+"="+v)
			}
			d += " [" + strings.Join(args, " ") + "]"
		}
		return d
	default:
		return "(empty step)"
	}
}

// StepProgress is "x/n": the number of the current step (1-based) and the number of steps. A
// release past its last step shows n/n.
func StepProgress(r *slogatev1alpha1.Release) string {
	n := len(r.Spec.Steps)
	cur := min(int(r.Status.StepIndex)+1, n)
	return fmt.Sprintf("%d/%d", cur, n)
}

// currentStepNote says what the current step is waiting for.
func currentStepNote(r *slogatev1alpha1.Release, s slogatev1alpha1.CanaryStep, now time.Time) string {
	var since time.Duration
	if r.Status.StepStartedAt != nil {
		since = now.Sub(r.Status.StepStartedAt.Time)
	}
	switch {
	case s.Pause != nil && s.Pause.Duration == nil:
		return "waiting for kubectl slogate promote"
	case s.Pause != nil && r.Status.StepStartedAt != nil:
		left := s.Pause.Duration.Duration - since
		if left < 0 {
			left = 0
		}
		return age(left) + " left"
	case r.Status.StepStartedAt != nil:
		return "for " + age(since)
	default:
		return ""
	}
}
