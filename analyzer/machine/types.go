package machine

import (
	"time"

	"github.com/slogate/slogate/analyzer/gate"
	"github.com/slogate/slogate/analyzer/traffic"
)

// Observations are what the reconciler saw of the world for one release.
type Observations struct {
	// Now is the clock.
	Now time.Time
	// Deployment is the user's Deployment.
	Deployment Deployment
	// Canary is the canary Deployment <name>-canary.
	Canary Canary
	// Services are the stable and canary Services of the release.
	Services Services
	// Routes are the release's HTTPRoutes (Release.spec.httpRoutes), read from the API server
	// itself, not a cache, so that a weight just written is seen.
	Routes []Route
	// Blocked names another live release of the same Deployment that must end before this one
	// creates its canary (a superseded release still restoring traffic).
	Blocked string
	// ReleaseDeleting is true when the Release has a deletion timestamp.
	ReleaseDeleting bool
	// Timeouts of the release's policy.
	Timeouts Timeouts
	// Gate is the answer of the SLO gate; set only after Next asked for it (Result.NeedAnalysis).
	Gate *GateAnswer
	// CanaryWrite is set when creating or scaling the canary Deployment failed just now; the
	// reconciler then calls Next again with it.
	CanaryWrite *CanaryWrite
}

// CanaryWrite is a failed write of the canary Deployment.
type CanaryWrite struct {
	// Refused is true when the API refused the object itself (Forbidden or Invalid: admission,
	// Pod Security, a ValidatingAdmissionPolicy, a webhook's denial, validation): writing it again
	// will not help.
	Refused bool
	// Message is the API's answer.
	Message string
}

// Timeouts are the deadlines of the release's policy.
type Timeouts struct {
	// CanaryReady bounds the wait for ready canary pods before a weight moves up.
	CanaryReady time.Duration
	// Analysis bounds one analysis step without a verdict.
	Analysis time.Duration
	// Promotion bounds the roll of the Deployment after promotion.
	Promotion time.Duration
}

// Deployment is what the machine needs of the user's Deployment.
type Deployment struct {
	// Exists is false when the Deployment is gone or being deleted.
	Exists     bool
	Generation int64
	Paused     bool
	// Revision is the slogate revision of the pod template.
	Revision string
	// Stable, Canary and Failed are the revision annotations; Action the action annotation.
	Stable, Canary, Failed, Action string
	// Replicas is spec.replicas (1 when unset).
	Replicas int32
	// ObservedGeneration and the replica counts are the Deployment's status.
	ObservedGeneration int64
	StatusReplicas     int32
	UpdatedReplicas    int32
	AvailableReplicas  int32
	// StableHash is the pod-template-hash of the Deployment's ReplicaSet of the release's stable
	// revision; CanaryHash of its ReplicaSet of the canary revision (there once it rolls). Empty when
	// there is no such ReplicaSet.
	StableHash string
	CanaryHash string
	// StableReady is how many pods of the stable ReplicaSet are ready.
	StableReady int32
}

// Canary is what the machine needs of the canary Deployment.
type Canary struct {
	Exists bool
	// Managed is true when it carries slogate's role and managed-by labels; a Deployment of that
	// name the user made is never touched.
	Managed bool
	// Release names the Release that owns it.
	Release string
	// Revision is the slogate revision of its pod template.
	Revision string
	// Replicas is spec.replicas.
	Replicas int32
	// Ready is how many of its pods run the current template and are ready (0 while its status
	// lags its spec).
	Ready int32
	// Deleting is true when it has a deletion timestamp.
	Deleting bool
	// PodsRefused is the message of its ReplicaFailure condition (reason FailedCreate) while the
	// ReplicaSet controller cannot create its pods; empty otherwise.
	PodsRefused string
}

// Services is what the machine needs of the two Services.
type Services struct {
	StableExists, CanaryExists bool
	// StablePin and CanaryPin are the pins found on the Services (zero when none).
	StablePin, CanaryPin Pin
}

// Pin is one selector entry the analyzer adds to a Service.
type Pin struct {
	Key, Value string
}

// IsZero reports whether there is no pin.
func (p Pin) IsZero() bool { return p.Key == "" }

// Route is one HTTPRoute of the release.
type Route struct {
	Name   string
	Exists bool
	traffic.Observed
}

// GateAnswer is what the gate answered.
type GateAnswer struct {
	Result gate.Result
	Err    error
}

// Result is the machine's decision.
type Result struct {
	// Status is the new status of the release; it is written where Actions has a WriteStatus.
	Status ReleaseStatus
	// Actions, in the order they must be applied. The reconciler stops at the first that fails.
	Actions []Action
	// RequeueAfter asks to look again after this long (0: only when something changes).
	RequeueAfter time.Duration
	// NeedAnalysis asks the reconciler to call the gate and call Next again with Observations.Gate.
	NeedAnalysis bool
}
