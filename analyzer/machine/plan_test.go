package machine

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slogate/slogate/api/v1alpha1"
)

func TestSelect(t *testing.T) {
	held := world(0).obs().Deployment
	rel := func(name string, b *releaseBuilder) v1alpha1.Release {
		r := b.obj()
		r.Name = name
		return *r
	}
	cases := map[string]struct {
		deploy      Deployment
		releases    []v1alpha1.Release
		wantCreate  string
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
			releases:  []v1alpha1.Release{rel("web-c1", makeRelease())},
			wantDrive: "web-c1",
		},
		"a newer hold creates its Release before the older one ends": {
			deploy:     held,
			releases:   []v1alpha1.Release{rel("web-c0", makeRelease().at(3, 25))},
			wantCreate: "web-c1",
		},
		"the new Release records its start while the older one still runs": {
			deploy:      held,
			releases:    []v1alpha1.Release{rel("web-c0", makeRelease().at(3, 25)), rel("web-c1", makeRelease().fresh())},
			wantDrive:   "web-c1",
			wantBlocked: "web-c0",
		},
		"then the older one ends first": {
			deploy:    held,
			releases:  []v1alpha1.Release{rel("web-c0", makeRelease().ended(aborted, ReasonSuperseded)), rel("web-c1", makeRelease())},
			wantDrive: "web-c0",
		},
		"ended releases that cleaned up do not block": {
			deploy: held,
			releases: []v1alpha1.Release{
				rel("web-c0", makeRelease().completed(aborted, ReasonSuperseded)),
				rel("web-b9", makeRelease().completed(rolledBack, ReasonAnalysisFailed)),
				rel("web-c1", makeRelease()),
			},
			wantDrive: "web-c1",
		},
		"a promoting release of an unpaused Deployment is run": {
			deploy:    world(100).rolling(2).obs().Deployment,
			releases:  []v1alpha1.Release{rel("web-c1", makeRelease().phase(promoting))},
			wantDrive: "web-c1",
		},
		"a live release of a deleted Deployment is run": {
			deploy:    Deployment{},
			releases:  []v1alpha1.Release{rel("web-c1", makeRelease().at(1, 5))},
			wantDrive: "web-c1",
		},
		"a deleted release holding the finalizer is run": {
			deploy:    Deployment{},
			releases:  []v1alpha1.Release{rel("web-c1", makeRelease().completed(aborted, ReasonDeploymentDeleted).deleting())},
			wantDrive: "web-c1",
		},
		"retry goes to the release of the failed revision": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed, d.Canary, d.Action = canaryRev, "", v1alpha1.ActionRetry
			}).obs().Deployment,
			releases:  []v1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
			wantDrive: "web-c1",
		},
		"retry without a failed revision is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Paused, d.Canary, d.Action = false, "", v1alpha1.ActionRetry
			}).obs().Deployment,
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"retry of a failed revision without a release is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed, d.Canary, d.Action = canaryRev, "", v1alpha1.ActionRetry
			}).obs().Deployment,
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"an action on a Deployment without a release is refused": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Paused, d.Canary, d.Stable, d.Action = false, "", "", v1alpha1.ActionPromote
			}).obs().Deployment,
			releases:    []v1alpha1.Release{rel("web-c1", makeRelease().completed(succeeded, ReasonPromoted))},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"a Deployment paused on its failed revision is left alone": {
			deploy: world(0).deployment(func(d *Deployment) {
				d.Failed = canaryRev
			}).obs().Deployment,
			releases: []v1alpha1.Release{rel("web-c1", makeRelease().completed(rolledBack, ReasonAnalysisFailed))},
		},
		"a plain Deployment has nothing to do": {
			deploy: Deployment{Exists: true, Revision: "s1", Replicas: 3},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Select("web", tc.deploy, tc.releases)
			gotSummary := fmt.Sprintf("create=%q drive=%q blocked=%q", got.Create, got.Drive, got.Blocked)
			want := fmt.Sprintf("create=%q drive=%q blocked=%q", tc.wantCreate, tc.wantDrive, tc.wantBlocked)
			if gotSummary != want {
				t.Errorf("Select() = %s, want %s", gotSummary, want)
			}
			if diff := cmp.Diff(tc.wantActions, describe(got.Actions), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendMeasurements(t *testing.T) {
	m := func(step int32, metric string, i int) v1alpha1.Measurement {
		return v1alpha1.Measurement{Template: "t", Metric: metric, Step: step, Value: fmt.Sprint(i), Verdict: v1alpha1.VerdictSuccessful}
	}
	// Step 2 decided by its last measurement; step 5 runs long.
	var old []v1alpha1.Measurement
	for i := range 3 {
		old = append(old, m(2, "rate", i))
	}
	for i := range v1alpha1.MaxMeasurements - 3 {
		old = append(old, m(5, "rate", 100+i))
	}
	cases := map[string]struct {
		old, add  []v1alpha1.Measurement
		wantLen   int
		wantFirst string
		wantLast  string
		wantKept  string // a value that must still be there
	}{
		"below the bound everything stays": {
			old: old[:10], add: []v1alpha1.Measurement{m(5, "rate", 999)},
			wantLen: 11, wantFirst: "0", wantLast: "999", wantKept: "2",
		},
		"the oldest go, the one that decided step 2 stays": {
			old: old, add: []v1alpha1.Measurement{m(5, "rate", 998), m(5, "rate", 999), m(5, "rate", 997)},
			wantLen: v1alpha1.MaxMeasurements, wantFirst: "2", wantLast: "997", wantKept: "2",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := AppendMeasurements(tc.old, tc.add)
			if len(got) != tc.wantLen || got[0].Value != tc.wantFirst || got[len(got)-1].Value != tc.wantLast {
				t.Fatalf("AppendMeasurements() = %d measurements from %s to %s, want %d from %s to %s",
					len(got), got[0].Value, got[len(got)-1].Value, tc.wantLen, tc.wantFirst, tc.wantLast)
			}
			found := false
			for _, x := range got {
				found = found || x.Value == tc.wantKept
			}
			if !found {
				t.Errorf("measurement %s was dropped", tc.wantKept)
			}
		})
	}
}
