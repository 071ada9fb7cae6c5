// Command bench is `make bench`: the numbers a platform team asks for before putting slogate in
// the path of every Deployment, measured on this machine and written to bench/RESULTS.md with the
// command and the machine behind each row.
//
// Sections (--only picks some; each repeats and reports medians with their spread):
//
//   - admission: AdmissionReviews of a realistic 3-container Deployment sent over TLS to slogate's
//     admission handlers on controller-runtime's webhook server, in a process of its own, at steady
//     rates (vegeta as a library): p50, p99 and max latency, errors, the server's CPU (from
//     /proc/<pid>/stat). The load generator shares the cores and its CPU is reported too.
//
// Choices:
//   - The webhook server runs as a child process of this program (the hidden serve-webhook
//     sub-command) rather than bin/webhook, so that the measurement needs no cluster and no
//     certificate machinery: the handlers, the server and its TLS are the ones cmd/webhook uses.
//   - Latency percentiles are exact (every request's latency sorted), not vegeta's estimates.
//   - Nothing here asserts: a missed goal is reported with by how much and what bounds it, and
//     the exit status is non-zero only when a section could not finish.
//
// It is not a test: `make test` never runs it, and its numbers depend on what else runs on the
// machine (the load average at the start is recorded).
package main
