package v1alpha1

// The wire contract between the webhook, the analyzer, the command line and the user: every label
// and annotation slogate reads or writes. See DESIGN.md, "Labels and annotations".
const (
	// Prefix is the prefix of every slogate label and annotation.
	Prefix = "slogate.io/"

	// NamespaceOptInLabel on a Namespace, with value NamespaceOptInValue, opts it in.
	NamespaceOptInLabel = "slogate.io/canary"
	// NamespaceOptInValue is the value of NamespaceOptInLabel that opts a namespace in.
	NamespaceOptInValue = "enabled"

	// SkipAnnotation set to "true" on a Deployment turns canary releases off for it.
	SkipAnnotation = "slogate.io/skip"

	// RevisionLabel is the pod-template label holding the revision hash of the template.
	RevisionLabel = "slogate.io/revision"
	// RevisionPromLabel is RevisionLabel as Prometheus sees it after the labelmap relabelling.
	RevisionPromLabel = "slogate_io_revision"

	// RoleLabel marks objects the analyzer creates; its value is RoleCanary.
	RoleLabel = "slogate.io/role"
	// RoleCanary is the value of RoleLabel on canary objects.
	RoleCanary = "canary"

	// ManagedByLabel with value ManagedByValue marks objects slogate manages.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel on slogate's objects.
	ManagedByValue = "slogate"

	// StableRevisionAnnotation on a held Deployment names the revision that keeps serving. The
	// webhook sets it when a release starts and removes it when the stable template is re-applied;
	// it stays set while the Deployment is held on a failed revision (after a rollback).
	StableRevisionAnnotation = "slogate.io/stable-revision"
	// CanaryRevisionAnnotation on a held Deployment names the revision under test. A release is live
	// while it is set and differs from FailedRevisionAnnotation. The webhook sets it (hold,
	// supersede) and removes it (stable re-applied, failed revision re-applied); the analyzer
	// removes it when a release ends (promoted, rolled back).
	CanaryRevisionAnnotation = "slogate.io/canary-revision"
	// FailedRevisionAnnotation on a Deployment names the revision that was rolled back. Only the
	// analyzer writes or removes it; the webhook keeps it when an update drops it.
	FailedRevisionAnnotation = "slogate.io/failed-revision"

	// ActionAnnotation on a Deployment asks the analyzer for an action on the live release:
	// one of ActionPromote, ActionPromoteFull, ActionAbort, ActionRetry. The analyzer removes it
	// once the action is taken.
	ActionAnnotation = "slogate.io/action"
	// ActionPromote passes a manual pause (or the current analysis) and goes on with the next step.
	ActionPromote = "promote"
	// ActionPromoteFull skips every remaining step and promotes.
	ActionPromoteFull = "promote-full"
	// ActionAbort rolls the release back now.
	ActionAbort = "abort"
	// ActionRetry starts a new release of the failed revision.
	ActionRetry = "retry"

	// StablePinAnnotation on a Service records the selector key the analyzer pinned, so that the pin
	// can be kept when the user re-applies the Service and removed at the end.
	//
	// Format: the pinned selector keys, comma-separated, no spaces, each a valid label key, such as
	// "pod-template-hash" or "pod-template-hash,slogate.io/revision". The values are the Service's
	// own spec.selector entries for those keys. While the annotation is on a Service, the mutating
	// webhook copies it and those selector entries from the stored object into every update that is
	// not the analyzer's, so a user's or GitOps re-apply keeps the pin. Only the analyzer's
	// ServiceAccount can change or remove a pin: it removes the annotation and the keys together.
	StablePinAnnotation = "slogate.io/pinned"

	// RouteWeightsAnnotation on an HTTPRoute records the weights the analyzer set while a release is
	// live, so that they survive a user's or GitOps re-apply of the route.
	//
	// Format: "<stableService>=<weight>,<canaryService>=<weight>", stable first, integer weights
	// 0..100 that add up to 100, such as "web-stable=95,web-canary=5". While the annotation is on a
	// route, the mutating webhook keeps, in every update that is not the analyzer's, the annotation,
	// those weights on every rule that names the stable Service, and the canary backendRef of such a
	// rule (copied from the stored route, or added next to the stable one). Everything else in the
	// update goes through. The analyzer removes the annotation when the release ends.
	RouteWeightsAnnotation = "slogate.io/weights"

	// RouteAddedBackendsAnnotation on an HTTPRoute lists the rules the analyzer added the canary
	// backendRef to (rules that named only the stable Service), so that it removes exactly those
	// backendRefs, and gives the stable backendRef its weight back, when the release ends. Set and
	// removed by the analyzer together with RouteWeightsAnnotation.
	//
	// Format: comma-separated entries "<rule index>" or "<rule index>=<weight>", where weight is the
	// weight the stable backendRef of that rule had before the release (no weight: it had none), such
	// as "1=1,3".
	RouteAddedBackendsAnnotation = "slogate.io/added-backends"

	// CABundleSerialAnnotation on the self-managed serving Secret and on both webhook configurations
	// counts changes of the trusted CA bundle (package certs). A webhook replica holding an older view
	// of the Secret never overwrites a bundle with a higher serial.
	CABundleSerialAnnotation = "slogate.io/ca-bundle-serial"
	// CABundlePublishedAtAnnotation on the webhook configurations is when the current CA bundle was
	// written into them (RFC 3339); the new serving certificate waits until it is trusted.
	CABundlePublishedAtAnnotation = "slogate.io/ca-bundle-published-at"
	// ServingCertIssuedAtAnnotation on the self-managed serving Secret is when the certificate in it
	// was stored (RFC 3339); an old CA leaves the bundle only once every replica serves the new one.
	ServingCertIssuedAtAnnotation = "slogate.io/serving-cert-issued-at"
)
