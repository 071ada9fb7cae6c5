// Package cli holds the end-to-end tests of kubectl-slogate: the built plugin (bin/kubectl-slogate,
// `make build`) runs against a local control plane (e2e/cluster, `make e2e-tools`) the way kubectl runs
// it, once directly with --kubeconfig and once as `kubectl slogate` found on PATH, for every command and
// every error case.
//
// Releases are the analyzer's to write; here the tests write them (and the Deployment annotations that
// go with them) directly with the client, so that each command meets the exact phase it is tested in.
// preview needs the admission webhook, which runs as a local process registered with the API server.
//
// Not for: the release engine itself (e2e/scenarios) or the webhook's decisions (e2e/webhook).
package cli
