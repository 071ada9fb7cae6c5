// Command demo-app is the stand-in for an application pod in slogate's end-to-end environment and
// in `make demo`. One process serves the pods of one (namespace, app, revision) group; the traffic
// driver in e2e/dataplane starts it, sends it requests and points Prometheus at it.
//
// It serves every path except /metrics, /healthz and /livez as "the application", and exports on
// /metrics what a typical instrumented service exports, under the names the seed's SLO queries use:
//
//   - http_requests_total{method, status, code}: requests served; status and code both hold the
//     HTTP status code as a string ("200", "500"), so `status!~"5.."` (the seed) and `code=~"5.."`
//     (promhttp's convention) both work.
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
//     and the jitter spreads the histogram over a bucket or two as a real service would.
//     The wait is a time.Sleep in the request's goroutine: it costs no CPU.
//
// It prints "listening on ADDR" as its first line on stdout once the socket is bound (so a parent can
// pass --listen=127.0.0.1:0 and learn the port), logs to stderr, and shuts down on SIGTERM or SIGINT.
//
// It is not a load generator nor a general fault injector: no per-path behaviour, no slow bodies.
package main
