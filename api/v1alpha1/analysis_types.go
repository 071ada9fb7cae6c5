package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisTemplateSpec is a set of metrics, each measured against Prometheus at an interval and
// judged by conditions. It has the shape of Argo Rollouts' AnalysisTemplate spec, plus a minimum
// request count and slogate's template variables.
type AnalysisTemplateSpec struct {
	// Args are the template's arguments, available to queries as {{ .Args.<name> }}. An argument
	// without a value must be given one by the analysis step.
	// +optional
	// +listType=map
	// +listMapKey=name
	Args []Argument `json:"args,omitempty"`

	// Metrics to measure; all must succeed.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Metrics []Metric `json:"metrics"`
}

// Argument is a named value for a query template.
type Argument struct {
	// Name of the argument.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Value of the argument.
	// +optional
	Value *string `json:"value,omitempty"`
}

// Metric is one measurement, repeated every Interval.
//
// A measurement is Successful when SuccessCondition holds (and FailureCondition, if set, does not),
// Failed when FailureCondition holds or SuccessCondition does not, Inconclusive when the request
// count is below MinRequests.Count, and Error when the query fails, times out, or returns no
// number (empty result, NaN, ±Inf, a type other than a scalar or one-element vector).
type Metric struct {
	// Name of the metric, unique in the template.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Interval between measurements, such as 1m. Defaults to 1m.
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// InitialDelay before the first measurement of a step.
	// +optional
	InitialDelay *metav1.Duration `json:"initialDelay,omitempty"`

	// Window is the value of {{ .Window }} in queries, such as 5m. Defaults to the interval.
	// +optional
	Window *metav1.Duration `json:"window,omitempty"`

	// Count is how many Successful measurements the metric needs to pass. Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Count *int32 `json:"count,omitempty"`

	// SuccessCondition is an expr-lang expression over `result` (a list of numbers; result[0] is
	// the value) that is true when the measurement is healthy, such as "result[0] >= 99.5".
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// FailureCondition is an expr-lang expression that is true when the measurement is unhealthy.
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`

	// FailureLimit is how many Failed measurements are tolerated; one more rolls back. Defaults to 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailureLimit *int32 `json:"failureLimit,omitempty"`

	// InconclusiveLimit is how many Inconclusive measurements are tolerated; one more rolls back.
	// Defaults to 3.
	// +optional
	// +kubebuilder:validation:Minimum=0
	InconclusiveLimit *int32 `json:"inconclusiveLimit,omitempty"`

	// ConsecutiveErrorLimit is how many Error measurements in a row are tolerated; one more rolls
	// back. Defaults to 4.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ConsecutiveErrorLimit *int32 `json:"consecutiveErrorLimit,omitempty"`

	// MinRequests makes a measurement Inconclusive when the canary served too few requests in the
	// window for its value to mean anything.
	// +optional
	MinRequests *MinRequests `json:"minRequests,omitempty"`

	// Provider measures the metric.
	Provider MetricProvider `json:"provider"`
}

// MinRequests is the minimum request count per window.
type MinRequests struct {
	// Query returns the number of requests the canary served in the window (a Go template, like
	// the metric's query), such as sum(increase(http_requests_total{...}[{{ .Window }}])).
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`
	// Count is the minimum number of requests.
	// +kubebuilder:validation:Minimum=0
	Count int64 `json:"count"`
}

// MetricProvider is where a metric comes from. Only Prometheus is supported.
type MetricProvider struct {
	// Prometheus queries a Prometheus server.
	// +optional
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
}

// PrometheusMetric is a PromQL query.
type PrometheusMetric struct {
	// Address of the Prometheus server, such as http://prometheus.monitoring.svc:9090. Defaults
	// to the analyzer's --prometheus-address.
	// +optional
	Address string `json:"address,omitempty"`

	// Query is PromQL and a Go template with the variables .Namespace, .App, .Revision,
	// .StableRevision, .Window and .Args.
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`

	// Timeout of one query. Defaults to 10s.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=at,categories=slogate
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"

// AnalysisTemplate is a set of SLO checks in one namespace.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a list of AnalysisTemplate.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cat,categories=slogate
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"

// ClusterAnalysisTemplate is a set of SLO checks any namespace may use.
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplate.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{})
}
