package cli

import (
	"strings"
	"testing"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestCurrentRelease(t *testing.T) {
	old := *makeRelease("web", "1111").created(2 * time.Hour).obj()
	newer := *makeRelease("web", "2222").created(time.Hour).obj()
	other := *makeRelease("api", "3333").created(time.Minute).obj()
	sameTimeA := *makeRelease("web", "aaaa").created(time.Hour).obj()

	tests := map[string]struct {
		deployment *deploymentBuilder
		releases   []slogatev1alpha1.Release
		want       string
	}{
		"none":                         {deployment: makeDeployment("web"), releases: []slogatev1alpha1.Release{other}},
		"newest of the deployment":     {deployment: makeDeployment("web"), releases: []slogatev1alpha1.Release{old, newer, other}, want: newer.Name},
		"named by the canary revision": {deployment: makeDeployment("web").annotate(slogatev1alpha1.CanaryRevisionAnnotation, "1111"), releases: []slogatev1alpha1.Release{newer, old}, want: old.Name},
		"canary revision without release falls back to newest": {
			deployment: makeDeployment("web").annotate(slogatev1alpha1.CanaryRevisionAnnotation, "9999"), releases: []slogatev1alpha1.Release{old, newer}, want: newer.Name,
		},
		"tie on creation time goes by name": {deployment: makeDeployment("web"), releases: []slogatev1alpha1.Release{sameTimeA, newer}, want: sameTimeA.Name},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := CurrentRelease(tc.deployment.obj(), tc.releases)
			gotName := ""
			if got != nil {
				gotName = got.Name
			}
			if gotName != tc.want {
				t.Errorf("CurrentRelease() = %q, want %q", gotName, tc.want)
			}
		})
	}
}

func TestPendingRelease(t *testing.T) {
	current := makeRelease("web", "1111").obj()
	tests := map[string]struct {
		deployment  *deploymentBuilder
		current     *slogatev1alpha1.Release
		wantName    string
		wantPending bool
	}{
		"not held":             {deployment: makeDeployment("web").annotate(slogatev1alpha1.CanaryRevisionAnnotation, "2222")},
		"held, release exists": {deployment: makeDeployment("web").paused().annotate(slogatev1alpha1.CanaryRevisionAnnotation, "1111"), current: current},
		"held, no release yet": {deployment: makeDeployment("web").paused().annotate(slogatev1alpha1.CanaryRevisionAnnotation, "2222"), current: current, wantName: "web-2222", wantPending: true},
		"paused by the user":   {deployment: makeDeployment("web").paused()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gotName, gotPending := PendingRelease(tc.deployment.obj(), tc.current)
			if gotName != tc.wantName || gotPending != tc.wantPending {
				t.Errorf("PendingRelease() = %q, %v, want %q, %v", gotName, gotPending, tc.wantName, tc.wantPending)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := map[string]struct {
		err  error
		want []string
	}{
		"no release": {err: &NoReleaseError{Deployment: "web", Namespace: "shop"},
			want: []string{"no release for deployment web in namespace shop; releases start when", "slogate.io/canary=enabled"}},
		"not opted in": {err: &NotOptedInError{Namespace: "shop"},
			want: []string{"namespace shop did not opt in", "kubectl label namespace shop slogate.io/canary=enabled"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("%q does not contain %q", tc.err, w)
				}
			}
		})
	}
}

func TestOptedIn(t *testing.T) {
	tests := map[string]struct {
		labels map[string]string
		want   bool
	}{
		"enabled":  {labels: map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}, want: true},
		"disabled": {labels: map[string]string{slogatev1alpha1.NamespaceOptInLabel: "disabled"}},
		"none":     {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := OptedIn(tc.labels); got != tc.want {
				t.Errorf("OptedIn() = %v, want %v", got, tc.want)
			}
		})
	}
}
