// Package cli holds the end-to-end tests of kubectl-slogate: the built plugin (bin/kubectl-slogate,
// `make build`) runs against a local control plane (e2e/cluster, `make e2e-tools`) the way kubectl runs
// it, once directly with --kubeconfig and once as `kubectl slogate` found on PATH, for every command and
// every error case.
//
// The admission webhook (bin/webhook) runs as a local process registered with the API server, as in a
// real install: the plugin's own write (the slogate.io/action annotation) must pass it, and preview
// reads its mutation. The analyzer does not run. Releases are its to write; here the tests write them
// (and the held Deployments that go with them) with a client that impersonates the analyzer's
// ServiceAccount, so that each command meets the exact phase it is tested in. preview's predictions
// are checked against what a real `kubectl apply` then does.
//
// Not for: the release engine itself (e2e/scenarios) or the webhook's decisions (e2e/webhook).
package cli
