// Package prom runs a real Prometheus (the Debian package's binary) for end-to-end tests and the
// demo, with a configuration generated for a data plane on loopback.
//
// The server listens on a free 127.0.0.1 port and keeps its configuration, target file, TSDB and
// log in one directory. It scrapes one job, "demo-app", every second (evaluation interval one
// second too) from a file_sd target file that SetTargets rewrites atomically (write, then rename),
// so targets come and go while it runs, as pods would under kubernetes_sd. Prometheus's scrape
// manager applies new target sets at most every 5 s, so a new target is scraped 1-6 s after
// SetTargets. Each Target carries the labels a Kubernetes service discovery with the usual
// relabelling gives a pod's series: `namespace`, `app`, `slogate_io_revision` (the labelmap of the
// pod label `slogate.io/revision`, absent on pods that lack the label, as on a real cluster) and
// `pod_template_hash`. Queries written against a real cluster therefore run unchanged here.
//
// Stop (SIGTERM) and Kill (SIGKILL) end the process and keep its directory; Restart starts it again
// on the same port with the same TSDB, so a test can take Prometheus away mid-release and bring it
// back at the address the analyzer was given (should another process take the port meanwhile,
// Restart fails rather than move). Close ends it for good and removes a directory Start
// created. The process runs in its own process group with a parent-death signal: it does not
// outlive the test binary.
//
// It is not a Prometheus operator or a kubernetes_sd emulation: the caller (e2e/dataplane) decides
// the targets and their labels.
package prom
