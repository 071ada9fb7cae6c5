// Package dataplane is the data plane of slogate's end-to-end environment and of `make demo`: it
// stands in for the Gateway, the Services' endpoints and the application pods, which kwok only
// fakes (its pods run no process and their IPs are unreachable).
//
// A Driver watches Pods, Services and HTTPRoutes through the API and, in the namespaces it serves:
//
//   - resolves every HTTPRoute rule's backendRefs (weights as written, unset = 1) to the Services'
//     selectors and from there to ready pods, as a Gateway and the Services' endpoints would
//     (Resolve, a pure function of routes, Services and pods, gives the Plan);
//   - runs one demo-app process on 127.0.0.1 per group of ready pods: same namespace, `app` label,
//     `slogate.io/revision` label and `pod-template-hash` label. A revision served by two
//     ReplicaSets whose templates differ (say the canary Deployment's and, after promotion, the
//     user's) gets a process for each, as each has pods of its own; queries by revision add them up.
//     Pods without the revision label (a Deployment older than the namespace's opt-in) are grouped
//     by pod-template-hash alone. A group's behaviour comes from its pods' first container env:
//     DEMO_ERROR_RATE (a fraction, "0.05") and DEMO_LATENCY (a Go duration, "300ms"); a value that
//     does not parse keeps the group from being served (its requests fail) rather than let it pass
//     as healthy;
//   - gives Prometheus (e2e/prom) one target per process, labelled `namespace`, `app`,
//     `slogate_io_revision` (absent where the pods lack the label) and `pod_template_hash`, as
//     kubernetes_sd with the usual labelmap would;
//   - sends each route a steady rate of requests (Options.Rate, 50/s by default; SetRate per route),
//     shared evenly among its rules that have backends, then among the rule's backends by weight,
//     then among the groups behind the chosen Service by ready pods. An unpinned stable Service that
//     selects on `app` alone therefore also sends the canary its pods' share, as on a real cluster.
//     Picks use smooth weighted round-robin rather than random draws, so a 90/10 route gives
//     exactly 90/10 over any run of requests (give or take one) and tests need no tolerance for
//     sampling noise.
//   - answers for the gateway what a gateway answers itself: 500 when every backend of a rule
//     weighs 0 or the chosen backend is invalid (not a Service, Service missing, no selector,
//     ExternalName), 503 when the chosen Service has no ready pod. Those requests never reach a
//     demo-app, so Prometheus does not see them either.
//
// Stats records per route what was sent: by backend, by revision, by group and by answer code, so
// tests can assert the split; RouteStats.Since gives a window.
//
// Choices where DESIGN.md is silent: every route in a served namespace is served whatever its
// parentRefs say (there is no Gateway); a backendRef to another namespace is followed without
// asking for a ReferenceGrant, if that namespace is served too; a process runs for every group of
// ready pods in a served namespace, whether or not a route reaches it (a real pod runs and is
// scraped whether or not it gets traffic). Requests carry the first match's method, exact path,
// exact headers and exact query parameters (a regular-expression path is sent as "/").
//
// The demo-app binary: the driver takes its path (Options.DemoApp). `make build` puts it in
// bin/demo-app for `make demo`; this package's tests build it afresh into a temporary directory in
// TestMain with BuildDemoApp, so they never run a stale binary.
//
// Not for production traffic nor load tests: traffic goes to loopback only, at a few dozen
// requests per second per route.
package dataplane
