// Command webhook serves slogate's admission webhooks (package webhook) over TLS: the mutating and
// validating hooks on Deployments, Services and HTTPRoutes in opted-in namespaces, the guard of the
// objects slogate manages, and the validation of policies and templates.
//
// It reads the serving certificate from --cert-dir and reloads it when the files change
// (--cert-mode=files); it exposes /healthz and /readyz (ready once the webhook server serves TLS)
// and Prometheus metrics, among them slogate_admission_decisions_total{kind,decision}; on SIGTERM
// it stops accepting connections and lets in-flight requests finish.
//
// It is not the analyzer: it never writes to the API and holds no state, which is why two
// replicas can serve side by side and a server-side dry run is safe.
package main
