// Package policy decides which RolloutPolicy a Deployment is released under and fills in the
// defaults. It is pure: the caller lists the policies; nothing here talks to the API server.
//
// Resolution, as the RolloutPolicy type documents: the RolloutPolicies of the Deployment's
// namespace whose selector matches the Deployment's labels, highest priority first (ties: oldest,
// then first by name); if none matches, the ClusterRolloutPolicies the same way; if none matches
// either, the built-in default: the seed's schedule (5 %, pause 180 s, analysis, 25 %, pause 300 s,
// analysis, 50 %, pause 300 s, 100 %) with the ClusterAnalysisTemplates canary-success-rate and
// canary-latency-p95 that slogate installs.
//
// Choices where DESIGN.md is silent:
//   - The selector matches the Deployment's own labels (metadata.labels), as a Service or a
//     PodDisruptionBudget selector matches its objects' labels; a nil selector matches everything,
//     a selector that does not parse matches nothing (the admission webhook refuses such policies).
//   - A policy with no steps gets the default steps; empty Service names and timeouts get their
//     defaults (<deployment>-stable, <deployment>-canary, 10m, 15m, 10m).
//   - Timeouts are not copied into the Release: the release engine looks the policy up by the name
//     recorded in Release.spec.policy each time it needs them, so fixing a too short timeout helps a
//     running release; if that policy is gone, the defaults apply.
//
// It is not where steps are run (package machine) or validated (the webhook).
package policy
