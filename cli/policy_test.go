package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slogate/slogate/api/v1alpha1"
)

func rp(name, ns string, priority int32, age time.Duration, sel *metav1.LabelSelector, steps ...v1alpha1.CanaryStep) v1alpha1.RolloutPolicy {
	return v1alpha1.RolloutPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: *ago(age)},
		Spec:       v1alpha1.RolloutPolicySpec{Selector: sel, Priority: priority, Steps: steps},
	}
}

func crp(name string, priority int32, age time.Duration, sel *metav1.LabelSelector, steps ...v1alpha1.CanaryStep) v1alpha1.ClusterRolloutPolicy {
	return v1alpha1.ClusterRolloutPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: *ago(age)},
		Spec:       v1alpha1.RolloutPolicySpec{Selector: sel, Priority: priority, Steps: steps},
	}
}

func TestResolvePolicy(t *testing.T) {
	web := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	api := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}
	tierFront := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "edge"}},
	}}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
	quick := v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}
	slow := v1alpha1.CanaryStep{SetWeight: ptr.To[int32](1)}

	tests := map[string]struct {
		policies  []v1alpha1.RolloutPolicy
		cluster   []v1alpha1.ClusterRolloutPolicy
		wantName  string
		wantSteps []v1alpha1.CanaryStep
	}{
		"nothing: default":                 {wantName: "default", wantSteps: DefaultSteps()},
		"selector does not match: default": {policies: []v1alpha1.RolloutPolicy{rp("p", "shop", 0, time.Hour, api, quick)}, wantName: "default", wantSteps: DefaultSteps()},
		"other namespace ignored": {
			policies: []v1alpha1.RolloutPolicy{rp("p", "elsewhere", 0, time.Hour, nil, quick)}, wantName: "default", wantSteps: DefaultSteps(),
		},
		"empty selector matches": {policies: []v1alpha1.RolloutPolicy{rp("p", "shop", 0, time.Hour, nil, quick)}, wantName: "RolloutPolicy/p", wantSteps: []v1alpha1.CanaryStep{quick}},
		"match expressions": {
			cluster: []v1alpha1.ClusterRolloutPolicy{crp("front", 0, time.Hour, tierFront, quick)}, wantName: "ClusterRolloutPolicy/front", wantSteps: []v1alpha1.CanaryStep{quick},
		},
		"unparsable selector matches nothing": {
			cluster: []v1alpha1.ClusterRolloutPolicy{crp("bad", 0, time.Hour, bad, quick)}, wantName: "default", wantSteps: DefaultSteps(),
		},
		"namespaced wins over a higher cluster priority": {
			policies: []v1alpha1.RolloutPolicy{rp("ns", "shop", 0, time.Hour, web, slow)},
			cluster:  []v1alpha1.ClusterRolloutPolicy{crp("cluster", 100, 2*time.Hour, nil, quick)},
			wantName: "RolloutPolicy/ns", wantSteps: []v1alpha1.CanaryStep{slow},
		},
		"highest priority wins": {
			policies: []v1alpha1.RolloutPolicy{rp("low", "shop", 1, 2*time.Hour, nil, slow), rp("high", "shop", 5, time.Minute, web, quick)},
			wantName: "RolloutPolicy/high", wantSteps: []v1alpha1.CanaryStep{quick},
		},
		"tie: oldest wins": {
			cluster:  []v1alpha1.ClusterRolloutPolicy{crp("young", 3, time.Minute, nil, quick), crp("old", 3, time.Hour, nil, slow)},
			wantName: "ClusterRolloutPolicy/old", wantSteps: []v1alpha1.CanaryStep{slow},
		},
		"tie on age: first by name": {
			policies: []v1alpha1.RolloutPolicy{rp("b", "shop", 0, time.Hour, nil, quick), rp("a", "shop", 0, time.Hour, nil, slow)},
			wantName: "RolloutPolicy/a", wantSteps: []v1alpha1.CanaryStep{slow},
		},
		"policy without steps gets the default steps": {
			policies: []v1alpha1.RolloutPolicy{rp("p", "shop", 0, time.Hour, web)}, wantName: "RolloutPolicy/p", wantSteps: DefaultSteps(),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := makeDeployment("web").obj()
			d.Labels = map[string]string{"app": "web", "tier": "front"}
			got := ResolvePolicy(d, tc.policies, tc.cluster)
			if diff := cmp.Diff(ResolvedPolicy{Name: tc.wantName, Steps: tc.wantSteps}, got); diff != "" {
				t.Errorf("ResolvePolicy() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultStepsIsTheSeedSchedule(t *testing.T) {
	if diff := cmp.Diff(seedSteps(), DefaultSteps()); diff != "" {
		t.Errorf("DefaultSteps() (-want +got):\n%s", diff)
	}
}
