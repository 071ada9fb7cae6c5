// Package webhook holds the end-to-end tests of slogate's admission webhook: a real control plane
// (package e2e/cluster), bin/webhook as a local process serving TLS, registered with the API server
// through the configurations of manifests/base/webhook, and the real kubectl. No analyzer runs
// here: where a test needs the analyzer's writes, it impersonates the analyzer's ServiceAccount.
//
// Each scenario is one file with its YAML beside it; each works in its own namespace of the one
// control plane TestMain starts.
package webhook
