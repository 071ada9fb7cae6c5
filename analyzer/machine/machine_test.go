package machine

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

const (
	progressing = slogatev1alpha1.PhaseProgressing
	paused      = slogatev1alpha1.PhasePaused
	promoting   = slogatev1alpha1.PhasePromoting
	succeeded   = slogatev1alpha1.PhaseSucceeded
	rolledBack  = slogatev1alpha1.PhaseRolledBack
	aborted     = slogatev1alpha1.PhaseAborted
)

type nextCase struct {
	release *slogatev1alpha1.Release
	obs     Observations
	// want is the status after the transition (conditions are checked by wantConds).
	want        summary
	wantActions []string
	// wantConds are conditions that must have these statuses; others are not checked.
	wantConds        map[string]metav1.ConditionStatus
	wantRequeue      time.Duration
	wantNeedAnalysis bool
}

func runNext(t *testing.T, cases map[string]nextCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := tc.release.DeepCopy()
			got := Next(tc.release, tc.obs)
			if diff := cmp.Diff(before, tc.release); diff != "" {
				t.Errorf("Next changed its input (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, summarize(got.Status), cmpopts.IgnoreFields(summary{}, "Conditions")); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantActions, describe(got.Actions), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			gotConds := summarize(got.Status).Conditions
			for typ, status := range tc.wantConds {
				if gotConds[typ] != status {
					t.Errorf("condition %s = %q, want %q", typ, gotConds[typ], status)
				}
			}
			if ended := got.Status.Phase; ended.IsTerminal() && ended != tc.release.Status.Phase {
				reasons := RollbackReasons
				if ended == succeeded {
					reasons = PromotionReasons
				}
				if !slices.Contains(reasons, got.Status.Reason) {
					t.Errorf("ended %s with reason %s, which the metrics do not create at start (reasons.go)", ended, got.Status.Reason)
				}
			}
			if got.RequeueAfter != tc.wantRequeue {
				t.Errorf("RequeueAfter = %v, want %v", got.RequeueAfter, tc.wantRequeue)
			}
			if got.NeedAnalysis != tc.wantNeedAnalysis {
				t.Errorf("NeedAnalysis = %v, want %v", got.NeedAnalysis, tc.wantNeedAnalysis)
			}
		})
	}
}

var (
	trafficFirst = []string{"SetWeights(0)", "WriteStatus"}
	condTrue     = metav1.ConditionTrue
	condFalse    = metav1.ConditionFalse
)

func TestNextStart(t *testing.T) {
	runNext(t, map[string]nextCase{
		"a new release records its start": {
			release:     makeRelease().fresh().obj(),
			obs:         world(0).noCanary().unpinned().unprepared().obs(),
			want:        summary{Phase: progressing, Reason: ReasonStarted},
			wantActions: []string{"AddFinalizer", "WriteStatus", "Event(Started)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCanaryReady: condFalse},
			wantRequeue: soon,
		},
	})
}

func TestNextSetup(t *testing.T) {
	runNext(t, map[string]nextCase{
		"creates the canary, pins both Services and prepares the route, before any weight": {
			release: makeRelease().reason(ReasonStarted).obj(),
			obs:     world(0).noCanary().unpinned().unprepared().obs(),
			want:    summary{Phase: progressing, Reason: ReasonStarted},
			wantActions: []string{
				"EnsureCanary(1)", "Event(CanaryCreated)",
				"Pin(stable pod-template-hash=hash-s)", "Event(ServicePinned)",
				"Pin(canary slogate.io/revision=c1)", "Event(ServicePinned)",
				"SetWeights(0)",
			},
			wantRequeue: soon,
		},
		"a canary Deployment the API refuses ends the release at once": {
			release:     makeRelease().reason(ReasonStarted).obj(),
			obs:         world(0).noCanary().unpinned().unprepared().canaryWrite(true, "admits no canary Deployments").obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryRefused},
			wantActions: []string{"WriteStatus", "Warning(CanaryRefused)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCompleted: condFalse, slogatev1alpha1.ConditionTrafficRestored: condTrue},
			wantRequeue: soon,
		},
		"a canary Deployment that could not be written otherwise holds the release": {
			release:     makeRelease().reason(ReasonStarted).stepStarted(10 * time.Second).obj(),
			obs:         world(0).noCanary().unpinned().unprepared().canaryWrite(false, "webhook unreachable").obs(),
			want:        summary{Phase: progressing, Reason: ReasonCanaryWriteFailed},
			wantActions: []string{"WriteStatus", "Warning(CanaryWriteFailed)"},
			wantRequeue: poll,
		},
		"a canary Deployment that could not be written past the ready timeout rolls back": {
			release:     makeRelease().reason(ReasonCanaryWriteFailed).stepStarted(61 * time.Second).obj(),
			obs:         world(0).noCanary().unpinned().unprepared().canaryWrite(false, "webhook unreachable").obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryNotReady},
			wantActions: []string{"WriteStatus", "Warning(CanaryNotReady)"},
			wantRequeue: soon,
		},
		"a canary of another release is removed first": {
			release:     makeRelease().reason(ReasonStarted).obj(),
			obs:         world(0).canaryOf("web-c0", "c0").obs(),
			want:        summary{Phase: progressing, Reason: ReasonReplacingCanary},
			wantActions: []string{"DeleteCanary", "WriteStatus", "Event(ReplacingCanary)"},
			wantRequeue: soon,
		},
		"a canary of another release being deleted is waited for": {
			release:     makeRelease().held(ReasonReplacingCanary, "removing the canary Deployment of an earlier release").obj(),
			obs:         world(0).canaryOf("web-c0", "c0").canaryDeleting().obs(),
			want:        summary{Phase: progressing, Reason: ReasonReplacingCanary},
			wantRequeue: soon,
		},
		"the canary grows before the weight does": {
			release:     makeRelease().at(3, 5).obj(),
			obs:         world(5).deployment(func(d *Deployment) { d.Replicas = 8 }).canary(1, 1).obs(),
			want:        summary{Phase: progressing, Step: 3, Weight: 5},
			wantActions: []string{"EnsureCanary(2)", "Event(CanaryScaled)"},
			wantRequeue: soon,
		},
		"and the weight waits for the grown canary": {
			release:     makeRelease().at(3, 5).stepStarted(10 * time.Second).obj(),
			obs:         world(5).deployment(func(d *Deployment) { d.Replicas = 8 }).canary(2, 1).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWaitingForCanary, Step: 3, Weight: 5},
			wantActions: []string{"WriteStatus", "Event(WaitingForCanary)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCanaryReady: condFalse},
			wantRequeue: poll,
		},
		"a lower weight goes to the route before the canary shrinks": {
			release: func() *slogatev1alpha1.Release {
				r := makeRelease().at(1, 50).obj()
				r.Spec.Steps[1] = slogatev1alpha1.CanaryStep{SetWeight: ptrTo(int32(25))}
				return r
			}(),
			obs:         world(50).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWeightSet, Step: 2, Weight: 25},
			wantActions: []string{"SetWeights(25)", "WriteStatus", "Event(WeightSet)"},
			wantRequeue: soon,
		},
		"then the canary shrinks": {
			release:     makeRelease().at(2, 25).obj(),
			obs:         world(50).route(25, 25).obs(),
			want:        summary{Phase: progressing, Step: 2, Weight: 25},
			wantActions: []string{"EnsureCanary(1)", "Event(CanaryScaled)"},
			wantRequeue: soon,
		},
		"a moved stable pin is put back": {
			release:     makeRelease().at(1, 5).stepStarted(time.Minute).reason(ReasonPausing).obj(),
			obs:         world(5).stablePin("hash-other").obs(),
			want:        summary{Phase: progressing, Reason: ReasonPausing, Step: 1, Weight: 5},
			wantActions: []string{"Pin(stable pod-template-hash=hash-s)", "Event(ServicePinned)"},
			wantRequeue: soon,
		},
		"an older release still cleaning up blocks the new one": {
			release:     makeRelease().reason(ReasonStarted).obj(),
			obs:         world(0).noCanary().unpinned().unprepared().blocked("web-c0").obs(),
			want:        summary{Phase: progressing, Reason: ReasonWaitingForRelease},
			wantActions: []string{"WriteStatus", "Event(WaitingForPreviousRelease)"},
			wantRequeue: soon,
		},
		"a missing canary Service holds the release": {
			release:     makeRelease().started(30 * time.Second).obj(),
			obs:         world(0).noCanary().noCanaryService().obs(),
			want:        summary{Phase: progressing, Reason: ReasonServiceNotFound},
			wantActions: []string{"WriteStatus", "Warning(ServiceNotFound)"},
			wantRequeue: poll,
		},
		"a missing canary Service past the ready timeout rolls back": {
			release:     makeRelease().started(2 * time.Minute).reason(ReasonServiceNotFound).obj(),
			obs:         world(0).noCanary().noCanaryService().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonServiceNotFound},
			wantActions: []string{"WriteStatus", "Warning(ServiceNotFound)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCompleted: condFalse, slogatev1alpha1.ConditionTrafficRestored: condTrue},
			wantRequeue: soon,
		},
		"no route holds the release": {
			release:     makeRelease().started(50 * time.Second).obj(),
			obs:         world(0).noCanary().noRoute().obs(),
			want:        summary{Phase: progressing, Reason: ReasonRouteNotFound},
			wantActions: []string{"WriteStatus", "Warning(RouteNotFound)"},
			wantRequeue: poll,
		},
		"a Deployment of the canary's name that slogate did not make is never touched": {
			release:     makeRelease().started(10 * time.Second).obj(),
			obs:         world(0).userCanary().obs(),
			want:        summary{Phase: progressing, Reason: ReasonCanaryNameTaken},
			wantActions: []string{"WriteStatus", "Warning(CanaryNameTaken)"},
			wantRequeue: poll,
		},
		"a stable ReplicaSet without ready pods is never pinned": {
			release:     makeRelease().started(10 * time.Second).obj(),
			obs:         world(0).noCanary().unpinned().unprepared().deployment(func(d *Deployment) { d.StableReady = 0 }).obs(),
			want:        summary{Phase: progressing, Reason: ReasonStableNotFound},
			wantActions: []string{"WriteStatus", "Warning(StableReplicaSetNotFound)"},
			wantRequeue: poll,
		},
		"no ReplicaSet of the stable revision holds the release": {
			release:     makeRelease().started(10 * time.Second).obj(),
			obs:         world(0).deployment(func(d *Deployment) { d.StableHash = "" }).obs(),
			want:        summary{Phase: progressing, Reason: ReasonStableNotFound},
			wantActions: []string{"WriteStatus", "Warning(StableReplicaSetNotFound)"},
			wantRequeue: poll,
		},
	})
}

func TestNextSteps(t *testing.T) {
	runNext(t, map[string]nextCase{
		"the first weight waits for ready canary pods": {
			release:     makeRelease().stepStarted(10 * time.Second).obj(),
			obs:         world(0).canary(1, 0).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWaitingForCanary},
			wantActions: []string{"WriteStatus", "Event(WaitingForCanary)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCanaryReady: condFalse},
			wantRequeue: poll,
		},
		"a canary not ready within the timeout rolls back": {
			release:     makeRelease().stepStarted(61 * time.Second).reason(ReasonWaitingForCanary).obj(),
			obs:         world(0).canary(1, 0).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryNotReady},
			wantActions: []string{"WriteStatus", "Warning(CanaryNotReady)"},
			wantRequeue: soon,
		},
		"canary pods the API refuses hold the weight with the refusal": {
			release:     makeRelease().stepStarted(10 * time.Second).obj(),
			obs:         world(0).canary(1, 0).podsRefused(`pods "web-canary-x" is forbidden`).obs(),
			want:        summary{Phase: progressing, Reason: ReasonCanaryRefused},
			wantActions: []string{"WriteStatus", "Warning(CanaryRefused)"},
			wantRequeue: poll,
		},
		"canary pods the API refuses past the ready timeout roll back": {
			release:     makeRelease().stepStarted(61 * time.Second).reason(ReasonCanaryRefused).obj(),
			obs:         world(0).canary(1, 0).podsRefused(`pods "web-canary-x" is forbidden`).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryRefused},
			wantActions: []string{"WriteStatus", "Warning(CanaryRefused)"},
			wantRequeue: soon,
		},
		"a refused pod does not hold a canary that has the pods it needs": {
			release:     makeRelease().obj(),
			obs:         world(0).canary(1, 1).podsRefused(`pods "web-canary-x" is forbidden`).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWeightSet, Step: 1, Weight: 5},
			wantActions: []string{"SetWeights(5)", "WriteStatus", "Event(WeightSet)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCanaryReady: condTrue},
			wantRequeue: soon,
		},
		"setWeight writes the route and goes on": {
			release:     makeRelease().obj(),
			obs:         world(0).canary(1, 1).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWeightSet, Step: 1, Weight: 5},
			wantActions: []string{"SetWeights(5)", "WriteStatus", "Event(WeightSet)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCanaryReady: condTrue},
			wantRequeue: soon,
		},
		"setWeight 25 with the canary grown to 1 of 4": {
			release:     makeRelease().at(3, 5).obj(),
			obs:         world(5).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWeightSet, Step: 4, Weight: 25},
			wantActions: []string{"SetWeights(25)", "WriteStatus", "Event(WeightSet)"},
			wantRequeue: soon,
		},
		"a weight written but not recorded before a restart is recorded": {
			release:     makeRelease().at(3, 5).obj(),
			obs:         world(25).canary(1, 1).obs(),
			want:        summary{Phase: progressing, Reason: ReasonWeightSet, Step: 4, Weight: 25},
			wantActions: []string{"WriteStatus", "Event(WeightSet)"},
			wantRequeue: soon,
		},
		"a timed pause waits": {
			release:     makeRelease().at(1, 5).stepStarted(time.Minute).obj(),
			obs:         world(5).obs(),
			want:        summary{Phase: progressing, Reason: ReasonPausing, Step: 1, Weight: 5},
			wantActions: []string{"WriteStatus", "Event(Pausing)"},
			wantRequeue: 2 * time.Minute,
		},
		"a timed pause that is recorded waits quietly": {
			release:     makeRelease().at(1, 5).stepStarted(time.Minute).held(ReasonPausing, "step 1: pausing 3m0s at 5 %").obj(),
			obs:         world(5).obs(),
			want:        summary{Phase: progressing, Reason: ReasonPausing, Step: 1, Weight: 5},
			wantRequeue: 2 * time.Minute,
		},
		"a timed pause ends": {
			release:     makeRelease().at(1, 5).stepStarted(3 * time.Minute).reason(ReasonPausing).obj(),
			obs:         world(5).obs(),
			want:        summary{Phase: progressing, Reason: ReasonPauseEnded, Step: 2, Weight: 5},
			wantActions: []string{"WriteStatus", "Event(PauseEnded)"},
			wantRequeue: soon,
		},
		"a manual pause pauses the release": {
			release:     makeRelease().at(4, 25).obj(),
			obs:         world(25).obs(),
			want:        summary{Phase: paused, Reason: ReasonManualPause, Step: 4, Weight: 25},
			wantActions: []string{"WriteStatus", "Event(ManualPause)"},
		},
		"a paused release stays paused": {
			release: makeRelease().phase(paused).reason(ReasonManualPause).at(4, 25).stepStarted(time.Hour).obj(),
			obs:     world(25).obs(),
			want:    summary{Phase: paused, Reason: ReasonManualPause, Step: 4, Weight: 25},
		},
		"every step passed: promoting": {
			release:     makeRelease().at(7, 50).obj(),
			obs:         world(50).obs(),
			want:        summary{Phase: promoting, Reason: ReasonPromoting, Step: 7, Weight: 50},
			wantActions: []string{"WriteStatus", "Event(Promoting)"},
			wantRequeue: soon,
		},
	})
}

func TestNextAnalysis(t *testing.T) {
	analyzing := func() *releaseBuilder { return makeRelease().at(2, 5).stepStarted(time.Minute) }
	runNext(t, map[string]nextCase{
		"an analysis step asks for the gate": {
			release:          analyzing().obj(),
			obs:              world(5).obs(),
			want:             summary{Phase: progressing, Step: 2, Weight: 5},
			wantNeedAnalysis: true,
		},
		"a successful analysis goes on": {
			release:     analyzing().obj(),
			obs:         world(5).gate(gate.Successful, measurement(2, slogatev1alpha1.VerdictSuccessful, "99.9")).obs(),
			want:        summary{Phase: progressing, Reason: ReasonAnalysisPassed, Step: 3, Weight: 5, Measurements: 1},
			wantActions: []string{"WriteStatus", "Event(AnalysisPassed)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionAnalysisPassing: condTrue},
			wantRequeue: soon,
		},
		"a running analysis holds the weight and comes back when the gate says": {
			release:     analyzing().obj(),
			obs:         world(5).gate(gate.Running, measurement(2, slogatev1alpha1.VerdictInconclusive, "")).obs(),
			want:        summary{Phase: progressing, Reason: ReasonAnalyzing, Step: 2, Weight: 5, Measurements: 1},
			wantActions: []string{"Event(Analyzing)", "WriteStatus"},
			wantRequeue: 30 * time.Second,
		},
		"a running analysis is cut at its deadline": {
			release:     analyzing().obj(),
			obs:         world(5).gate(gate.Running).obs(),
			want:        summary{Phase: progressing, Reason: ReasonAnalyzing, Step: 2, Weight: 5},
			wantActions: []string{"Event(Analyzing)", "WriteStatus"},
			wantRequeue: 30 * time.Second,
		},
		"a running analysis past the analysis timeout rolls back": {
			release:     makeRelease().at(2, 5).stepStarted(5 * time.Minute).reason(ReasonAnalyzing).obj(),
			obs:         world(5).gate(gate.Running, measurement(2, slogatev1alpha1.VerdictError, "")).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisTimeout, Measurements: 1, Step: 2},
			wantActions: append(trafficFirst, "Warning(AnalysisTimeout)"),
			wantRequeue: soon,
		},
		"a failed analysis at 25 % rolls back, traffic first, with the measurement": {
			release:     makeRelease().at(5, 25).stepStarted(time.Minute).obj(),
			obs:         world(25).gate(gate.Failed, measurement(5, slogatev1alpha1.VerdictFailed, "91.2")).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed, Step: 5, Measurements: 1},
			wantActions: append(trafficFirst, "Warning(AnalysisFailed)"),
			wantConds: map[string]metav1.ConditionStatus{
				slogatev1alpha1.ConditionAnalysisPassing: condFalse, slogatev1alpha1.ConditionTrafficRestored: condTrue,
				slogatev1alpha1.ConditionCompleted: condFalse,
			},
			wantRequeue: soon,
		},
		"a gate error holds the weight": {
			release:     analyzing().obj(),
			obs:         world(5).gateErr("template canary-success-rate not found").obs(),
			want:        summary{Phase: progressing, Reason: ReasonAnalysisError, Step: 2, Weight: 5},
			wantActions: []string{"WriteStatus", "Warning(AnalysisError)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionAnalysisPassing: metav1.ConditionUnknown},
			wantRequeue: analysisRetry,
		},
		"a gate error past the analysis timeout rolls back": {
			release:     makeRelease().at(2, 5).stepStarted(6 * time.Minute).reason(ReasonAnalysisError).obj(),
			obs:         world(5).gateErr("template canary-success-rate not found").obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisTimeout, Step: 2},
			wantActions: append(trafficFirst, "Warning(AnalysisTimeout)"),
			wantRequeue: soon,
		},
	})
}

func TestNextPromotion(t *testing.T) {
	prom := func() *releaseBuilder { return makeRelease().phase(promoting).at(7, 50).stepStarted(30 * time.Second) }
	runNext(t, map[string]nextCase{
		"the canary grows to the stable size first": {
			release:     prom().obj(),
			obs:         world(50).obs(),
			want:        summary{Phase: promoting, Step: 7, Weight: 50},
			wantActions: []string{"EnsureCanary(4)", "Event(CanaryScaled)"},
			wantRequeue: soon,
		},
		"then waits for its pods": {
			release:     prom().obj(),
			obs:         world(50).canary(4, 3).obs(),
			want:        summary{Phase: promoting, Reason: ReasonWaitingForCanary, Step: 7, Weight: 50},
			wantActions: []string{"WriteStatus", "Event(WaitingForCanary)"},
			wantRequeue: poll,
		},
		"a refused scale of the canary rolls back, traffic first": {
			release:     prom().obj(),
			obs:         world(50).canaryWrite(true, "forbidden: exceeded quota").obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryRefused, Step: 7},
			wantActions: append(trafficFirst, "Warning(CanaryRefused)"),
			wantRequeue: soon,
		},
		"then sends all traffic to the canary": {
			release:     prom().obj(),
			obs:         world(50).canary(4, 4).obs(),
			want:        summary{Phase: promoting, Reason: ReasonWeightSet, Step: 7, Weight: 100},
			wantActions: []string{"SetWeights(100)", "WriteStatus", "Event(WeightSet)"},
			wantRequeue: soon,
		},
		"then unpauses the Deployment": {
			release:     prom().at(7, 100).obj(),
			obs:         world(100).obs(),
			want:        summary{Phase: promoting, Reason: ReasonRollingOut, Step: 7, Weight: 100},
			wantActions: []string{"Unpause", "WriteStatus", "Event(RollingOut)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionRollingOut: condTrue},
			wantRequeue: soon,
		},
		"an unpause not recorded before a restart is recorded": {
			release:     prom().at(7, 100).obj(),
			obs:         world(100).rolling(1).obs(),
			want:        summary{Phase: promoting, Step: 7, Weight: 100},
			wantActions: []string{"WriteStatus"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionRollingOut: condTrue},
			wantRequeue: poll,
		},
		"waits until every replica is updated and available": {
			release:     prom().at(7, 100).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(100).rolling(2).obs(),
			want:        summary{Phase: promoting, Step: 7, Weight: 100},
			wantRequeue: poll,
		},
		"a stalled roll is reported and traffic stays on the canary": {
			release:     prom().at(7, 100).stepStarted(3*time.Minute).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(100).rolling(2).obs(),
			want:        summary{Phase: promoting, Reason: ReasonPromotionStalled, Step: 7, Weight: 100},
			wantActions: []string{"WriteStatus", "Warning(PromotionStalled)"},
			wantRequeue: stalledPoll,
		},
		"a finished roll moves the stable pin, then traffic to stable": {
			release:     prom().at(7, 100).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(100).rolledOut().obs(),
			want:        summary{Phase: succeeded, Reason: ReasonPromoted, Step: 7},
			wantActions: []string{"Pin(stable pod-template-hash=hash-c)", "Event(ServicePinned)", "SetWeights(0)", "WriteStatus", "Event(Promoted)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCompleted: condFalse},
			wantRequeue: soon,
		},
		"a lost canary before the unpause rolls back": {
			release:     prom().at(7, 100).obj(),
			obs:         world(100).noCanary().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryLost, Step: 7},
			wantActions: append(trafficFirst, "Warning(CanaryLost)"),
			wantRequeue: soon,
		},
	})
}

func TestNextEnds(t *testing.T) {
	runNext(t, map[string]nextCase{
		"the stable template re-applied ends the release, traffic first": {
			release: makeRelease().at(3, 25).obj(),
			obs: world(25).deployment(func(d *Deployment) {
				d.Revision, d.Paused, d.Stable, d.Canary = stableRev, false, "", ""
			}).obs(),
			want:        summary{Phase: aborted, Reason: ReasonStableReapplied, Step: 3},
			wantActions: append(trafficFirst, "Warning(StableReapplied)"),
			wantRequeue: soon,
		},
		"a newer template supersedes the release, traffic first": {
			release:     makeRelease().at(3, 25).obj(),
			obs:         world(25).deployment(func(d *Deployment) { d.Revision, d.Canary = "c2", "c2" }).obs(),
			want:        summary{Phase: aborted, Reason: ReasonSuperseded, Step: 3},
			wantActions: append(trafficFirst, "Warning(Superseded)"),
			wantRequeue: soon,
		},
		"a newer template before any weight ends the release without a route write": {
			release:     makeRelease().obj(),
			obs:         world(0).deployment(func(d *Deployment) { d.Revision, d.Canary = "c2", "c2" }).obs(),
			want:        summary{Phase: aborted, Reason: ReasonSuperseded},
			wantActions: []string{"WriteStatus", "Warning(Superseded)"},
			wantRequeue: soon,
		},
		"a newer template during the roll unpins stable before moving traffic to it": {
			release: makeRelease().phase(promoting).at(7, 100).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs: world(100).rolling(2).deployment(func(d *Deployment) {
				d.Revision, d.Canary, d.Paused = "c2", "c2", true
			}).obs(),
			want:        summary{Phase: aborted, Reason: ReasonSuperseded, Step: 7},
			wantActions: []string{"Unpin(stable)", "SetWeights(0)", "WriteStatus", "Warning(Superseded)"},
			wantRequeue: soon,
		},
		"the Deployment deleted ends the release": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).gone().obs(),
			want:        summary{Phase: aborted, Reason: ReasonDeploymentDeleted, Step: 1},
			wantActions: append(trafficFirst, "Warning(DeploymentDeleted)"),
			wantRequeue: soon,
		},
		"the Release deleted ends the release": {
			release:     makeRelease().at(1, 5).deleting().obj(),
			obs:         world(5).releaseDeleting().obs(),
			want:        summary{Phase: aborted, Reason: ReasonReleaseDeleted, Step: 1},
			wantActions: append(trafficFirst, "Warning(ReleaseDeleted)"),
			wantRequeue: soon,
		},
		"a canary gone while it carries traffic rolls back": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).noCanary().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonCanaryLost, Step: 1},
			wantActions: append(trafficFirst, "Warning(CanaryLost)"),
			wantRequeue: soon,
		},
		"traffic taken off the canary behind the release's back rolls back": {
			release:     makeRelease().at(2, 25).obj(),
			obs:         world(25).route(0, 0).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonTrafficChanged, Step: 2},
			wantActions: append(trafficFirst, "Warning(TrafficChanged)"),
			wantRequeue: soon,
		},
		"more traffic on the canary than the release set is taken back": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).route(5, 30).obs(),
			want:        summary{Phase: progressing, Step: 1, Weight: 5},
			wantActions: []string{"SetWeights(5)", "Warning(TrafficChanged)"},
			wantRequeue: soon,
		},
	})
}

func TestNextActions(t *testing.T) {
	runNext(t, map[string]nextCase{
		"abort rolls back, traffic first, and removes the request after recording": {
			release:     makeRelease().at(2, 25).obj(),
			obs:         world(25).action(slogatev1alpha1.ActionAbort).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAbortedByUser, Step: 2},
			wantActions: []string{"SetWeights(0)", "WriteStatus", "Warning(AbortedByUser)", "Patch(-action)"},
			wantRequeue: soon,
		},
		"abort during the roll is refused": {
			release:     makeRelease().phase(promoting).at(7, 100).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(100).rolling(2).action(slogatev1alpha1.ActionAbort).obs(),
			want:        summary{Phase: promoting, Step: 7, Weight: 100},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
			wantRequeue: soon,
		},
		"promote passes a manual pause, removing the request first": {
			release:     makeRelease().phase(paused).at(4, 25).obj(),
			obs:         world(25).action(slogatev1alpha1.ActionPromote).obs(),
			want:        summary{Phase: progressing, Reason: ReasonActionTaken, Step: 5, Weight: 25},
			wantActions: []string{"Patch(-action)", "WriteStatus", "Event(ActionTaken)"},
			wantRequeue: soon,
		},
		"promote passes a timed pause": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).action(slogatev1alpha1.ActionPromote).obs(),
			want:        summary{Phase: progressing, Reason: ReasonActionTaken, Step: 2, Weight: 5},
			wantActions: []string{"Patch(-action)", "WriteStatus", "Event(ActionTaken)"},
			wantRequeue: soon,
		},
		"promote passes an analysis without calling the gate": {
			release:     makeRelease().at(2, 5).obj(),
			obs:         world(5).action(slogatev1alpha1.ActionPromote).obs(),
			want:        summary{Phase: progressing, Reason: ReasonActionTaken, Step: 3, Weight: 5},
			wantActions: []string{"Patch(-action)", "WriteStatus", "Event(ActionTaken)"},
			wantRequeue: soon,
		},
		"promote never skips the wait for ready canary pods": {
			release:     makeRelease().obj(),
			obs:         world(0).canary(1, 0).action(slogatev1alpha1.ActionPromote).obs(),
			want:        summary{Phase: progressing},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
			wantRequeue: soon,
		},
		"promote-full skips every remaining step": {
			release:     makeRelease().at(2, 5).obj(),
			obs:         world(5).action(slogatev1alpha1.ActionPromoteFull).obs(),
			want:        summary{Phase: promoting, Reason: ReasonPromoting, Step: 7, Weight: 5},
			wantActions: []string{"Patch(-action)", "WriteStatus", "Event(Promoting)", "Event(ActionTaken)"},
			wantRequeue: soon,
		},
		"promote while promoting is refused": {
			release:     makeRelease().phase(promoting).at(7, 50).obj(),
			obs:         world(50).action(slogatev1alpha1.ActionPromoteFull).obs(),
			want:        summary{Phase: promoting, Step: 7, Weight: 50},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
			wantRequeue: soon,
		},
		"retry of a live release is refused": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).action(slogatev1alpha1.ActionRetry).obs(),
			want:        summary{Phase: progressing, Step: 1, Weight: 5},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
			wantRequeue: soon,
		},
		"an unknown action is refused": {
			release:     makeRelease().at(1, 5).obj(),
			obs:         world(5).action("yolo").obs(),
			want:        summary{Phase: progressing, Step: 1, Weight: 5},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
			wantRequeue: soon,
		},
	})
}

func TestNextCleanup(t *testing.T) {
	heldOnFailed := func(d *Deployment) { d.Failed, d.Canary = canaryRev, "" }
	runNext(t, map[string]nextCase{
		"traffic still on the canary goes back to stable first": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(25).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantActions: []string{"SetWeights(0)", "WriteStatus", "Event(TrafficRestored)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionTrafficRestored: condTrue},
			wantRequeue: soon,
		},
		"after the roll, stable is unpinned before it takes the traffic back": {
			release:     makeRelease().ended(aborted, ReasonSuperseded).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(100).rolling(2).obs(),
			want:        summary{Phase: aborted, Reason: ReasonSuperseded},
			wantActions: []string{"Unpin(stable)", "SetWeights(0)", "WriteStatus", "Event(TrafficRestored)"},
			wantRequeue: soon,
		},
		"then the canary is deleted": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(0).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantActions: []string{"DeleteCanary", "Event(CanaryDeleted)"},
			wantRequeue: soon,
		},
		"and its pods are waited for before the stable Service is unpinned": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(0).canaryDeleting().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantRequeue: soon,
		},
		"then the route and the Services are restored": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(0).noCanary().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantActions: []string{"RestoreRoutes", "Unpin(stable)", "Unpin(canary)"},
			wantRequeue: soon,
		},
		"a rolled back Deployment gets the failed revision and loses the canary one": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(0).noCanary().unpinned().restoredRoute().obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantActions: []string{"Patch(+failed-revision=c1 -canary-revision)"},
			wantRequeue: soon,
		},
		"a rolled back release completes, the Deployment stays paused": {
			release:     makeRelease().ended(rolledBack, ReasonAnalysisFailed).obj(),
			obs:         world(0).noCanary().unpinned().restoredRoute().deployment(heldOnFailed).obs(),
			want:        summary{Phase: rolledBack, Reason: ReasonAnalysisFailed},
			wantActions: []string{"WriteStatus", "RemoveFinalizer", "Event(Completed)"},
			wantConds:   map[string]metav1.ConditionStatus{slogatev1alpha1.ConditionCompleted: condTrue},
		},
		"a promoted Deployment loses both revision annotations": {
			release:     makeRelease().ended(succeeded, ReasonPromoted).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs:         world(0).rolledOut().noCanary().unpinned().restoredRoute().obs(),
			want:        summary{Phase: succeeded, Reason: ReasonPromoted},
			wantActions: []string{"Patch(-stable-revision -canary-revision -failed-revision)"},
			wantRequeue: soon,
		},
		"a promoted release that cleaned up completes": {
			release: makeRelease().ended(succeeded, ReasonPromoted).cond(slogatev1alpha1.ConditionRollingOut, condTrue).obj(),
			obs: world(0).rolledOut().noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) {
				d.Stable, d.Canary = "", ""
			}).obs(),
			want:        summary{Phase: succeeded, Reason: ReasonPromoted},
			wantActions: []string{"WriteStatus", "RemoveFinalizer", "Event(Completed)"},
		},
		"a stable re-apply the webhook already undid leaves the Deployment alone": {
			release: makeRelease().ended(aborted, ReasonStableReapplied).obj(),
			obs: world(0).noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) {
				d.Revision, d.Paused, d.Stable, d.Canary = stableRev, false, "", ""
			}).obs(),
			want:        summary{Phase: aborted, Reason: ReasonStableReapplied},
			wantActions: []string{"WriteStatus", "RemoveFinalizer", "Event(Completed)"},
		},
		"a stable re-apply still held undoes the hold": {
			release: makeRelease().ended(aborted, ReasonStableReapplied).obj(),
			obs: world(0).noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) {
				d.Revision = stableRev
			}).obs(),
			want:        summary{Phase: aborted, Reason: ReasonStableReapplied},
			wantActions: []string{"Patch(-stable-revision -canary-revision)", "Unpause"},
			wantRequeue: soon,
		},
		"a superseded release leaves the Deployment to the next one": {
			release: makeRelease().ended(aborted, ReasonSuperseded).obj(),
			obs: world(0).noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) {
				d.Revision, d.Canary = "c2", "c2"
			}).obs(),
			want:        summary{Phase: aborted, Reason: ReasonSuperseded},
			wantActions: []string{"WriteStatus", "RemoveFinalizer", "Event(Completed)"},
		},
	})
}

func TestNextFinished(t *testing.T) {
	heldOnFailed := func(d *Deployment) { d.Failed, d.Canary = canaryRev, "" }
	runNext(t, map[string]nextCase{
		"retry starts the rolled back release again before the Deployment names it": {
			release:     makeRelease().completed(rolledBack, ReasonAnalysisFailed).at(5, 0).obj(),
			obs:         world(0).noCanary().unpinned().restoredRoute().deployment(heldOnFailed).action(slogatev1alpha1.ActionRetry).obs(),
			want:        summary{Phase: progressing, Reason: ReasonRetried},
			wantActions: []string{"AddFinalizer", "WriteStatus", "Event(Retried)", "Patch(+canary-revision=c1 -failed-revision -action)"},
			wantRequeue: soon,
		},
		"the same revision held again by a new apply starts again": {
			release:     makeRelease().completed(aborted, ReasonSuperseded).at(3, 0).generation(2).obj(),
			obs:         world(0).noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) { d.Generation = 5 }).obs(),
			want:        summary{Phase: progressing, Reason: ReasonRestarted},
			wantActions: []string{"AddFinalizer", "WriteStatus", "Event(Restarted)"},
			wantRequeue: soon,
		},
		"the same revision held again over another stable revision is not started again": {
			release: makeRelease().completed(rolledBack, ReasonAnalysisFailed).at(5, 0).generation(2).obj(),
			obs: world(0).noCanary().unpinned().restoredRoute().deployment(func(d *Deployment) {
				d.Generation, d.Stable = 5, "s2"
			}).obs(),
			want: summary{Phase: rolledBack, Reason: ReasonAnalysisFailed, Step: 5},
		},
		"the hold that release ended, seen late, starts nothing": {
			release: makeRelease().completed(rolledBack, ReasonAnalysisFailed).at(5, 0).generation(2).obj(),
			obs:     world(0).noCanary().unpinned().restoredRoute().obs(),
			want:    summary{Phase: rolledBack, Reason: ReasonAnalysisFailed, Step: 5},
		},
		"an action on an ended release is refused": {
			release:     makeRelease().completed(succeeded, ReasonPromoted).at(7, 0).obj(),
			obs:         world(0).rolledOut().noCanary().unpinned().restoredRoute().action(slogatev1alpha1.ActionRetry).obs(),
			want:        summary{Phase: succeeded, Reason: ReasonPromoted, Step: 7},
			wantActions: []string{"Patch(-action)", "Warning(ActionRejected)"},
		},
		"a deleted release that cleaned up lets go": {
			release:     makeRelease().completed(aborted, ReasonDeploymentDeleted).deleting().obj(),
			obs:         world(0).gone().noCanary().unpinned().restoredRoute().releaseDeleting().obs(),
			want:        summary{Phase: aborted, Reason: ReasonDeploymentDeleted},
			wantActions: []string{"RemoveFinalizer"},
		},
	})
}

func TestReplicasFor(t *testing.T) {
	cases := map[string]struct {
		stable, weight, want int32
	}{
		"5 % of 8 is 1":        {stable: 8, weight: 5, want: 1},
		"25 % of 8 is 2":       {stable: 8, weight: 25, want: 2},
		"50 % of 3 is 2":       {stable: 3, weight: 50, want: 2},
		"100 % of 8 is 8":      {stable: 8, weight: 100, want: 8},
		"0 % is still 1":       {stable: 8, weight: 0, want: 1},
		"no stable replicas":   {stable: 0, weight: 50, want: 1},
		"1 % of 1000 is 10":    {stable: 1000, weight: 1, want: 10},
		"1 % of 101 rounds up": {stable: 101, weight: 1, want: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := replicasFor(tc.stable, tc.weight); got != tc.want {
				t.Errorf("replicasFor(%d, %d) = %d, want %d", tc.stable, tc.weight, got, tc.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
