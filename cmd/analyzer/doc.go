// Command analyzer is slogate's release engine: a leader-elected controller that runs every canary
// release the webhook holds (package analyzer), judging analysis steps with the SLO gate of package
// analysis against Prometheus. It runs as the analyzer container of the slogate pod, or as a local
// process in the end-to-end tests and the demo (--kubeconfig).
//
// Flags beyond controller-runtime's --kubeconfig and the zap logging flags: leader election (on by
// default; its id, namespace and timings), the metrics and health probe addresses, the default
// Prometheus address of templates that name none, and how many Deployments are reconciled at once.
package main
