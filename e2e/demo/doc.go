// Package demo holds the end-to-end tests of `make demo` (hack/demo): they build the demo program,
// run it with a short schedule (--fast) as a newcomer would run it, and check what it prints and
// what it leaves behind.
//
//   - TestDemo runs it with --exit: v2 must be promoted and v3 rolled back, the summary and the
//     KUBECONFIG line must be printed, and nothing may be left running or on disk.
//   - TestDemoLookAround runs it without --exit and, while it keeps running, does what the summary
//     suggests: kubectl slogate list -A against the printed KUBECONFIG; it scrapes the running
//     analyzer's and webhook's /metrics and runs `promtool check metrics` on them; it runs every
//     query of the Grafana dashboard (manifests/dashboards/slogate.json) and of docs/metrics.md
//     against the demo's Prometheus, which scrapes slogate too; it runs the Argo CD health checks of
//     docs/gitops.md on the live Releases and Deployment; then it interrupts the demo (Ctrl-C) and
//     checks that everything is gone.
//
// The demo starts its own control plane (e2e/cluster), so this package starts none in TestMain. It
// needs what `make demo` builds: the control plane (`make e2e-tools`), slogate's binaries and
// demo-app (`make build`), kubectl and prometheus/promtool (`make prometheus`); the tests fail, not
// skip, when one is missing, saying which make target provides it.
//
// Not for: the release engine's or the webhook's behaviour in detail (e2e/scenarios, e2e/webhook).
package demo
