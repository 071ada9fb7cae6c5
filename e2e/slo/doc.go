// Package slo holds the end-to-end proofs of slogate's SLO gate (issue 5, "Must show"): the
// analysis verdicts of real releases, judged by the real Prometheus scraping real demo-app
// processes under traffic split by the HTTPRoute's live weights.
//
// TestMain starts one local control plane (e2e/cluster) with the webhook and the analyzer as local
// processes with their own ServiceAccounts, a Prometheus, and the e2e data plane (e2e/dataplane),
// which runs one demo-app per revision, points Prometheus at them and sends each route's traffic
// by its live weights. Users' changes go through the real kubectl. Each scenario has its own
// namespace, opted in with slogate.io/canary=enabled, holding the seed's two Services and
// HTTPRoute (route.yaml) and its own templates and policy (the YAML beside its test). Scenarios run
// in parallel.
//
// A canary fails because its pods behave badly (the demo-app's DEMO_ERROR_RATE and DEMO_LATENCY,
// taken from the pod template's env), because Prometheus is gone, or because no traffic reaches
// it; never because of a switch in slogate. Schedules are shortened through a RolloutPolicy and
// the templates' intervals and windows are seconds instead of minutes (slo.yaml); the analyzer
// runs as it ships.
//
// Choices:
//   - The scenarios that take Prometheus away (prometheus_down) and that run the seed's templates
//     (seed_templates) each get a Prometheus and a data plane of their own, serving only their
//     namespace: stopping a Prometheus must not touch the other scenarios, and the seed's queries
//     select app="payments-api" in every namespace, so a Prometheus shared with the other
//     scenarios would mix their canaries into the seed's numbers. Their templates name that
//     Prometheus in provider.prometheus.address; the others use the analyzer's
//     --prometheus-address.
//   - Values recorded in the Release are checked against what the demo-apps were told to do
//     (100 % or about 95 % success; a p95 of about 74 ms or about 398 ms on an idle machine, with
//     bounds wide enough for a busy one), and, for the healthy canary, by sending the recorded
//     query to Prometheus again at the recorded time.
//   - Templates ask for 100 canary requests per window (minRequests, as the built-in ones do) and
//     the data plane sends 200 requests per second per route: fewer requests let a canary answering
//     5 % errors pass, because a fresh canary's first error is not seen by rate() (a counter series
//     is counted from its second sample) and one request in twenty is an error.
//
// Not for: the release engine's own flows (e2e/scenarios) or the webhook's decisions
// (e2e/webhook).
package slo
