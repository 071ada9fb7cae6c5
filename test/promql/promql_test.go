package promql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/promqltest"
	"sigs.k8s.io/yaml"

	"github.com/slogate/slogate/analyzer/analysis"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// The seed's queries, character for character (the seed's own indentation of the YAML block).
const (
	seedSuccessRate = `100 * (
  sum(rate(http_requests_total{app="payments-api",status!~"5.."}[5m]))
  /
  sum(rate(http_requests_total{app="payments-api"}[5m]))
)`
	seedLatencyP95 = `histogram_quantile(0.95,
  sum(rate(http_request_duration_seconds_bucket{app="payments-api"}[5m])) by (le)
) * 1000`
)

// oneLine folds a multi-line query onto one line, as the script language needs; PromQL reads
// newlines as spaces, so the query means the same.
func oneLine(q string) string {
	return strings.Join(strings.Fields(q), " ")
}

// run evaluates a promqltest script with Prometheus's engine.
func run(t *testing.T, script string) {
	t.Helper()
	promqltest.RunTest(t, script, promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery))
}

// release is the release the built-in templates are rendered for.
var release = analysis.Vars{
	Namespace:      "prod",
	App:            "payments-api",
	Revision:       "c4n4ry",
	StableRevision: "st4b1e",
}

// builtin holds the rendered queries of a built-in template, for release.
type builtin struct {
	query, minRequests string
}

// renderBuiltinMust reads manifests/base/templates/<name>.yaml and renders its one metric's queries
// for release with the template's own argument values, through the analyzer's Render.
func renderBuiltinMust(t *testing.T, name string) builtin {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "base", "templates", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl slogatev1alpha1.ClusterAnalysisTemplate
	if err := yaml.UnmarshalStrict(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	if len(tmpl.Spec.Metrics) != 1 {
		t.Fatalf("%s has %d metrics, want 1", name, len(tmpl.Spec.Metrics))
	}
	m := tmpl.Spec.Metrics[0]
	vars := release
	vars.Window = analysis.PromDuration(m.Window.Duration)
	vars.Args = map[string]string{}
	for _, a := range tmpl.Spec.Args {
		vars.Args[a.Name] = *a.Value
	}
	var out builtin
	if out.query, err = analysis.Render(m.Provider.Prometheus.Query, vars); err != nil {
		t.Fatal(err)
	}
	if out.minRequests, err = analysis.Render(m.MinRequests.Query, vars); err != nil {
		t.Fatal(err)
	}
	out.query, out.minRequests = oneLine(out.query), oneLine(out.minRequests)
	return out
}

// script replaces each $NAME in s by its value.
func script(s string, values map[string]string) string {
	for k, v := range values {
		s = strings.ReplaceAll(s, "$"+k, v)
	}
	return s
}

// TestSeedQueries evaluates the seed's two queries. 990 good and 10 bad requests a minute are a
// 99 % success rate (below the seed's 99.5: that canary fails). A histogram whose 95th percentile
// lies between its 300 ms and 400 ms buckets gives the linear interpolation Prometheus documents.
// When every request fails, the seed's success-rate query has no result at all (the numerator
// selects no series): the gate reads that as Error, never as success; the built-in template
// answers 0 instead (TestBuiltinSuccessRate).
func TestSeedQueries(t *testing.T) {
	run(t, script(`
load 1m
	http_requests_total{app="payments-api",status="200"} 0+990x10
	http_requests_total{app="payments-api",status="500"} 0+10x10
	http_requests_total{app="other",status="500"} 0+1000x10

eval instant at 10m $RATE
	{} 99

clear
load 1m
	http_requests_total{app="payments-api",status="200"} 0+1000x10

eval instant at 10m $RATE
	{} 100

clear
load 1m
	http_requests_total{app="payments-api",status="500"} 0+1000x10

eval instant at 10m $RATE

clear
# Per minute: 500 requests at or under 100 ms, 400 more under 200 ms, 40 under 300 ms, 50 under
# 400 ms, 10 slower. Rank 0.95 * 1000 = 950 lies in (300 ms, 400 ms]: 300 + (950-940)/50*100 = 320.
load 1m
	http_request_duration_seconds_bucket{app="payments-api",le="0.1"} 0+500x10
	http_request_duration_seconds_bucket{app="payments-api",le="0.2"} 0+900x10
	http_request_duration_seconds_bucket{app="payments-api",le="0.3"} 0+940x10
	http_request_duration_seconds_bucket{app="payments-api",le="0.4"} 0+990x10
	http_request_duration_seconds_bucket{app="payments-api",le="+Inf"} 0+1000x10

eval instant at 10m $P95
	{} 320
`, map[string]string{"RATE": oneLine(seedSuccessRate), "P95": oneLine(seedLatencyP95)}))
}

// TestBuiltinSuccessRate: the canary's success rate, whatever stable and other apps do; 0 (not
// "no result") when every canary request fails; and the request count that minRequests reads,
// 0 when the canary has no series at all.
func TestBuiltinSuccessRate(t *testing.T) {
	b := renderBuiltinMust(t, "canary-success-rate")
	run(t, script(`
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="200"} 0+1000x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="500"} 0+500x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0+95x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="503"} 0+5x10
	http_requests_total{namespace="prod",app="other",slogate_io_revision="c4n4ry",status="500"} 0+100x10
	http_requests_total{namespace="staging",app="payments-api",slogate_io_revision="c4n4ry",status="500"} 0+100x10

eval instant at 10m $QUERY
	{} 95

eval instant at 10m $MIN
	{} 200

clear
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0+1000x10

eval instant at 10m $QUERY
	{} 100

clear
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="500"} 0+100x10

eval instant at 10m $QUERY
	{} 0

clear
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="200"} 0+1000x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0x10

eval instant at 10m $MIN
	{} 0

clear
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="200"} 0+1000x10

eval instant at 10m $MIN
	{} 0

eval instant at 10m $QUERY
`, map[string]string{"QUERY": b.query, "MIN": b.minRequests}))
}

// TestBuiltinLatencyP95: the canary's p95 in ms from its own buckets; a canary 300 ms slower shows
// 300 ms more; stable's buckets do not leak in.
func TestBuiltinLatencyP95(t *testing.T) {
	b := renderBuiltinMust(t, "canary-latency-p95")
	run(t, script(`
load 1m
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.1"} 0+500x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.2"} 0+900x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.3"} 0+940x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.4"} 0+990x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="+Inf"} 0+1000x10
	http_request_duration_seconds_count{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry"} 0+1000x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",le="0.1"} 0+10x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",le="0.2"} 0+10x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",le="0.3"} 0+10x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",le="0.4"} 0+10x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",le="+Inf"} 0+5000x10

eval instant at 10m $QUERY
	{} 320

eval instant at 10m $MIN
	{} 2000

clear
# The same canary 300 ms slower: every bucket bound shifted by 0.3 s.
load 1m
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.4"} 0+500x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.5"} 0+900x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.6"} 0+940x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="0.7"} 0+990x10
	http_request_duration_seconds_bucket{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",le="+Inf"} 0+1000x10

eval instant at 10m $QUERY
	{} 620
`, map[string]string{"QUERY": b.query, "MIN": b.minRequests}))
}

// TestBuiltinCanaryVsStable: canary error ratio minus stable error ratio in percentage points. It
// separates the revisions (a bad canary shows, a good one beside a bad stable does not), and the
// stable side counts pods that lack the revision label (pods from before the namespace opted in).
func TestBuiltinCanaryVsStable(t *testing.T) {
	b := renderBuiltinMust(t, "canary-vs-stable")
	run(t, script(`
# Stable 1 % errors, canary 5 %: 4 points worse.
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="200"} 0+990x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="500"} 0+10x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0+95x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="500"} 0+5x10
	http_requests_total{namespace="prod",app="other",status="500"} 0+1000x10

eval instant at 10m $QUERY
	{} 4

clear
# Stable 3 % errors on pods without the revision label, canary 3.5 %: half a point, within the
# default margin of 1 although a fixed 99 % threshold would fail both.
load 1m
	http_requests_total{namespace="prod",app="payments-api",pod_template_hash="abc",status="200"} 0+970x10
	http_requests_total{namespace="prod",app="payments-api",pod_template_hash="abc",status="500"} 0+30x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0+965x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="500"} 0+35x10

eval instant at 10m $QUERY
	{} 0.5

clear
# Canary healthy, stable erroring: negative, the canary is better.
load 1m
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="200"} 0+900x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="st4b1e",status="500"} 0+100x10
	http_requests_total{namespace="prod",app="payments-api",slogate_io_revision="c4n4ry",status="200"} 0+100x10

eval instant at 10m $QUERY
	{} -10
`, map[string]string{"QUERY": b.query}))
}
