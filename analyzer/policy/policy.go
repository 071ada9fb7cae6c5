package policy

import (
	"cmp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Names of the built-in ClusterAnalysisTemplates the default policy runs.
const (
	SuccessRateTemplate = "canary-success-rate"
	LatencyP95Template  = "canary-latency-p95"
)

// DefaultName is Release.spec.policy of a release that runs under the built-in default.
const DefaultName = "default"

// Default timeouts (see RolloutPolicySpec).
const (
	DefaultCanaryReadyTimeout = 10 * time.Minute
	DefaultAnalysisTimeout    = 15 * time.Minute
	DefaultPromotionTimeout   = 10 * time.Minute
)

// Resolved is the policy a release runs under, with every default filled in.
type Resolved struct {
	// Name is what Release.spec.policy records: RolloutPolicy/<name>, ClusterRolloutPolicy/<name>
	// or "default".
	Name string
	// Spec has its steps, Services and timeouts set.
	Spec slogatev1alpha1.RolloutPolicySpec
}

// Timeouts are the three deadlines of a release.
type Timeouts struct {
	CanaryReady time.Duration
	Analysis    time.Duration
	Promotion   time.Duration
}

// Timeouts returns the policy's deadlines.
func (r Resolved) Timeouts() Timeouts {
	return Timeouts{
		CanaryReady: r.Spec.CanaryReadyTimeout.Duration,
		Analysis:    r.Spec.AnalysisTimeout.Duration,
		Promotion:   r.Spec.PromotionTimeout.Duration,
	}
}

// DefaultSteps is the seed's schedule.
func DefaultSteps() []slogatev1alpha1.CanaryStep {
	analysis := func() slogatev1alpha1.CanaryStep {
		return slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
			{TemplateName: SuccessRateTemplate, ClusterScope: true},
			{TemplateName: LatencyP95Template, ClusterScope: true},
		}}}
	}
	weight := func(w int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: &w} }
	pause := func(d time.Duration) slogatev1alpha1.CanaryStep {
		return slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
	}
	return []slogatev1alpha1.CanaryStep{
		weight(5), pause(180 * time.Second), analysis(),
		weight(25), pause(300 * time.Second), analysis(),
		weight(50), pause(300 * time.Second),
		weight(100),
	}
}

// Object is what Resolve needs of a Deployment.
type Object interface {
	GetName() string
	GetLabels() map[string]string
}

// Resolve picks the policy of a Deployment from the RolloutPolicies of its namespace and the
// ClusterRolloutPolicies.
func Resolve(d Object, ns []slogatev1alpha1.RolloutPolicy, cluster []slogatev1alpha1.ClusterRolloutPolicy) Resolved {
	type candidate struct {
		name    string
		created metav1.Time
		spec    *slogatev1alpha1.RolloutPolicySpec
	}
	best := func(cs []candidate) *candidate {
		var matching []candidate
		for _, c := range cs {
			if matches(c.spec.Selector, d.GetLabels()) {
				matching = append(matching, c)
			}
		}
		if len(matching) == 0 {
			return nil
		}
		slices.SortFunc(matching, func(a, b candidate) int {
			if c := cmp.Compare(b.spec.Priority, a.spec.Priority); c != 0 {
				return c
			}
			if !a.created.Equal(&b.created) {
				if a.created.Before(&b.created) {
					return -1
				}
				return 1
			}
			return strings.Compare(a.name, b.name)
		})
		return &matching[0]
	}
	var local, global []candidate
	for i := range ns {
		local = append(local, candidate{ns[i].Name, ns[i].CreationTimestamp, &ns[i].Spec})
	}
	for i := range cluster {
		global = append(global, candidate{cluster[i].Name, cluster[i].CreationTimestamp, &cluster[i].Spec})
	}
	if c := best(local); c != nil {
		return Resolved{Name: "RolloutPolicy/" + c.name, Spec: WithDefaults(*c.spec, d.GetName())}
	}
	if c := best(global); c != nil {
		return Resolved{Name: "ClusterRolloutPolicy/" + c.name, Spec: WithDefaults(*c.spec, d.GetName())}
	}
	return Resolved{Name: DefaultName, Spec: WithDefaults(slogatev1alpha1.RolloutPolicySpec{}, d.GetName())}
}

// Lookup finds the policy a release recorded by name; a policy that is gone gives the defaults.
func Lookup(name, deployment string, ns []slogatev1alpha1.RolloutPolicy, cluster []slogatev1alpha1.ClusterRolloutPolicy) Resolved {
	kind, n, _ := strings.Cut(name, "/")
	switch kind {
	case "RolloutPolicy":
		for i := range ns {
			if ns[i].Name == n {
				return Resolved{Name: name, Spec: WithDefaults(ns[i].Spec, deployment)}
			}
		}
	case "ClusterRolloutPolicy":
		for i := range cluster {
			if cluster[i].Name == n {
				return Resolved{Name: name, Spec: WithDefaults(cluster[i].Spec, deployment)}
			}
		}
	}
	return Resolved{Name: DefaultName, Spec: WithDefaults(slogatev1alpha1.RolloutPolicySpec{}, deployment)}
}

// WithDefaults returns a copy of spec with empty fields defaulted for the Deployment.
func WithDefaults(spec slogatev1alpha1.RolloutPolicySpec, deployment string) slogatev1alpha1.RolloutPolicySpec {
	out := *spec.DeepCopy()
	if len(out.Steps) == 0 {
		out.Steps = DefaultSteps()
	}
	if out.StableService == "" {
		out.StableService = deployment + "-stable"
	}
	if out.CanaryService == "" {
		out.CanaryService = deployment + "-canary"
	}
	if out.CanaryReadyTimeout == nil {
		out.CanaryReadyTimeout = &metav1.Duration{Duration: DefaultCanaryReadyTimeout}
	}
	if out.AnalysisTimeout == nil {
		out.AnalysisTimeout = &metav1.Duration{Duration: DefaultAnalysisTimeout}
	}
	if out.PromotionTimeout == nil {
		out.PromotionTimeout = &metav1.Duration{Duration: DefaultPromotionTimeout}
	}
	return out
}

// RouteName is the HTTPRoute the policy names, "" when the routes are to be found by the stable
// Service.
func RouteName(spec slogatev1alpha1.RolloutPolicySpec) string {
	if spec.TrafficRouting == nil || spec.TrafficRouting.GatewayAPI == nil {
		return ""
	}
	return spec.TrafficRouting.GatewayAPI.HTTPRoute
}

func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}
