// Package v1alpha1 holds slogate's API types, group slogate.io, version v1alpha1:
//
//   - Release: the status of one canary release of one Deployment, written only by the analyzer.
//   - RolloutPolicy and ClusterRolloutPolicy: which Deployments get which steps and checks.
//   - AnalysisTemplate and ClusterAnalysisTemplate: SLO checks against Prometheus, in the shape of
//     Argo Rollouts' templates so that existing ones apply with only apiVersion changed.
//
// It also names the labels and annotations that make up slogate's wire contract (wellknown.go).
// It holds no behaviour: defaulting and validation that need code live in the webhook and the
// analyzer; what can be said in OpenAPI or CEL is said here with kubebuilder markers.
//
// +kubebuilder:object:generate=true
// +groupName=slogate.io
package v1alpha1
