package cli

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestActions(t *testing.T) {
	ns := mustNamespace(t, true)
	tests := map[string]struct {
		phase slogatev1alpha1.ReleasePhase
		// pending is an action already on the Deployment.
		pending string
		args    []string
		// wantAction is the annotation after the command.
		wantAction string
		// wantOut is in the output of a command that succeeds; wantErr in the error of one that fails.
		wantOut, wantErr string
	}{
		"promote": {phase: slogatev1alpha1.PhasePaused, args: []string{"promote"}, wantAction: slogatev1alpha1.ActionPromote,
			wantOut: "promote requested (slogate.io/action=promote on deployment"},
		"promote --full": {phase: slogatev1alpha1.PhaseProgressing, args: []string{"promote", "--full"}, wantAction: slogatev1alpha1.ActionPromoteFull,
			wantOut: "promote-full requested"},
		"abort":        {phase: slogatev1alpha1.PhaseProgressing, args: []string{"abort"}, wantAction: slogatev1alpha1.ActionAbort, wantOut: "abort requested"},
		"abort paused": {phase: slogatev1alpha1.PhasePaused, args: []string{"abort"}, wantAction: slogatev1alpha1.ActionAbort, wantOut: "abort requested"},
		"retry":        {phase: slogatev1alpha1.PhaseRolledBack, args: []string{"retry"}, wantAction: slogatev1alpha1.ActionRetry, wantOut: "retry requested"},
		"same action again": {phase: slogatev1alpha1.PhasePaused, pending: slogatev1alpha1.ActionPromote, args: []string{"promote"},
			wantAction: slogatev1alpha1.ActionPromote, wantOut: "promote already requested; waiting for the analyzer to take it"},

		"promote a succeeded release": {phase: slogatev1alpha1.PhaseSucceeded, args: []string{"promote"},
			wantErr: "is Succeeded: revision r1 is already stable; there is nothing to promote"},
		"promote a rolled-back release": {phase: slogatev1alpha1.PhaseRolledBack, args: []string{"promote", "--full"},
			wantErr: `is RolledBack: it was rolled back; start it again with "kubectl slogate retry`},
		"promote while promoting": {phase: slogatev1alpha1.PhasePromoting, args: []string{"promote"},
			wantErr: "is Promoting: every step has passed and the Deployment is already rolling to revision r1"},
		"abort a succeeded release": {phase: slogatev1alpha1.PhaseSucceeded, args: []string{"abort"},
			wantErr: "is Succeeded: the release has ended and revision r1 is stable"},
		"abort a rolled-back release": {phase: slogatev1alpha1.PhaseRolledBack, args: []string{"abort"},
			wantErr: "is RolledBack: the release has already ended"},
		"abort an aborted release": {phase: slogatev1alpha1.PhaseAborted, args: []string{"abort"},
			wantErr: "is Aborted: the release has already ended"},
		"retry a running release": {phase: slogatev1alpha1.PhaseProgressing, args: []string{"retry"},
			wantErr: "is Progressing: the release is still running; only a rolled-back release can be retried"},
		"retry a succeeded release": {phase: slogatev1alpha1.PhaseSucceeded, args: []string{"retry"},
			wantErr: "is Succeeded: only a rolled-back release can be retried"},
		"another action pending": {phase: slogatev1alpha1.PhasePaused, pending: slogatev1alpha1.ActionPromote, args: []string{"abort"},
			wantAction: slogatev1alpha1.ActionPromote, wantErr: `already has a pending action "promote" that the analyzer has not taken yet`},
	}
	i := 0
	for name, tc := range tests {
		for _, inv := range invocations {
			i++
			t.Run(name+"/"+inv.String(), func(t *testing.T) {
				d := fmt.Sprintf("app%d", i)
				opts := []func(*appsv1.Deployment){held("stable0", "r1")}
				if tc.pending != "" {
					opts = append(opts, annotated(slogatev1alpha1.ActionAnnotation, tc.pending))
				}
				mustCreate(t, deployment(ns, d, opts...))
				mustCreateRelease(t, release(ns, d, "r1", tc.phase))

				args := append(append([]string{}, tc.args[0], d), tc.args[1:]...)
				args = append(args, "-n", ns)
				if tc.wantErr != "" {
					r := inv.mustFail(t, tc.wantErr, args...)
					if r.stdout != "" {
						t.Errorf("a refused action printed %q", r.stdout)
					}
				} else if r := inv.mustSucceed(t, args...); !strings.Contains(r.stdout, tc.wantOut) {
					t.Errorf("stdout %q does not contain %q", r.stdout, tc.wantOut)
				}
				if got := actionOf(t, ns, d); got != tc.wantAction {
					t.Errorf("%s on the Deployment = %q, want %q", slogatev1alpha1.ActionAnnotation, got, tc.wantAction)
				}
			})
		}
	}
}

// TestActionsWithoutRelease covers the errors that come before any phase check.
func TestActionsWithoutRelease(t *testing.T) {
	ns, plain := mustNamespace(t, true), mustNamespace(t, false)
	mustCreate(t, deployment(ns, "norelease"))
	mustCreate(t, deployment(ns, "fresh", held("stable0", "new")))
	mustCreate(t, deployment(plain, "web"))
	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			for _, verb := range []string{"promote", "abort", "retry"} {
				inv.mustFail(t, "no release for deployment norelease in namespace "+ns+"; releases start when", verb, "norelease", "-n", ns)
				inv.mustFail(t, "namespace "+plain+" did not opt in to slogate", verb, "web", "-n", plain)
				inv.mustFail(t, "no deployment or release named ghost in namespace "+ns, verb, "ghost", "-n", ns)
				inv.mustFail(t, "release fresh-new of deployment "+ns+"/fresh has not been created yet", verb, "fresh", "-n", ns)
				inv.mustFail(t, "accepts 1 arg(s), received 0", verb, "-n", ns)
			}
			inv.mustFail(t, "unknown flag: --full", "abort", "fresh", "--full", "-n", ns)
			for _, d := range []string{"norelease", "fresh"} {
				if a := actionOf(t, ns, d); a != "" {
					t.Errorf("a refused action left %s=%q on %s", slogatev1alpha1.ActionAnnotation, a, d)
				}
			}
		})
	}
}
