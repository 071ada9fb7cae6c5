package machine

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestSelect(t *testing.T) {
	held := world(0).obs().Deployment
	rel := func(name string, b *releaseBuilder) slogatev1alpha1.Release {
		r := b.obj()
		r.Name = name
		return *r
	}
	cases := map[string]struct {
		deploy      Deployment
		releases    []slogatev1alpha1.Release
		wantCreate  string
		wantReplace string
		wantDrive   string
		wantBlocked string
		wantActions []string
	}{
		"a held Deployment without a Release gets one first": {
			deploy:     held,
			wantCreate: "web-c1",
		},
		"a held Deployment's Release is run": {
			deploy:    held,
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease())},
			wantDrive: "web-c1",
		},
		"a newer hold creates its Release before the older one ends": {
			deploy:     held,
			releases:   []slogatev1alpha1.Release{rel("web-c0", makeRelease().at(3, 25))},
			wantCreate: "web-c1",
		},
		"the new Release records its start while the older one still runs": {
			deploy:      held,
			releases:    []slogatev1alpha1.Release{rel("web-c0", makeRelease().at(3, 25)), rel("web-c1", makeRelease().fresh())},
			wantDrive:   "web-c1",
			wantBlocked: "web-c0",
		},
		"then the older one ends first": {
			deploy:    held,
			releases:  []slogatev1alpha1.Release{rel("web-c0", makeRelease().ended(aborted, ReasonSuperseded)), rel("web-c1", makeRelease())},
			wantDrive: "web-c0",
		},
		"ended releases that cleaned up do not block": {
			deploy: held,
			releases: []slogatev1alpha1.Release{
				rel("web-c0", makeRelease().completed(aborted, ReasonSuperseded)),
				rel("web-b9", makeRelease().completed(rolledBack, ReasonAnalysisFailed)),
				rel("web-c1", makeRelease()),
			},
			wantDrive: "web-c1",
		},
		"a held revision whose ended Release names another stable revision is replaced": {
			deploy:      world(0).deployment(func(d *Deployment) { d.Stable, d.Generation = "s2", 7 }).obs().Deployment,
			releases:    []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
			wantReplace: "web-c1",
		},
		"a held revision whose ended Release has the same revisions is run again": {
			deploy:    world(0).deployment(func(d *Deployment) { d.Generation = 7 }).obs().Deployment,
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
			wantDrive: "web-c1",
		},
		"an ended Release of another stable revision still cleaning up is run first": {
			deploy:    world(0).deployment(func(d *Deployment) { d.Stable = "s2" }).obs().Deployment,
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().ended(rolledBack, ReasonAnalysisFailed))},
			wantDrive: "web-c1",
		},
		"a promoting release of an unpaused Deployment is run": {
			deploy:    world(100).rolling(2).obs().Deployment,
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().phase(promoting))},
			wantDrive: "web-c1",
		},
		"a live release of a deleted Deployment is run": {
			deploy:    Deployment{},
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().at(1, 5))},
			wantDrive: "web-c1",
		},
		"a deleted release holding the finalizer is run": {
			deploy:    Deployment{},
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(aborted, ReasonDeploymentDeleted).deleting())},
			wantDrive: "web-c1",
		},
		"retry goes to the release of the failed revision": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed, d.Canary, d.Action = canaryRev, "", slogatev1alpha1.ActionRetry
			}).obs().Deployment,
			releases:  []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
			wantDrive: "web-c1",
		},
		"retry without a failed revision is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Paused, d.Canary, d.Action = false, "", slogatev1alpha1.ActionRetry
			}).obs().Deployment,
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"retry of a failed revision without a release is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed, d.Canary, d.Action = canaryRev, "", slogatev1alpha1.ActionRetry
			}).obs().Deployment,
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"an action on a Deployment without a release is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Paused, d.Canary, d.Stable, d.Action = false, "", "", slogatev1alpha1.ActionPromote
			}).obs().Deployment,
			releases:    []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(succeeded, ReasonPromoted))},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"a Deployment paused on its failed revision is left alone": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed = canaryRev
			}).obs().Deployment,
			releases: []slogatev1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
		},
		"a plain Deployment has nothing to do": {
			deploy: Deployment{Exists: true, Revision: "s1", Replicas: 3},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Select("web", tc.deploy, tc.releases)
			gotSummary := fmt.Sprintf("create=%q replace=%q drive=%q blocked=%q", got.Create, got.Replace, got.Drive, got.Blocked)
			want := fmt.Sprintf("create=%q replace=%q drive=%q blocked=%q", tc.wantCreate, tc.wantReplace, tc.wantDrive, tc.wantBlocked)
			if gotSummary != want {
				t.Errorf("Select() = %s, want %s", gotSummary, want)
			}
			if diff := cmp.Diff(tc.wantActions, describe(got.Actions), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}
