// Package machine is the release state machine: a pure function Next(release, observations) that
// returns the release's new status and the actions that bring the world in line, in the order they
// must be applied. It makes no client calls and reads no clock; package analyzer observes the API,
// calls Next and applies the actions. Select picks which release of a Deployment to run.
//
// State is the Release status (phase, step, weight, measurements, conditions) and the Deployment's
// annotations; everything else is observed again on every call, so a restart at any point resumes.
// Each call takes at most one transition; setup actions (canary, pins, route preparation) are
// idempotent and repeated until what is observed matches.
//
// Order of writes, where DESIGN.md asks for one:
//   - Traffic first: every end of a release (rollback, abort, supersede, stable re-applied, deleted)
//     writes the route weights (one write per route) before anything else, then records the phase.
//     A weight observed lower than the release recorded therefore means an interrupted rollback
//     (or someone else's edit) and rolls back; a higher one is put back.
//   - Widening a weight writes the route, then the status; a weight written but not recorded is
//     recorded on the next call.
//   - promote and promote-full remove the request before recording the skipped step (a crash
//     loses the request rather than skipping twice); abort records the rollback first.
//   - A retry makes the Release live again before the Deployment names the revision as its canary.
//   - Cleanup: traffic, then the canary (deleted in the foreground, waited for), then the route's
//     added backends and annotations and the Service pins, then the Deployment's annotations, then
//     Completed and the finalizer.
//
// Choices where DESIGN.md is silent:
//   - Every widening waits for the canary to have ceil(stable*weight/100) ready pods (at least 1),
//     bounded by the policy's canaryReadyTimeout from the step's start; past it the release rolls
//     back. A narrowing writes the route first and shrinks the canary after.
//   - A write of the canary Deployment that the API refuses (Forbidden or Invalid: Pod Security,
//     a ValidatingAdmissionPolicy, a webhook's denial, validation) rolls the release back at once
//     (CanaryRefused, with the API's message in the status and a Warning event); writing it again
//     would be refused again. Any other failed write is tried again, bounded by canaryReadyTimeout
//     from the step's start (CanaryWriteFailed, then CanaryNotReady). Canary pods that the
//     ReplicaSet controller cannot create (the canary's ReplicaFailure condition, reason
//     FailedCreate, which also covers quota and unreachable webhooks, and which that controller
//     retries) hold the weight with the API's message (CanaryRefused) and roll back with it past
//     canaryReadyTimeout.
//   - A missing Service, route, or stable ReplicaSet (or one without a ready pod, which a pin would
//     leave without endpoints) holds the release and rolls it back after canaryReadyTimeout from
//     the release's start. A Deployment of the canary's name that slogate
//     did not make is never touched.
//   - promote passes a pause (manual or timed) or an analysis; it does not skip the wait for ready
//     canary pods. promote-full skips every remaining step; promotion still waits for a full-size
//     ready canary before 100 %.
//   - abort is refused once the Deployment rolls to the new revision (the old ReplicaSet is being
//     scaled down); re-applying the stable template ends such a release, after unpinning the stable
//     Service so that it selects every pod of the Deployment before it takes the traffic back.
//   - Past promotionTimeout the release reports PromotionStalled (Warning event) and keeps traffic
//     on the new revision, which serves; it neither widens nor rolls back on a guess.
//   - An analysis that the gate cannot judge (error) or that has no verdict yet holds the weight;
//     past analysisTimeout from the step's start it rolls back (AnalysisTimeout).
//   - A Release whose revision is held again by a newer apply (the Deployment's generation moved)
//     starts again from step 0; one seen again through a stale cache (same generation) does not.
package machine
