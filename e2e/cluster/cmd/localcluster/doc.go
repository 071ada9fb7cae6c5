// Command localcluster starts the e2e control plane (with slogate's CRDs) and keeps it running until
// Ctrl-C, for poking at by hand: `make cluster`, then use the printed KUBECONFIG with kubectl.
package main
