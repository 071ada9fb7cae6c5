// Package slogate runs slogate's own processes against a local control plane from package
// e2e/cluster, for the e2e tests, the demo and the benchmarks: StartWebhook runs bin/webhook as its
// ServiceAccount with a serving certificate made for the run and registers the webhook configurations
// of manifests/base/webhook (each Service reference replaced by the local URL and CA); StartAnalyzer
// installs the analyzer's namespace, ServiceAccount, RBAC and scope policy from manifests/base and runs
// bin/analyzer with a token of its ServiceAccount, so that every e2e release also exercises the RBAC a
// real install grants.
//
// It is not an installer for real clusters (that is manifests/), and it builds nothing: a missing
// binary is an error that says to run `make build`.
package slogate
