// Package scenarios holds slogate's end-to-end release scenarios (issue 4, "Must show"): one local
// control plane for the package (TestMain), the webhook and the analyzer running as local processes
// with their own ServiceAccounts, a real Prometheus, and the e2e data plane sending traffic by the
// HTTPRoute's live weights to demo-app processes standing in for the pods. Users' changes go
// through the real kubectl. Each scenario has its own namespace, opted in with
// slogate.io/canary=enabled, and its YAML beside it.
//
// The analysis steps run the real SLO gate (package analysis) against that Prometheus, with
// AnalysisTemplates shaped like the built-in ones but with intervals and windows of seconds
// (scenario.yaml), so that a whole release takes about half a minute. A canary fails its analysis
// because its pods answer errors (the demo-app's DEMO_ERROR_RATE), never because of a switch in
// slogate.
//
// Every scenario also checks two invariants throughout, from an ordered record of the API's
// changes (resourceVersions of one etcd are totally ordered): no Deployment stays held without a
// Release that explains it, and no weight is ever on a canary that is gone.
package scenarios
