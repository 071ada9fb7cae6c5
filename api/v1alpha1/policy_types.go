package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutPolicySpec says how Deployments that match Selector are released. Its steps have the shape
// of an Argo Rollouts canary strategy.
type RolloutPolicySpec struct {
	// Selector selects Deployments by their labels. An empty selector matches every Deployment in
	// scope (the policy's namespace for a RolloutPolicy, every opted-in namespace for a
	// ClusterRolloutPolicy).
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// Priority orders policies that match the same Deployment: the highest wins; on a tie, the
	// oldest (then the first by name). A namespaced RolloutPolicy always wins over a
	// ClusterRolloutPolicy.
	// +optional
	Priority int32 `json:"priority,omitempty"`

	// Steps are run in order. A release without a setWeight: 100 step ends at 100 % anyway.
	// Defaults to the seed schedule: 5 %, pause 180 s, analysis, 25 %, pause 300 s, analysis,
	// 50 %, pause 300 s, 100 %.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Steps []CanaryStep `json:"steps,omitempty"`

	// StableService is the Service that serves the stable revision. Defaults to <deployment>-stable.
	// +optional
	StableService string `json:"stableService,omitempty"`

	// CanaryService is the Service that serves the canary revision. Defaults to <deployment>-canary.
	// +optional
	CanaryService string `json:"canaryService,omitempty"`

	// TrafficRouting names the route whose weights the analyzer sets.
	// +optional
	TrafficRouting *TrafficRouting `json:"trafficRouting,omitempty"`

	// CanaryReadyTimeout bounds how long the canary pods may take to become ready before any traffic
	// moves; past it, the release is rolled back. Defaults to 10m.
	// +optional
	CanaryReadyTimeout *metav1.Duration `json:"canaryReadyTimeout,omitempty"`

	// AnalysisTimeout bounds how long one analysis step may run without a verdict (Error or
	// Inconclusive measurements hold the step); past it, the release is rolled back. Defaults to 15m.
	// +optional
	AnalysisTimeout *metav1.Duration `json:"analysisTimeout,omitempty"`

	// PromotionTimeout bounds how long the Deployment may take to roll every replica to the new
	// revision after promotion. Defaults to 10m.
	// +optional
	PromotionTimeout *metav1.Duration `json:"promotionTimeout,omitempty"`
}

// TrafficRouting names the traffic router. Only the Gateway API is supported.
type TrafficRouting struct {
	// GatewayAPI routes traffic through an HTTPRoute.
	// +optional
	GatewayAPI *GatewayAPITrafficRouting `json:"gatewayAPI,omitempty"`
}

// GatewayAPITrafficRouting names the HTTPRoute, in the Deployment's namespace.
type GatewayAPITrafficRouting struct {
	// HTTPRoute is the name of the route. When empty, the analyzer uses every HTTPRoute in the
	// namespace with a backendRef naming the stable Service.
	// +optional
	HTTPRoute string `json:"httpRoute,omitempty"`
}

// CanaryStep is one step of a release: exactly one of setWeight, pause and analysis.
// +kubebuilder:validation:XValidation:rule="(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1",message="exactly one of setWeight, pause and analysis must be set"
type CanaryStep struct {
	// SetWeight sends this percentage of traffic to the canary.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	SetWeight *int32 `json:"setWeight,omitempty"`

	// Pause waits for a duration, or, with no duration, until `kubectl slogate promote`.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// Analysis runs templates and goes on only when every one of them is Successful.
	// +optional
	Analysis *AnalysisStep `json:"analysis,omitempty"`
}

// PauseStep waits. An empty pause ({}) waits for a manual promotion.
type PauseStep struct {
	// Duration to wait, such as 180s or 5m.
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// AnalysisStep runs analysis templates against the canary.
type AnalysisStep struct {
	// Templates to run; all must succeed.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Templates []TemplateRef `json:"templates"`

	// Args override the templates' arguments by name.
	// +optional
	Args []Argument `json:"args,omitempty"`
}

// TemplateRef names an AnalysisTemplate in the Deployment's namespace, or a ClusterAnalysisTemplate.
type TemplateRef struct {
	// TemplateName is the name of the template.
	// +kubebuilder:validation:MinLength=1
	TemplateName string `json:"templateName"`

	// ClusterScope refers to a ClusterAnalysisTemplate instead of an AnalysisTemplate.
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=rp,categories=slogate
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=".spec.priority"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"

// RolloutPolicy says how the Deployments it selects in its namespace are released.
type RolloutPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RolloutPolicySpec `json:"spec"`
}

// +kubebuilder:object:root=true

// RolloutPolicyList is a list of RolloutPolicy.
type RolloutPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RolloutPolicy `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crp,categories=slogate
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=".spec.priority"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"

// ClusterRolloutPolicy says how the Deployments it selects in every opted-in namespace are released.
type ClusterRolloutPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RolloutPolicySpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ClusterRolloutPolicyList is a list of ClusterRolloutPolicy.
type ClusterRolloutPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterRolloutPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RolloutPolicy{}, &RolloutPolicyList{}, &ClusterRolloutPolicy{}, &ClusterRolloutPolicyList{})
}
