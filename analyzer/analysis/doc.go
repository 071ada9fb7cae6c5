// Package analysis is slogate's SLO gate: it validates AnalysisTemplate and
// ClusterAnalysisTemplate specs (ValidateTemplateSpec, used by the admission webhook) and judges
// analysis steps against Prometheus.
package analysis
