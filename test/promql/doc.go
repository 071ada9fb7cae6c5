// Package promql proves the PromQL of slogate's SLO checks with Prometheus's own query engine: the
// seed's two queries and the built-in ClusterAnalysisTemplates (manifests/base/templates), rendered
// for a release the way the analyzer renders them, are evaluated over synthetic series written in
// promqltest's `load` language.
//
// It is its own Go module because github.com/prometheus/prometheus is large (minutes to compile
// cold) and only these tests need it; `replace` points it at the main module in this checkout.
// Run it with `cd test/promql && go test ./...`.
//
// It is not a test of the gate's plumbing (analyzer/analysis has those, over a fake querier) nor an
// end-to-end test against a running Prometheus.
package promql
