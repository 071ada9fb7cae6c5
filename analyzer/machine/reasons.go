package machine

// Reasons of Release.status.reason and of events. They are part of what users and the command line
// see; keep them stable.
const (
	ReasonStarted   = "Started"
	ReasonRestarted = "Restarted"
	ReasonRetried   = "Retried"

	ReasonWaitingForRelease = "WaitingForPreviousRelease"
	ReasonServiceNotFound   = "ServiceNotFound"
	ReasonRouteNotFound     = "RouteNotFound"
	ReasonStableNotFound    = "StableReplicaSetNotFound"
	ReasonCanaryNameTaken   = "CanaryNameTaken"
	ReasonReplacingCanary   = "ReplacingCanary"
	ReasonCanaryCreated     = "CanaryCreated"
	ReasonCanaryScaled      = "CanaryScaled"
	ReasonServicePinned     = "ServicePinned"
	ReasonWaitingForCanary  = "WaitingForCanary"
	ReasonCanaryNotReady    = "CanaryNotReady"
	ReasonCanaryLost        = "CanaryLost"
	ReasonCanaryRefused     = "CanaryRefused"
	ReasonCanaryWriteFailed = "CanaryWriteFailed"
	ReasonTrafficChanged    = "TrafficChanged"

	ReasonWeightSet       = "WeightSet"
	ReasonPausing         = "Pausing"
	ReasonManualPause     = "ManualPause"
	ReasonPauseEnded      = "PauseEnded"
	ReasonAnalyzing       = "Analyzing"
	ReasonAnalysisPassed  = "AnalysisPassed"
	ReasonAnalysisFailed  = "AnalysisFailed"
	ReasonAnalysisError   = "AnalysisError"
	ReasonAnalysisTimeout = "AnalysisTimeout"

	ReasonPromoting        = "Promoting"
	ReasonRollingOut       = "RollingOut"
	ReasonPromotionStalled = "PromotionStalled"
	ReasonPromoted         = "Promoted"

	ReasonAbortedByUser     = "AbortedByUser"
	ReasonStableReapplied   = "StableReapplied"
	ReasonSuperseded        = "Superseded"
	ReasonDeploymentDeleted = "DeploymentDeleted"
	ReasonReleaseDeleted    = "ReleaseDeleted"

	ReasonTrafficRestored = "TrafficRestored"
	ReasonCanaryDeleted   = "CanaryDeleted"
	ReasonCleaningUp      = "CleaningUp"
	ReasonCompleted       = "Completed"

	ReasonActionTaken    = "ActionTaken"
	ReasonActionRejected = "ActionRejected"
)

// PromotionReasons are the reasons a release ends Succeeded with.
var PromotionReasons = []string{ReasonPromoted}

// RollbackReasons are the reasons a release ends RolledBack or Aborted with (traffic back to stable).
var RollbackReasons = []string{
	// Aborted.
	ReasonDeploymentDeleted, ReasonReleaseDeleted, ReasonStableReapplied, ReasonSuperseded,
	// RolledBack.
	ReasonAbortedByUser, ReasonServiceNotFound, ReasonRouteNotFound, ReasonStableNotFound, ReasonCanaryNameTaken,
	ReasonCanaryNotReady, ReasonCanaryRefused, ReasonCanaryLost, ReasonTrafficChanged,
	ReasonAnalysisFailed, ReasonAnalysisTimeout,
}
