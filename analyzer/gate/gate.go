package gate

import (
	"context"
	"time"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Outcome of an analysis step so far.
type Outcome string

const (
	// Running: no verdict yet (waiting for the next interval, too few measurements, or only Error
	// and Inconclusive within their limits). The weight holds.
	Running Outcome = "Running"
	// Successful: every metric of every template passed. The only outcome that lets a release go on.
	Successful Outcome = "Successful"
	// Failed: a metric exceeded a limit (failureLimit, inconclusiveLimit, consecutiveErrorLimit).
	// The release rolls back.
	Failed Outcome = "Failed"
)

// Request is one call to judge the analysis step Release.Status.StepIndex.
type Request struct {
	// Release as stored; Status.Metrics holds the counters of this step so far (empty at its start),
	// Status.StepStartedAt when it started, Status.CanaryWeight the weight under test.
	Release *slogatev1alpha1.Release
	// Step is the analysis step being run (Release.Spec.Steps[StepIndex].Analysis).
	Step *slogatev1alpha1.AnalysisStep
	// Now is the time of the call.
	Now time.Time
}

// Result of one call.
type Result struct {
	Outcome Outcome
	// Measurements taken in this call, to append to the Release status.
	Measurements []slogatev1alpha1.Measurement
	// Metrics are the counters of this step after this call (every metric of every template).
	Metrics []slogatev1alpha1.MetricStatus
	// Message says why, in a sentence a user can act on (which metric, which value, which limit).
	Message string
	// RequeueAfter is when the step should be looked at again (the next metric due).
	RequeueAfter time.Duration
}

// Gate judges analysis steps.
type Gate interface {
	// Analyze measures what is due and judges the step. An error means the step could not be judged
	// at all (a template is missing, a query does not render): the release engine holds the weight,
	// reports the error and rolls back when the step's deadline passes.
	Analyze(ctx context.Context, req Request) (Result, error)
}
