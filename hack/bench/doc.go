// Command bench is `make bench`: the numbers a platform team asks for before putting slogate in
// the path of every Deployment, measured on this machine and written to bench/RESULTS.md with the
// command and the machine behind each row. It prints the same table at the end.
//
// Sections, in order (--only picks some):
//
//   - admission: AdmissionReviews of a realistic 3-container Deployment (an image change that the
//     mutating hook holds, the held object on the validating hook, and the Deployment controller's
//     no-op annotation write on both) sent over TLS to bin/webhook at steady rates with vegeta as a
//     library: p50, p99 and max latency, errors (every answer is checked), and the CPU of the
//     server and of the load generator (from /proc/<pid>/stat), which share the cores.
//   - apply: `kubectl apply` of new Deployments into an opted-in and a plain namespace, alternating,
//     through the real API server: the median paired overhead, and the API server's own timing of
//     its webhook calls.
//   - rollback: releases whose canary fails (DEMO_ERROR_RATE in a new image), each in its own
//     namespace, with the real Prometheus, the data plane, bin/webhook and bin/analyzer: the time
//     from the canary taking traffic to the route back at 100 % stable, split into the data's share
//     and the analyzer's; healthy canaries that must be promoted; and what the seed's configuration
//     allows at best, computed (seed.go).
//   - scale: a thousand concurrent releases in one analyzer with an analysis step of grouped
//     (release-independent) templates: reconcile latency, peak RSS, CPU, API requests and
//     Prometheus queries per interval, and how long a release waits for a measurement that is due.
//
// Choices:
//   - One e2e environment (e2e/cluster, e2e/prom, e2e/dataplane, e2e/slogate) serves every section
//     but the admission load's server when --admission-server=child: then the handlers run on
//     controller-runtime's webhook server in a child process of this program (the hidden
//     serve-webhook sub-command), with no cluster.
//   - slogate's processes log at info level, as installed, not at the e2e harness's debug level.
//   - The starters of e2e/slogate do not expose their process ids; the bench finds them by the
//     flags it passed (pids.go).
//   - Latency percentiles of the admission load are exact (every request's latency sorted), not
//     vegeta's estimates; histogram quantiles (reconcile latency, webhook calls) are interpolated in
//     the buckets as histogram_quantile does.
//   - Nothing here asserts: a missed goal is reported with by how much and what bounds it, and the
//     exit status is non-zero only when a section could not finish.
//
// It is not a test: `make test` never runs it, and its numbers depend on what else runs on the
// machine (the load average at each section's start and end is recorded).
package main
