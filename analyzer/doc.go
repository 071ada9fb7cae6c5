// Package analyzer is slogate's release engine: a controller-runtime reconciler that runs each
// canary release from the hold the webhook put on a Deployment to promotion or rollback
// (DESIGN.md, flow steps 3 to 8). It only observes the API and applies decisions; what to do is
// decided by the pure state machine in package machine, HTTPRoute edits are in package traffic,
// policy resolution in package policy, and SLO analysis behind the gate.Gate interface
// (package gate; implemented by package analysis).
//
// Each reconcile is keyed by the user's Deployment. It reads the Deployment and the Release it
// drives from the API server itself rather than the cache (a decision taken on a stale Release could
// widen traffic on a canary that was already rolled back), and the routes likewise (weights are
// compared with what the Release recorded). Everything else comes from the cache; every write uses
// optimistic concurrency (resourceVersion preconditions), so a decision taken on a stale object
// fails with a conflict and is taken again.
//
// Choices where DESIGN.md is silent:
//   - A Release is owned by its Deployment (deleted with it) and carries a finalizer until it has
//     undone what it changed; the canary Deployment is controlled by its Release. Deleting a
//     Release mid-release aborts it (traffic back to stable) and, the Deployment still being held,
//     a new Release of the same revision starts.
//   - A Release that ended is run again for its revision (retry, or the revision held again by a
//     new apply) only while it still names the Deployment's stable and canary revisions. Once the
//     revision is held over another stable revision (rolled back, a newer revision promoted, then
//     applied again), the Release of that name (<deployment>-<revision>) is deleted and created
//     afresh in the same reconcile, with a new spec (policy, routes, stable revision) and an empty
//     status, and event ReleaseReplaced on the Deployment. Deleting rather than resetting in place
//     takes the same path as any new release (one way to resolve policy and routes, a new UID so no
//     stale owner reference or cached status can match) and keeps no measurement of the old release
//     in the new one; the old release's events stay.
//   - The canary Deployment is the user's pod template with slogate.io/role=canary and
//     slogate.io/revision=<canary> added to its labels and its selector (so it never adopts or
//     overlaps the user's ReplicaSets), the Deployment's labels plus role and managed-by labels,
//     and the user's strategy, minReadySeconds and progressDeadlineSeconds. It is deleted in the
//     foreground, so it is gone only once its pods are.
//   - Without a route named by the policy, the routes of a release are every HTTPRoute of the
//     namespace with a rule naming the stable Service, fixed when the release starts.
//   - Conflicts are requeued at once without an error log; other errors go to controller-runtime's
//     backoff, except a failed create or scale of the canary Deployment: the machine is called again
//     with it (machine.Observations.CanaryWrite) and decides (a refusal rolls back at once), so that
//     no backoff delays the release's canaryReadyTimeout.
//
// It is not where the webhook's decisions (package webhook) or the SLO checks (package analysis)
// live.
package analyzer
