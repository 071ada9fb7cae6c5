// Command demo-app is the stand-in for an application pod in slogate's end-to-end environment and
// in `make demo`. One process serves the pods of one (namespace, app, revision) group; the traffic
// driver in e2e/dataplane starts it, sends it requests and points Prometheus at it.
//
// It serves every path except /metrics, /healthz and /livez as "the application", and exports on
// /metrics what a typical instrumented service exports, under the names the seed's SLO queries use:
//
//   - http_requests_total{method, status, code}: requests served; status and code both hold the
//     HTTP status code as a string ("200", "500"), so `status!~"5.."` (the seed) and `code=~"5.."`
//     (promhttp's convention) both work. The GET series of 200 and 500 are exported at 0 from the
//     start (Prometheus's instrumentation guidelines), so that rate() sees a canary's first error:
//     a counter series is counted from its second sample, and one born at its first increment
//     hides that increment. Other methods' series appear at their first request.
//   - http_request_duration_seconds{method, status}: a histogram with a bucket every 50 ms from
//     0.1 s to 0.5 s (finer below, coarser above), so a p95 near the seed's 350 ms threshold is
//     resolved to 50 ms.
//
// Behaviour comes from flags (the driver maps the pod's DEMO_ERROR_RATE and DEMO_LATENCY env to them):
//
//   - --error-rate: fraction of requests answered 500. Errors are spread evenly, not drawn at random:
//     of any n consecutive requests, n*rate are errors, rounded either way. A test therefore sees the
//     configured rate within one request instead of within sampling noise.
//   - --latency: delay added to every request (errors too). Each request waits
//     (base-latency + latency) * (1 + jitter*u), u uniform in [0, 1): the configured delay is a floor,
//     and the jitter spreads the histogram as a real service would. The wait is a time.Sleep in the
//     request's goroutine: it costs no CPU.
//   - --base-latency (default 50ms): the delay of a healthy request. It is not zero so that "300 ms
//     slower" lands clearly on one side of the seed's 350 ms threshold: a healthy revision shows a
//     p95 of about 74 ms, one with --latency=300ms about 398 ms (histogram_quantile interpolates
//     within a bucket, so Prometheus's p95 sits near the top of the bucket the delays fall in).
//
// Measured here: the p95 Prometheus computes with the seed's histogram_quantile(0.95, ... [5m]) for a
// revision at the default base latency, by --latency (DEMO_LATENCY): 0 -> 74 ms, 100ms -> 198 ms,
// 200ms -> 298 ms, 250ms -> 348 ms, 300ms -> 398 ms, 400ms -> 498 ms. Against the seed's
// `result[0] < 350`, 250ms is a near miss and 300ms a clear failure.
//
// It prints "listening on ADDR" as its first line on stdout once the socket is bound (so a parent can
// pass --listen=127.0.0.1:0 and learn the port), logs to stderr, and shuts down on SIGTERM or SIGINT.
//
// It is not a load generator nor a general fault injector: no per-path behaviour, no slow bodies.
package main
