package cli

import (
	"cmp"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/slogate/slogate/api/v1alpha1"
)

// DefaultPolicyName is the name a release records when no policy selects its Deployment.
const DefaultPolicyName = "default"

// DefaultSteps is the seed's schedule: 5 %, pause 180 s, analysis, 25 %, pause 300 s, analysis,
// 50 %, pause 300 s, 100 %. The analyses run the seed's two templates.
func DefaultSteps() []v1alpha1.CanaryStep {
	analysis := func() v1alpha1.CanaryStep {
		return v1alpha1.CanaryStep{Analysis: &v1alpha1.AnalysisStep{Templates: []v1alpha1.TemplateRef{
			{TemplateName: "success-rate-check"}, {TemplateName: "latency-p95-check"},
		}}}
	}
	weight := func(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }
	pause := func(d time.Duration) v1alpha1.CanaryStep {
		return v1alpha1.CanaryStep{Pause: &v1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
	}
	return []v1alpha1.CanaryStep{
		weight(5), pause(180 * time.Second), analysis(),
		weight(25), pause(300 * time.Second), analysis(),
		weight(50), pause(300 * time.Second), weight(100),
	}
}

// ResolvedPolicy is the policy that applies to a Deployment.
type ResolvedPolicy struct {
	// Name is RolloutPolicy/<name>, ClusterRolloutPolicy/<name> or DefaultPolicyName, as a Release
	// records it in spec.policy.
	Name string
	// Steps are the policy's steps, or DefaultSteps when it has none.
	Steps []v1alpha1.CanaryStep
}

// candidate is a policy that selects the Deployment.
type candidate struct {
	name     string
	meta     metav1.ObjectMeta
	spec     v1alpha1.RolloutPolicySpec
	priority int32
}

// ResolvePolicy picks the policy of Deployment d as the API types document it: a RolloutPolicy in
// d's namespace whose selector matches d's labels wins over any ClusterRolloutPolicy; among several,
// the highest priority wins, then the oldest, then the first by name. An empty selector matches
// every Deployment in scope; a selector that does not parse matches none. With no match, the
// default policy (DefaultSteps) applies.
func ResolvePolicy(d *appsv1.Deployment, policies []v1alpha1.RolloutPolicy, clusterPolicies []v1alpha1.ClusterRolloutPolicy) ResolvedPolicy {
	var namespaced, cluster []candidate
	for _, p := range policies {
		if p.Namespace == d.Namespace && selects(p.Spec.Selector, d) {
			namespaced = append(namespaced, candidate{name: "RolloutPolicy/" + p.Name, meta: p.ObjectMeta, spec: p.Spec})
		}
	}
	for _, p := range clusterPolicies {
		if selects(p.Spec.Selector, d) {
			cluster = append(cluster, candidate{name: "ClusterRolloutPolicy/" + p.Name, meta: p.ObjectMeta, spec: p.Spec})
		}
	}
	for _, cs := range [][]candidate{namespaced, cluster} {
		if len(cs) == 0 {
			continue
		}
		best := slices.MinFunc(cs, func(a, b candidate) int {
			return cmp.Or(
				cmp.Compare(b.spec.Priority, a.spec.Priority), // highest first
				a.meta.CreationTimestamp.Compare(b.meta.CreationTimestamp.Time),
				cmp.Compare(a.meta.Name, b.meta.Name),
			)
		})
		steps := best.spec.Steps
		if len(steps) == 0 {
			steps = DefaultSteps()
		}
		return ResolvedPolicy{Name: best.name, Steps: steps}
	}
	return ResolvedPolicy{Name: DefaultPolicyName, Steps: DefaultSteps()}
}

func selects(sel *metav1.LabelSelector, d *appsv1.Deployment) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(d.Labels))
}
