package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var t0 = time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC)

func weightSteps(ws ...int32) []slogatev1alpha1.CanaryStep {
	var out []slogatev1alpha1.CanaryStep
	for _, w := range ws {
		out = append(out, slogatev1alpha1.CanaryStep{SetWeight: &w})
	}
	return out
}

type policyBuilder struct{ p slogatev1alpha1.RolloutPolicy }

func makePolicy(name string) *policyBuilder {
	return &policyBuilder{slogatev1alpha1.RolloutPolicy{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "prod", CreationTimestamp: metav1.NewTime(t0),
	}}}
}
func (b *policyBuilder) selector(k, v string) *policyBuilder {
	b.p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	return b
}
func (b *policyBuilder) priority(p int32) *policyBuilder { b.p.Spec.Priority = p; return b }
func (b *policyBuilder) age(d time.Duration) *policyBuilder {
	b.p.CreationTimestamp = metav1.NewTime(t0.Add(-d))
	return b
}
func (b *policyBuilder) steps(ws ...int32) *policyBuilder {
	b.p.Spec.Steps = weightSteps(ws...)
	return b
}
func (b *policyBuilder) obj() slogatev1alpha1.RolloutPolicy { return b.p }
func (b *policyBuilder) cluster() slogatev1alpha1.ClusterRolloutPolicy {
	c := slogatev1alpha1.ClusterRolloutPolicy{ObjectMeta: b.p.ObjectMeta, Spec: b.p.Spec}
	c.Namespace = ""
	return c
}

func TestResolve(t *testing.T) {
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Name: "payments-api", Namespace: "prod", Labels: map[string]string{"tier": "backend"},
	}}
	cases := map[string]struct {
		ns        []slogatev1alpha1.RolloutPolicy
		cluster   []slogatev1alpha1.ClusterRolloutPolicy
		wantName  string
		wantSteps []slogatev1alpha1.CanaryStep
	}{
		"nothing matches: the seed schedule": {
			ns:        []slogatev1alpha1.RolloutPolicy{makePolicy("front").selector("tier", "frontend").steps(50).obj()},
			wantName:  "default",
			wantSteps: DefaultSteps(),
		},
		"namespaced policy by selector": {
			ns: []slogatev1alpha1.RolloutPolicy{
				makePolicy("front").selector("tier", "frontend").steps(50).obj(),
				makePolicy("back").selector("tier", "backend").steps(10, 100).obj(),
			},
			wantName:  "RolloutPolicy/back",
			wantSteps: weightSteps(10, 100),
		},
		"highest priority wins": {
			ns: []slogatev1alpha1.RolloutPolicy{
				makePolicy("low").priority(1).steps(10).obj(),
				makePolicy("high").priority(5).selector("tier", "backend").steps(20).obj(),
			},
			wantName:  "RolloutPolicy/high",
			wantSteps: weightSteps(20),
		},
		"tie: the oldest, then the first by name": {
			ns: []slogatev1alpha1.RolloutPolicy{
				makePolicy("b").steps(10).age(time.Hour).obj(),
				makePolicy("c").steps(20).age(2 * time.Hour).obj(),
				makePolicy("a").steps(30).age(2 * time.Hour).obj(),
			},
			wantName:  "RolloutPolicy/a",
			wantSteps: weightSteps(30),
		},
		"namespaced wins over a higher cluster policy": {
			ns:        []slogatev1alpha1.RolloutPolicy{makePolicy("local").steps(10).obj()},
			cluster:   []slogatev1alpha1.ClusterRolloutPolicy{makePolicy("global").priority(100).steps(20).cluster()},
			wantName:  "RolloutPolicy/local",
			wantSteps: weightSteps(10),
		},
		"cluster policy when no namespaced one matches": {
			ns:        []slogatev1alpha1.RolloutPolicy{makePolicy("front").selector("tier", "frontend").steps(50).obj()},
			cluster:   []slogatev1alpha1.ClusterRolloutPolicy{makePolicy("global").steps(20).cluster()},
			wantName:  "ClusterRolloutPolicy/global",
			wantSteps: weightSteps(20),
		},
		"a policy without steps gets the seed schedule": {
			ns:        []slogatev1alpha1.RolloutPolicy{makePolicy("empty").obj()},
			wantName:  "RolloutPolicy/empty",
			wantSteps: DefaultSteps(),
		},
		"a selector that does not parse matches nothing": {
			ns: []slogatev1alpha1.RolloutPolicy{func() slogatev1alpha1.RolloutPolicy {
				p := makePolicy("bad").steps(10).obj()
				p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Bogus"}}}
				return p
			}()},
			wantName:  "default",
			wantSteps: DefaultSteps(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Resolve(deploy, tc.ns, tc.cluster)
			if got.Name != tc.wantName {
				t.Errorf("Resolve() name = %q, want %q", got.Name, tc.wantName)
			}
			if diff := cmp.Diff(tc.wantSteps, got.Spec.Steps); diff != "" {
				t.Errorf("Resolve() steps (-want +got):\n%s", diff)
			}
			if got.Spec.StableService != "payments-api-stable" || got.Spec.CanaryService != "payments-api-canary" {
				t.Errorf("Resolve() services = %q, %q", got.Spec.StableService, got.Spec.CanaryService)
			}
			want := Timeouts{CanaryReady: 10 * time.Minute, Analysis: 15 * time.Minute, Promotion: 10 * time.Minute}
			if diff := cmp.Diff(want, got.Timeouts()); diff != "" {
				t.Errorf("Timeouts() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultStepsAreTheSeedSchedule(t *testing.T) {
	var got []string
	for _, s := range DefaultSteps() {
		switch {
		case s.SetWeight != nil:
			got = append(got, fmt.Sprintf("weight %d", *s.SetWeight))
		case s.Pause != nil:
			got = append(got, "pause "+s.Pause.Duration.Duration.String())
		case s.Analysis != nil:
			for _, tpl := range s.Analysis.Templates {
				if !tpl.ClusterScope {
					t.Errorf("template %s is not cluster scoped", tpl.TemplateName)
				}
			}
			got = append(got, "analysis "+s.Analysis.Templates[0].TemplateName+" "+s.Analysis.Templates[1].TemplateName)
		}
	}
	a := "analysis canary-success-rate canary-latency-p95"
	want := []string{"weight 5", "pause 3m0s", a, "weight 25", "pause 5m0s", a, "weight 50", "pause 5m0s", "weight 100"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultSteps() (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	ns := []slogatev1alpha1.RolloutPolicy{func() slogatev1alpha1.RolloutPolicy {
		p := makePolicy("fast").steps(50).obj()
		p.Spec.AnalysisTimeout = &metav1.Duration{Duration: time.Minute}
		p.Spec.StableService = "web-main"
		return p
	}()}
	cluster := []slogatev1alpha1.ClusterRolloutPolicy{makePolicy("global").steps(20).cluster()}
	cases := map[string]struct {
		name         string
		wantName     string
		wantAnalysis time.Duration
		wantStable   string
	}{
		"namespaced":     {name: "RolloutPolicy/fast", wantName: "RolloutPolicy/fast", wantAnalysis: time.Minute, wantStable: "web-main"},
		"cluster":        {name: "ClusterRolloutPolicy/global", wantName: "ClusterRolloutPolicy/global", wantAnalysis: DefaultAnalysisTimeout, wantStable: "web-stable"},
		"gone: defaults": {name: "RolloutPolicy/gone", wantName: "default", wantAnalysis: DefaultAnalysisTimeout, wantStable: "web-stable"},
		"default":        {name: "default", wantName: "default", wantAnalysis: DefaultAnalysisTimeout, wantStable: "web-stable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Lookup(tc.name, "web", ns, cluster)
			if got.Name != tc.wantName || got.Timeouts().Analysis != tc.wantAnalysis || got.Spec.StableService != tc.wantStable {
				t.Errorf("Lookup(%q) = %s, %v, %s; want %s, %v, %s", tc.name, got.Name, got.Timeouts().Analysis,
					got.Spec.StableService, tc.wantName, tc.wantAnalysis, tc.wantStable)
			}
		})
	}
}
