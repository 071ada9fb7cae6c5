package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReleasePhase is where a release is.
// +kubebuilder:validation:Enum=Progressing;Paused;Promoting;Succeeded;RolledBack;Aborted
type ReleasePhase string

const (
	// PhaseProgressing: the canary is starting, or traffic is moving, or a timed pause or an
	// analysis is running.
	PhaseProgressing ReleasePhase = "Progressing"
	// PhasePaused: a manual pause waits for `kubectl slogate promote`.
	PhasePaused ReleasePhase = "Paused"
	// PhasePromoting: every step passed; the Deployment is rolling to the new revision.
	PhasePromoting ReleasePhase = "Promoting"
	// PhaseSucceeded: the new revision is stable. Terminal.
	PhaseSucceeded ReleasePhase = "Succeeded"
	// PhaseRolledBack: traffic went back to stable because the canary failed (or was aborted by
	// `kubectl slogate abort`). The Deployment stays paused on the failed template. Terminal until
	// a retry.
	PhaseRolledBack ReleasePhase = "RolledBack"
	// PhaseAborted: the release ended without a verdict: the stable template was re-applied, a newer
	// template superseded it, or the Deployment was deleted. Terminal.
	PhaseAborted ReleasePhase = "Aborted"
)

// IsTerminal reports whether the phase ends the release.
func (p ReleasePhase) IsTerminal() bool {
	return p == PhaseSucceeded || p == PhaseRolledBack || p == PhaseAborted
}

// Verdict is the outcome of one measurement.
// +kubebuilder:validation:Enum=Successful;Failed;Inconclusive;Error
type Verdict string

const (
	// VerdictSuccessful: the condition held on a measured value. The only verdict that lets a
	// release go on.
	VerdictSuccessful Verdict = "Successful"
	// VerdictFailed: the value breached the condition.
	VerdictFailed Verdict = "Failed"
	// VerdictInconclusive: too little traffic for the value to mean anything.
	VerdictInconclusive Verdict = "Inconclusive"
	// VerdictError: no value: the query failed, timed out, or returned nothing usable.
	VerdictError Verdict = "Error"
)

// Condition types of a Release.
const (
	// ConditionCanaryReady is True while every canary pod is ready.
	ConditionCanaryReady = "CanaryReady"
	// ConditionAnalysisPassing reflects the last analysis: True after a Successful one.
	ConditionAnalysisPassing = "AnalysisPassing"
	// ConditionTrafficRestored is True once 100 % of traffic is on stable after a rollback or abort.
	ConditionTrafficRestored = "TrafficRestored"
	// ConditionCompleted is True once the release reached a terminal phase and cleaned up.
	ConditionCompleted = "Completed"
	// ConditionRollingOut is True once the analyzer unpaused the Deployment to roll every replica
	// to the canary revision (promotion). From then on the stable ReplicaSet is being scaled down, so
	// ending the release sends traffic to whatever pods the Deployment has rather than to the old
	// ReplicaSet alone.
	ConditionRollingOut = "RollingOut"
)

// MaxMeasurements bounds Release.status.measurements: the oldest are dropped first, but the
// measurements that decided a step are kept.
const MaxMeasurements = 64

// ReleaseSpec names the Deployment and the two revisions of a release. The analyzer writes it
// when it creates the Release and never changes it.
type ReleaseSpec struct {
	// DeploymentName is the Deployment being released, in the Release's namespace.
	DeploymentName string `json:"deploymentName"`
	// StableRevision is the revision that serves until promotion.
	StableRevision string `json:"stableRevision"`
	// CanaryRevision is the revision under test.
	CanaryRevision string `json:"canaryRevision"`
	// Policy names the policy the steps came from: RolloutPolicy/<name>,
	// ClusterRolloutPolicy/<name> or "default".
	Policy string `json:"policy"`
	// Steps are the policy's steps as they were when the release started.
	Steps []CanaryStep `json:"steps"`
	// StableService and CanaryService are the Services whose weights the release sets.
	StableService string `json:"stableService"`
	CanaryService string `json:"canaryService"`
	// HTTPRoutes are the routes whose weights the release sets.
	// +optional
	HTTPRoutes []string `json:"httpRoutes,omitempty"`
}

// ReleaseStatus is what the analyzer knows of a release. Everything the analyzer needs to resume
// after a restart is here or on the Deployment.
type ReleaseStatus struct {
	// Phase of the release.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`
	// Reason is a CamelCase word for why the release is in its phase (e.g. AnalysisFailed).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the phase to a human.
	// +optional
	Message string `json:"message,omitempty"`
	// StepIndex is the index in spec.steps of the current step; len(steps) once all passed.
	// +optional
	StepIndex int32 `json:"stepIndex"`
	// StepStartedAt is when the current step started.
	// +optional
	StepStartedAt *metav1.Time `json:"stepStartedAt,omitempty"`
	// CanaryWeight is the percentage of traffic on the canary as last written to the route.
	// +optional
	CanaryWeight int32 `json:"canaryWeight"`
	// StartedAt and FinishedAt bound the release.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Measurements of the analysis steps, oldest first, at most MaxMeasurements.
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`
	// Metrics counts the measurements of each metric at the current analysis step; reset when a
	// step starts. It is what limits (failureLimit, consecutiveErrorLimit...) are checked against.
	// +optional
	Metrics []MetricStatus `json:"metrics,omitempty"`
	// Conditions of the release.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation of the Deployment last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Measurement is one value of one metric at one step.
type Measurement struct {
	// Template and Metric name what was measured.
	Template string `json:"template"`
	Metric   string `json:"metric"`
	// Step is the index of the analysis step.
	Step int32 `json:"step"`
	// Weight is the canary weight when the value was measured.
	// +optional
	Weight int32 `json:"weight"`
	// Query is the query as sent to Prometheus.
	// +optional
	Query string `json:"query,omitempty"`
	// Value is the measured value, formatted; empty when there was none.
	// +optional
	Value string `json:"value,omitempty"`
	// Verdict of the measurement.
	Verdict Verdict `json:"verdict"`
	// Message says why, for anything but Successful.
	// +optional
	Message string `json:"message,omitempty"`
	// Time of the measurement.
	Time metav1.Time `json:"time"`
}

// MetricStatus counts the measurements of one metric of one template at one analysis step.
type MetricStatus struct {
	Template string `json:"template"`
	Metric   string `json:"metric"`
	Step     int32  `json:"step"`
	// Phase is Successful once the metric passed, Failed once it exceeded a limit, empty while it runs.
	// +optional
	Phase Verdict `json:"phase,omitempty"`
	// +optional
	Successful int32 `json:"successful,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// +optional
	Error int32 `json:"error,omitempty"`
	// +optional
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// LastMeasuredAt is when the metric was last measured.
	// +optional
	LastMeasuredAt *metav1.Time `json:"lastMeasuredAt,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rel,categories=slogate
// +kubebuilder:printcolumn:name="Deployment",type=string,JSONPath=".spec.deploymentName"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=".status.stepIndex"
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=".status.canaryWeight"
// +kubebuilder:printcolumn:name="Canary",type=string,JSONPath=".spec.canaryRevision"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=".status.reason"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"

// Release is one canary release of one Deployment. Its name is <deployment>-<canary revision>.
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseSpec   `json:"spec"`
	Status ReleaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleaseList is a list of Release.
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Release `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Release{}, &ReleaseList{})
}

// ReleaseName is the name of the Release of a Deployment's canary revision.
func ReleaseName(deployment, canaryRevision string) string {
	return deployment + "-" + canaryRevision
}
