// Package analysis is slogate's SLO gate. It implements gate.Gate (the analysis steps of a
// release, judged against Prometheus) and ValidateTemplateSpec (the admission check of
// AnalysisTemplate and ClusterAnalysisTemplate specs). It is not the release state machine: it
// neither moves traffic nor writes the Release; the release engine applies its Result.
//
// # Templates and variables
//
// A step names templates: an AnalysisTemplate in the Release's namespace, or a
// ClusterAnalysisTemplate with clusterScope. A step naming the same template name twice is an
// error. Templates are read through the client.Reader given to New and validated again before use.
// Arguments: the step's args override the template's by name; an argument left without a value,
// a step argument without a value, and a step argument no template of the step declares are
// errors. Queries (provider.prometheus.query, minRequests.query) and, as in Argo Rollouts, the two
// conditions are Go text/templates with missingkey=error over .Namespace, .App (the Deployment),
// .Revision (canary), .StableRevision, .Window (the metric's window, default its interval, as a
// PromQL duration such as 2m) and .Args.<name>. Conditions are expr-lang expressions over
// `result`, a []float64 whose result[0] is the value; a condition must yield a bool. Compiled
// programs are cached by expression text (bounded), parsed templates by template text.
//
// Any error before measuring (template missing or invalid, an argument without a value, a query
// that does not render, a condition that does not compile once rendered, no Prometheus address)
// is returned as the error of Analyze: the step cannot be judged, nothing is measured, and the
// release engine holds the weight and rolls back at the step's deadline.
//
// # Measurements
//
// Each metric is measured when due: first at StepStartedAt + initialDelay, then every interval
// (default 1m) after LastMeasuredAt. Due means that the time the metric's queries would be
// evaluated at (the time their value refers to) is at or after that time, not merely the time of
// the call: a value from before the step began is not a measurement of the step, whichever
// release's call obtained it (see grouped queries below). A measurement's Time and the metric's
// LastMeasuredAt are that evaluation time. Note that a query's window may still reach back before
// the step (a 5m window evaluated 1 s into the step is mostly the previous weight's traffic): to
// judge only the step's own traffic, set initialDelay to at least the window. Metrics that
// already passed keep being measured while the step runs, so a metric that degrades while another
// is still pending is seen. One measurement:
//
//   - the minRequests query first, if any: a value below minRequests.count is Inconclusive (the
//     metric's query is not sent); any Error of this query is Error, never Inconclusive. Write
//     request-count queries with `or vector(0)` so that a canary with no series at all reads 0
//     requests (Inconclusive) rather than an empty result (Error).
//   - the metric's query: Error for a query error, a timeout (the template's or 10s; Prometheus is
//     sent the time left as its own timeout), an unreachable Prometheus, an empty vector, NaN, ±Inf,
//     a result that is neither a scalar nor a vector, or a vector with more than one sample (the
//     message lists them).
//   - Failed when failureCondition holds or successCondition does not; a condition that fails to
//     evaluate is Error; otherwise Successful. Conditions judge the value as recorded (at most 10
//     significant digits and 9 decimals), so float noise (98.99999999999999 for an exact 99 %)
//     neither fails `result[0] >= 99` nor contradicts the message.
//
// A measurement records the query as sent (the minRequests query when that one decided), the
// value, verdict, message (naming template/metric, value and condition), evaluation time, weight
// and step.
// The engine appends them with AppendMeasurements, which keeps at most v1alpha1.MaxMeasurements:
// it drops the oldest Successful measurements first, then the oldest other ones, and keeps the
// latest measurement of each metric at each step (the one that passed, failed or errored out the
// step) until nothing else is left to drop.
//
// # Outcome
//
// Per metric, counters as in Argo Rollouts: Failed once failed > failureLimit (default 0),
// inconclusive > inconclusiveLimit (default 3) or consecutive errors > consecutiveErrorLimit
// (default 4; any non-Error measurement resets the run). A metric passes while it has count
// (default 1) Successful measurements and its latest measurement is Successful; the metric's
// MetricStatus.Phase carries that (Successful, Failed, or empty). The step is Failed when any
// metric failed, Successful when every metric of every template passes at once, and Running
// otherwise, with RequeueAfter the time until the next metric is due (at least 1s). Once Failed
// or Successful, further calls return the same outcome and measure nothing. Only a measured
// success leads to Successful: Error and Inconclusive hold the weight until a limit, or the
// step's deadline kept by the release engine, rolls the release back.
//
// # Prometheus and scale
//
// Queries go through the small Querier interface; PrometheusClients keeps one client_golang
// api/prometheus/v1 client per address (the template's address, else the default given to New).
// A query template that renders the same text for every release (it names none of .Namespace,
// .App, .Revision, .StableRevision; this is detected by rendering it for two different releases,
// so there is no API field to opt in) is a grouped query: it is evaluated only at interval
// boundaries (the clock truncated to the metric's interval) and sent once per (address, query,
// boundary) for every release that uses it, with one flight for concurrent callers and the error
// shared too (a Prometheus that is down costs one timeout per interval, not one per release). A
// metric with a grouped query evaluates all its queries at the boundary. A release is measured on
// a boundary's answer only if the boundary is at or after its due time (StepStartedAt +
// initialDelay at first); a release whose step began after the last boundary is not due yet and
// is requeued to the next one. Cost: at most one query per grouped query text, address and
// interval, whatever the number of releases (none in an interval where no release is due), and
// never an extra query for a step that starts late. Price: a step's first measurement waits for
// the first boundary at or after its due time, up to one interval longer than a per-release query
// would (up to a minute per analysis step at the seed's 1m interval), and later measurements fall
// on boundaries one interval apart. The alternative, a fresh evaluation at the call's time for a
// step that began after the last one, shared with later callers, was not chosen: releases whose
// steps start at different moments would each force one, up to one query per release per interval,
// the cost the grouped path exists to avoid. Each release takes from the result the sample whose
// slogate_io_revision (and namespace and app, where present) are its own: write such a query as
// `sum by (namespace, app, slogate_io_revision) (...)`. No sample for the release is Error (in a
// minRequests query: zero requests, so Inconclusive). A result without slogate_io_revision labels
// (fixed selectors, like the seed's queries) is one number for all and must have one sample. The
// built-in templates select the release in the query (per-release queries, one per release per
// interval); a grouped variant of them, and turning per-release queries into grouped ones
// automatically (which needs a PromQL parser), are left for later.
//
// slogate's own metrics, on controller-runtime's registry: slogate_analysis_query_duration_seconds
// (histogram, label result=ok|error) and slogate_analysis_measurements_total (label verdict).
//
// # Built-in templates
//
// manifests/base/templates ships ClusterAnalysisTemplates that select the canary by
// slogate_io_revision="{{ .Revision }}" and the app by namespace and app="{{ .App }}" (pods labelled
// app: <Deployment name>, as in the seed; Prometheus's usual relabelling of namespace and pod
// labels): canary-success-rate (arg threshold, default 99, percent of non-5xx responses),
// canary-latency-p95 (arg thresholdMs, default 350, the seed's SLO) and canary-vs-stable (arg
// margin, default 1: canary error ratio minus stable error ratio, in percentage points; the stable
// side selects slogate_io_revision!="{{ .Revision }}" so that pods older than the namespace's
// opt-in, which lack the label, count as stable). Each: interval 1m, window 2m, count 2,
// failureLimit 1, and minRequests 100 (below 100 requests one error already exceeds 1 %;
// minRequests.count is a number, not a template, so it is not an argument). The success-rate
// queries count errors with `or vector(0)` so that a canary failing every request reads 0 %, not
// an empty result. test/promql proves these queries with Prometheus's own engine.
package analysis
