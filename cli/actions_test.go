package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/slogate/slogate/api/v1alpha1"
)

func TestCheckAction(t *testing.T) {
	phases := []v1alpha1.ReleasePhase{"", v1alpha1.PhaseProgressing, v1alpha1.PhasePaused, v1alpha1.PhasePromoting,
		v1alpha1.PhaseSucceeded, v1alpha1.PhaseRolledBack, v1alpha1.PhaseAborted}
	// allowed lists, per action, the phases in which it makes sense.
	allowed := map[string][]v1alpha1.ReleasePhase{
		v1alpha1.ActionPromote:     {"", v1alpha1.PhaseProgressing, v1alpha1.PhasePaused},
		v1alpha1.ActionPromoteFull: {"", v1alpha1.PhaseProgressing, v1alpha1.PhasePaused},
		v1alpha1.ActionAbort:       {"", v1alpha1.PhaseProgressing, v1alpha1.PhasePaused, v1alpha1.PhasePromoting},
		v1alpha1.ActionRetry:       {v1alpha1.PhaseRolledBack},
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
		phase   v1alpha1.ReleasePhase
		wantErr string
	}{
		"promote after rollback points at retry": {
			action: v1alpha1.ActionPromote, phase: v1alpha1.PhaseRolledBack,
			wantErr: `cannot promote release web-7d9f6c8b5: it is RolledBack: it was rolled back; start it again with "kubectl slogate retry web"`,
		},
		"promote a succeeded release": {
			action: v1alpha1.ActionPromoteFull, phase: v1alpha1.PhaseSucceeded,
			wantErr: "cannot promote-full release web-7d9f6c8b5: it is Succeeded: revision 7d9f6c8b5 is already stable; there is nothing to promote",
		},
		"retry a running release": {
			action: v1alpha1.ActionRetry, phase: v1alpha1.PhaseProgressing,
			wantErr: "cannot retry release web-7d9f6c8b5: it is Progressing: the release is still running; only a rolled-back release can be retried",
		},
		"abort a rolled back release": {
			action: v1alpha1.ActionAbort, phase: v1alpha1.PhaseRolledBack,
			wantErr: "cannot abort release web-7d9f6c8b5: it is RolledBack: the release has already ended and traffic is on the stable revision 5f8b9c6d4",
		},
		"unknown action": {action: "dance", phase: v1alpha1.PhaseProgressing, wantErr: `unknown action "dance"`},
		"unknown phase": {
			action: v1alpha1.ActionPromote, phase: "Dancing",
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
