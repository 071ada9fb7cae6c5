package cli

import (
	"errors"
	"strings"
	"testing"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestCheckAction(t *testing.T) {
	phases := []slogatev1alpha1.ReleasePhase{"", slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused, slogatev1alpha1.PhasePromoting,
		slogatev1alpha1.PhaseSucceeded, slogatev1alpha1.PhaseRolledBack, slogatev1alpha1.PhaseAborted}
	// allowed lists, per action, the phases in which it makes sense.
	allowed := map[string][]slogatev1alpha1.ReleasePhase{
		slogatev1alpha1.ActionPromote:     {"", slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused},
		slogatev1alpha1.ActionPromoteFull: {"", slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused},
		slogatev1alpha1.ActionAbort:       {"", slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused, slogatev1alpha1.PhasePromoting},
		slogatev1alpha1.ActionRetry:       {slogatev1alpha1.PhaseRolledBack},
	}
	for action, ok := range allowed {
		for _, phase := range phases {
			t.Run(action+"/"+string(phase), func(t *testing.T) {
				r := makeRelease("web", "7d9f6c8b5").phase(phase, "Reason", "").obj()
				err := CheckAction(action, r)
				wantOK := false
				for _, p := range ok {
					wantOK = wantOK || p == phase
				}
				if wantOK {
					if err != nil {
						t.Fatalf("CheckAction(%s) in phase %q: %v, want nil", action, phase, err)
					}
					return
				}
				if !errors.Is(err, ErrActionNotAllowed) {
					t.Fatalf("CheckAction(%s) in phase %q = %v, want ErrActionNotAllowed", action, phase, err)
				}
				for _, want := range []string{action, r.Name, string(phase)} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
			})
		}
	}
}

func TestCheckActionMessages(t *testing.T) {
	tests := map[string]struct {
		action  string
		phase   slogatev1alpha1.ReleasePhase
		wantErr string
	}{
		"promote after rollback points at retry": {
			action: slogatev1alpha1.ActionPromote, phase: slogatev1alpha1.PhaseRolledBack,
			wantErr: `cannot promote release web-7d9f6c8b5: it is RolledBack: it was rolled back; start it again with "kubectl slogate retry web"`,
		},
		"promote a succeeded release": {
			action: slogatev1alpha1.ActionPromoteFull, phase: slogatev1alpha1.PhaseSucceeded,
			wantErr: "cannot promote-full release web-7d9f6c8b5: it is Succeeded: revision 7d9f6c8b5 is already stable; there is nothing to promote",
		},
		"retry a running release": {
			action: slogatev1alpha1.ActionRetry, phase: slogatev1alpha1.PhaseProgressing,
			wantErr: "cannot retry release web-7d9f6c8b5: it is Progressing: the release is still running; only a rolled-back release can be retried",
		},
		"abort a rolled back release": {
			action: slogatev1alpha1.ActionAbort, phase: slogatev1alpha1.PhaseRolledBack,
			wantErr: "cannot abort release web-7d9f6c8b5: it is RolledBack: the release has already ended and traffic is on the stable revision 5f8b9c6d4",
		},
		"unknown action": {action: "dance", phase: slogatev1alpha1.PhaseProgressing, wantErr: `unknown action "dance"`},
		"unknown phase": {
			action: slogatev1alpha1.ActionPromote, phase: "Dancing",
			wantErr: "cannot promote release web-7d9f6c8b5: it is Dancing: the phase is unknown to this version of kubectl-slogate",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckAction(tc.action, makeRelease("web", "7d9f6c8b5").phase(tc.phase, "", "").obj())
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("CheckAction() = %v, want %s", err, tc.wantErr)
			}
		})
	}
}
