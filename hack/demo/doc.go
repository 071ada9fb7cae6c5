// Command demo is `make demo`: slogate at work on one machine, in a few minutes, with no Docker and
// no cluster.
//
// It starts the e2e environment (package e2e/cluster: etcd, kube-apiserver, controller-manager,
// scheduler, kwok; package e2e/prom: a real Prometheus; package e2e/dataplane: demo-app processes and
// a traffic driver that follows the HTTPRoute's live weights), runs slogate's webhook and analyzer
// as local processes registered with the API server (package e2e/slogate), and tells a story with
// the real kubectl:
//
//  1. label namespace demo slogate.io/canary=enabled; apply v1 of Deployment payments-api, the
//     seed's Services and HTTPRoute (weights 100/0), and a RolloutPolicy with a short schedule;
//  2. apply v2 (a new image): the webhook holds it, the analyzer releases it 5 % → 25 % → 50 % →
//     100 % with SLO analysis between the steps, and promotes it;
//  3. apply v3 (DEMO_ERROR_RATE=0.2: one request in five fails): the success-rate check fails at
//     5 % and the release is rolled back, traffic first.
//
// While a release runs it shows the live view of package cli (the one `kubectl slogate status
// --watch` draws) and what the traffic driver sends, redrawn on a terminal and as change lines on
// a pipe. At the end it prints a summary and how to point kubectl at the demo cluster, and keeps
// everything running until Ctrl-C (or exits at once with --exit), then stops every process it
// started and removes its run directory.
//
// The manifests it applies are beside this file: payments-api-v{1,2,3}.yaml, services.yaml and
// policy.yaml, whose [[ ... ]] values (pause, analysis interval and window, minimum requests) the
// demo fills in: --fast shortens them for e2e/demo's test. The analysis templates of the policy are
// slogate's built-in ones with a shorter interval and window; the built-ins are installed too.
//
// Choices:
//   - The story must end the same way every run: v2 Succeeded, v3 RolledBack. Anything else (a
//     timeout, another phase) is reported with the run's log directory, the directory is kept, and
//     the exit status is 1.
//   - The traffic driver sends 100 requests per second on the route, so that 5 % of it gives the
//     analysis enough requests within seconds; Prometheus scrapes every second.
//   - Prometheus also scrapes slogate's own metrics (targets labelled component=analyzer and
//     component=webhook), so the queries of manifests/dashboards/slogate.json can be tried on it.
//
// It is not a benchmark (hack/bench) and not a test: e2e/demo runs it and checks what it prints.
package main
