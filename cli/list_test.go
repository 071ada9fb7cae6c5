package cli

import (
	"strings"
	"testing"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestRenderList(t *testing.T) {
	releases := []slogatev1alpha1.Release{
		*makeRelease("web", "7d9f6c8b5").phase(slogatev1alpha1.PhaseProgressing, "Analyzing", "").at(2, 5, time.Minute).obj(),
		*makeRelease("api", "1a2b3c4d5").created(3*time.Hour).phase(slogatev1alpha1.PhaseSucceeded, "Promoted", "").at(9, 0, time.Hour).obj(),
		*makeRelease("web", "9a8b7c6d5").namespace("payments").created(26*time.Hour).
			phase(slogatev1alpha1.PhaseRolledBack, "AnalysisFailed", "").at(2, 0, time.Hour).obj(),
		*makeRelease("cart", "6e5d4c3b2").created(5 * time.Second).obj(), // no status yet
	}
	tests := map[string]struct {
		releases      []slogatev1alpha1.Release
		withNamespace bool
	}{
		"list.txt":                {releases: releases[:2]},
		"list_all_namespaces.txt": {releases: releases, withNamespace: true},
		"list_empty.txt":          {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := RenderList(&b, tc.releases, tc.withNamespace, now); err != nil {
				t.Fatalf("RenderList: %v", err)
			}
			checkGolden(t, name, b.String())
		})
	}
}

func TestStepProgress(t *testing.T) {
	tests := map[string]struct {
		step int32
		want string
	}{
		"first":          {step: 0, want: "1/9"},
		"analysis":       {step: 2, want: "3/9"},
		"last":           {step: 8, want: "9/9"},
		"all steps done": {step: 9, want: "9/9"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := makeRelease("web", "7d9f6c8b5").at(tc.step, 0, 0).obj()
			if got := StepProgress(r); got != tc.want {
				t.Errorf("StepProgress() = %q, want %q", got, tc.want)
			}
		})
	}
}
