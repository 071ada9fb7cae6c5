// Package webhook is slogate's admission webhook: it turns a pod-template change of a Deployment in
// an opted-in namespace into a held canary release, guards the objects slogate manages, and
// validates slogate's policies and templates.
//
// The decisions are pure functions of the request's objects (MutateDeployment, ValidateDeployment,
// ValidateManagedChange, MutateService, MutateRoute, ValidateRolloutPolicySpec); the admission
// handlers around them only decode, call, and turn the result into a JSON patch of exactly the
// fields the decision changed (never a re-encoded object, so fields this binary does not know are
// never touched). The webhook holds no state and never writes to the API (sideEffects: None), so
// a server-side dry run is safe. It recognises the analyzer by its username only.
//
// It is not the release engine (package analyzer runs releases), and it does not select
// namespaces: the webhook configurations in manifests/base/webhook do (slogate.io/canary=enabled,
// never kube-system or slogate-system, never objects labelled app.kubernetes.io/managed-by:
// slogate on the Deployment hooks).
//
// # Deployments (mutating)
//
// Revisions are revision.Of of the pod template (slogate's own labels and annotations left out).
// The stable revision of a stored Deployment is its slogate.io/stable-revision annotation while a
// release is live or the Deployment is held on a failed revision, and else the revision of its
// template, also when the template lacks the slogate.io/revision label (a Deployment that existed
// before its namespace opted in). A release is live while slogate.io/canary-revision is set and
// differs from slogate.io/failed-revision.
//
//   - CREATE: the template gets slogate.io/revision. No release: nothing stable to compare with.
//     Release annotations on a new object (a manifest exported from a cluster) are removed, with a
//     warning.
//   - UPDATE that keeps the template's revision (scale, metadata, an HPA, the Deployment
//     controller's own writes): nothing is held. The template's revision label is kept as stored,
//     so the template stays byte-for-byte the same and nothing rolls out.
//   - UPDATE to a new revision of a settled Deployment: spec.paused is set, the template gets the new
//     revision label, stable-revision and canary-revision are recorded, and a warning says a canary
//     release started and how to follow it. The Deployment controller keeps the old ReplicaSet
//     serving.
//   - The stable template re-applied while a release is live (or while held on a failed
//     revision): the release ends at once: unpaused, stable-revision and canary-revision removed.
//   - A template whose revision is recorded in slogate.io/failed-revision: held (paused) on the
//     recorded stable revision, canary-revision removed, nothing starts, a warning points to
//     `kubectl slogate retry`.
//   - A newer template while a release is live: canary-revision moves to it; stable never changes.
//     This holds also during promotion (the Deployment was unpaused by the analyzer): the newest
//     template is held again and the analyzer restarts the steps.
//   - Release state belongs to the stored object: an update by anyone but the analyzer that drops
//     stable-revision, canary-revision or failed-revision (a re-apply of the user's manifest,
//     `kubectl replace`, a server-side apply that owns them) gets them back, and then also keeps
//     the stored spec.paused. One that brings its own values gets the stored ones. An update that
//     keeps them and sets spec.paused: false is an un-pause, which the validating webhook rejects.
//
// Choices where DESIGN.md is silent (each has a test):
//   - slogate.io/skip: "true" on the object of the request: the webhook changes nothing and the
//     validating webhook checks only the annotations' format: a plain Deployment, and the escape
//     hatch (set it, then un-pause or edit as you like; the analyzer ends a live release).
//   - replicas: 0 (in the request or stored): no canary, a plain update with a warning. There are
//     no pods to compare and no traffic to protect.
//   - No available replica of the stored template yet (status.availableReplicas 0, such as just
//     after creation or while every pod crash-loops): no canary, a plain update with a warning.
//     Holding would freeze a Deployment that serves nothing, often the very fix being applied.
//   - Mid native rollout (the Deployment controller has not observed the last change, or pods of an
//     older ReplicaSet remain, or fewer replicas than desired run the current template): no canary,
//     a plain update with a warning. A canary needs one settled stable revision to pin Services to
//     and to compare with; pinning an unfinished revision could send most traffic to pods that are
//     still starting or failing. The rollout in progress carries on as Kubernetes would do it.
//     A live release is not "mid native rollout": it always supersedes.
//   - A Deployment the user paused: a template change starts a release like any other.
//   - After a rollback the Deployment is held on the failed revision; a new template starts a new
//     release from the recorded stable revision (no availability checks: the stable pods serve).
//   - failed-revision is the analyzer's: the webhook never sets or removes it (only restores a
//     dropped one), so re-applying a failed template later still starts nothing until a retry.
//
// # Deployments (validating)
//
// For everyone: slogate.io/skip is "true" or "false"; the revision annotations and the template's
// slogate.io/revision label are non-empty label values; slogate.io/action is promote,
// promote-full, abort or retry. Other slogate.io/* annotations only draw a warning (an older
// webhook must not block a newer analyzer). For everyone but the analyzer, on an update that is
// not skipped: spec.paused may not go from true to false while a release is live or the
// Deployment is held on its failed revision (the message names `kubectl slogate promote/abort` or
// `retry`), and a live release's canary-revision may not disappear unless the stable template
// is re-applied.
//
// # Objects slogate manages
//
// Objects labelled app.kubernetes.io/managed-by: slogate (the canary Deployment, and any Service
// the analyzer creates) may be created and changed (spec, labels, annotations) by the analyzer
// only. Kubernetes' bookkeeping passes: status, finalizers, owner references, and the Deployment
// controller's deployment.kubernetes.io/* annotations. Deletion always passes: the garbage
// collector and namespace deletion must never be blocked, and the analyzer recreates what it needs.
//
// # Services and HTTPRoutes
//
// The analyzer records its pins and weights in annotations (see slogatev1alpha1.StablePinAnnotation and
// slogatev1alpha1.RouteWeightsAnnotation for the formats). On an update that is not the analyzer's, the
// webhook keeps the annotation (for a route also slogate.io/added-backends, which says which canary
// backendRefs the analyzer added and must remove at the end), the pinned selector entries, and on
// every rule that names the
// stable Service the two weights and the canary backendRef (copied from the stored route, else
// made like the stable one); everything else in the update goes through, with a warning when
// something was kept. A pin or weights value a request introduces must be well formed; a stored
// value slogate cannot read is not kept.
//
// # Policies and templates
//
// RolloutPolicy and ClusterRolloutPolicy specs are checked by ValidateRolloutPolicySpec,
// AnalysisTemplate and ClusterAnalysisTemplate specs by analysis.ValidateTemplateSpec; errors name
// the field path.
package webhook
