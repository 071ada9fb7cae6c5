package machine

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slogate/slogate/analyzer/analysis"
	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

const (
	// soon is when to look again while something the release waits for is in flight; watches
	// usually wake the release earlier.
	soon = time.Second
	// poll is when to look again while waiting on something no watch reports (readiness timeouts).
	poll = 5 * time.Second
	// analysisRetry is when to call the gate again after it could not judge.
	analysisRetry = 10 * time.Second
	// stalledPoll is when to look again at a stalled promotion.
	stalledPoll = 30 * time.Second
)

// StableHashKey is the selector key the stable Service is pinned on.
const StableHashKey = appsv1.DefaultDeploymentUniqueLabelKey

// Next decides what a release does next, from its state (the Release) and what was observed.
func Next(rel *slogatev1alpha1.Release, obs Observations) Result {
	r := &run{rel: rel, obs: obs, st: *rel.Status.DeepCopy()}
	switch {
	case r.st.Phase == "":
		r.start(ReasonStarted, fmt.Sprintf("canary release of revision %s started (stable %s, policy %s)",
			rel.Spec.CanaryRevision, rel.Spec.StableRevision, rel.Spec.Policy))
	case r.st.Phase.IsTerminal() && r.completed():
		r.finished()
	case r.st.Phase.IsTerminal():
		r.cleanup()
	default:
		r.live()
	}
	r.res.Status = r.st
	r.res.Actions = oneStatusWrite(r.res.Actions, !equality.Semantic.DeepEqual(rel.Status, r.st))
	return r.res
}

// oneStatusWrite keeps the first WriteStatus of actions (where the machine placed it, such as after
// the route write of a rollback), and adds one at the end when the status changed without one.
func oneStatusWrite(actions []Action, changed bool) []Action {
	out := actions[:0:0]
	seen := false
	for _, a := range actions {
		if _, ok := a.(WriteStatus); ok {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, a)
	}
	if changed && !seen {
		out = append(out, WriteStatus{})
	}
	return out
}

type run struct {
	rel   *slogatev1alpha1.Release
	obs   Observations
	st    ReleaseStatus
	res   Result
	ended bool
}

func (r *run) now() metav1.Time { return metav1.NewTime(r.obs.Now) }

func (r *run) do(a ...Action) { r.res.Actions = append(r.res.Actions, a...) }

func (r *run) event(reason, format string, args ...any) {
	r.do(Event{Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (r *run) warn(reason, format string, args ...any) {
	r.do(Event{Warning: true, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (r *run) requeue(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if r.res.RequeueAfter == 0 || d < r.res.RequeueAfter {
		r.res.RequeueAfter = d
	}
}

func (r *run) condition(typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&r.st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: r.now(),
	})
}

func (r *run) completed() bool {
	return meta.IsStatusConditionTrue(r.st.Conditions, slogatev1alpha1.ConditionCompleted)
}

// rolling reports whether the analyzer unpaused the Deployment to promote the canary.
func (r *run) rolling() bool {
	if meta.IsStatusConditionTrue(r.st.Conditions, slogatev1alpha1.ConditionRollingOut) {
		return true
	}
	d := r.obs.Deployment
	return r.st.Phase == slogatev1alpha1.PhasePromoting && d.Exists && !d.Paused && d.Revision == r.rel.Spec.CanaryRevision
}

func (r *run) steps() []slogatev1alpha1.CanaryStep { return r.rel.Spec.Steps }

func (r *run) step() *slogatev1alpha1.CanaryStep {
	i := int(r.st.StepIndex)
	if i < 0 || i >= len(r.steps()) {
		return nil
	}
	return &r.steps()[i]
}

func (r *run) stepStarted() time.Time {
	if r.st.StepStartedAt == nil {
		return r.obs.Now
	}
	return r.st.StepStartedAt.Time
}

func (r *run) started() time.Time {
	if r.st.StartedAt == nil {
		return r.obs.Now
	}
	return r.st.StartedAt.Time
}

// start (re)starts the release at its first step.
func (r *run) start(reason, message string) {
	now := r.now()
	r.st = ReleaseStatus{
		Phase:              slogatev1alpha1.PhaseProgressing,
		Reason:             reason,
		Message:            message,
		StepIndex:          0,
		StepStartedAt:      &now,
		StartedAt:          &now,
		Measurements:       r.st.Measurements,
		ObservedGeneration: r.obs.Deployment.Generation,
	}
	r.condition(slogatev1alpha1.ConditionCanaryReady, metav1.ConditionFalse, ReasonStarted, "the canary is not running yet")
	r.do(AddFinalizer{}, WriteStatus{})
	r.event(reason, "%s", message)
	r.requeue(soon)
}

// live runs a release that has not ended.
func (r *run) live() {
	d := r.obs.Deployment
	spec := r.rel.Spec
	switch {
	case !d.Exists:
		r.end(slogatev1alpha1.PhaseAborted, ReasonDeploymentDeleted, "the Deployment was deleted")
	case r.obs.ReleaseDeleting:
		r.end(slogatev1alpha1.PhaseAborted, ReasonReleaseDeleted, "the Release was deleted")
	case d.Revision == spec.StableRevision:
		r.end(slogatev1alpha1.PhaseAborted, ReasonStableReapplied,
			fmt.Sprintf("the stable template (revision %s) was re-applied", spec.StableRevision))
	case d.Revision != spec.CanaryRevision:
		r.end(slogatev1alpha1.PhaseAborted, ReasonSuperseded,
			fmt.Sprintf("a newer template (revision %s) superseded revision %s", d.Revision, spec.CanaryRevision))
	}
	if r.ended {
		return
	}
	if d.Action != "" && r.action(d.Action) {
		return
	}
	switch r.st.Phase {
	case slogatev1alpha1.PhaseProgressing, slogatev1alpha1.PhasePaused:
		r.progress()
	case slogatev1alpha1.PhasePromoting:
		r.promote()
	}
}

var removeAction = PatchDeployment{Remove: []string{slogatev1alpha1.ActionAnnotation}}

// action takes or rejects the user's request; it reports whether it did anything.
func (r *run) action(a string) bool {
	reject := func(why string) bool {
		r.do(removeAction)
		r.warn(ReasonActionRejected, "%s %s: %s", slogatev1alpha1.ActionAnnotation, a, why)
		r.requeue(soon)
		return true
	}
	phase := r.st.Phase
	step := r.step()
	switch a {
	case slogatev1alpha1.ActionAbort:
		if r.rolling() {
			return reject("the Deployment is already rolling to the canary revision; re-apply the stable template to go back")
		}
		r.end(slogatev1alpha1.PhaseRolledBack, ReasonAbortedByUser, "aborted by user")
		// The rollback is recorded before the request is removed: a crash in between repeats it.
		r.do(removeAction)
		return true
	case slogatev1alpha1.ActionPromote:
		if phase == slogatev1alpha1.PhasePromoting {
			return reject("the release is already promoting")
		}
		if step == nil || (step.Pause == nil && step.Analysis == nil) {
			return reject("promote passes a pause or an analysis; the release is waiting for its canary")
		}
		// The request is removed before the step is skipped: a crash in between loses the request
		// rather than skipping two steps.
		r.do(removeAction)
		what := "pause"
		if step.Analysis != nil {
			what = "analysis"
		}
		r.advance()
		r.st.Reason, r.st.Message = ReasonActionTaken, fmt.Sprintf("%s of step %d skipped by user", what, r.st.StepIndex-1)
		r.do(WriteStatus{})
		r.event(ReasonActionTaken, "promote: %s of step %d skipped by user", what, r.st.StepIndex-1)
		return true
	case slogatev1alpha1.ActionPromoteFull:
		if phase == slogatev1alpha1.PhasePromoting {
			return reject("the release is already promoting")
		}
		r.do(removeAction)
		skipped := len(r.steps()) - int(r.st.StepIndex)
		r.st.StepIndex = int32(len(r.steps()))
		r.toPromoting(fmt.Sprintf("promote-full: the %d remaining steps were skipped by user", skipped))
		r.event(ReasonActionTaken, "promote-full: %d remaining steps skipped by user", skipped)
		return true
	case slogatev1alpha1.ActionRetry:
		return reject(fmt.Sprintf("retry applies to a rolled back release; this one is %s", phase))
	default:
		return reject(fmt.Sprintf("unknown action; want %s, %s, %s or %s",
			slogatev1alpha1.ActionPromote, slogatev1alpha1.ActionPromoteFull, slogatev1alpha1.ActionAbort, slogatev1alpha1.ActionRetry))
	}
}

// advance ends the current step.
func (r *run) advance() {
	now := r.now()
	r.st.StepIndex++
	r.st.StepStartedAt = &now
	r.st.Metrics = nil
	if r.st.Phase == slogatev1alpha1.PhasePaused {
		r.st.Phase = slogatev1alpha1.PhaseProgressing
	}
	r.requeue(soon)
}

// hold keeps the release where it is with a reason; the status and an event change only when the
// reason or message does.
func (r *run) hold(reason, message string, warning bool) {
	if r.st.Reason != reason || r.st.Message != message {
		newReason := r.st.Reason != reason
		r.st.Reason, r.st.Message = reason, message
		r.do(WriteStatus{})
		if !newReason {
			return
		}
		if warning {
			r.warn(reason, "%s", message)
		} else {
			r.event(reason, "%s", message)
		}
	}
}

// holdOrFail holds until since+timeout, then rolls back.
func (r *run) holdOrFail(reason, failReason, message string, since time.Time, timeout time.Duration) {
	deadline := since.Add(timeout)
	if !r.obs.Now.Before(deadline) {
		r.end(slogatev1alpha1.PhaseRolledBack, failReason, fmt.Sprintf("%s for longer than %s", message, timeout))
		return
	}
	r.hold(reason, message, reason != ReasonWaitingForCanary)
	r.requeue(min(poll, deadline.Sub(r.obs.Now)))
}

func (r *run) routeWeights() (lo, hi int32) {
	for i, rt := range r.obs.Routes {
		if !rt.Exists {
			continue
		}
		if i == 0 || rt.MinCanary < lo {
			lo = rt.MinCanary
		}
		if i == 0 || rt.MaxCanary > hi {
			hi = rt.MaxCanary
		}
	}
	return lo, hi
}

func (r *run) canaryOurs() bool {
	c := r.obs.Canary
	return c.Exists && c.Managed && c.Release == r.rel.Name && c.Revision == r.rel.Spec.CanaryRevision
}

// replicasFor sizes the canary for a weight: ceil(stable * weight / 100), at least 1.
func replicasFor(stable, weight int32) int32 {
	n := (int64(stable)*int64(weight) + 99) / 100
	return int32(max(n, 1))
}

// progress runs the steps (phases Progressing and Paused).
func (r *run) progress() {
	o := r.obs
	if r.st.CanaryWeight > 0 && (!r.canaryOurs() || o.Canary.Deleting) {
		r.end(slogatev1alpha1.PhaseRolledBack, ReasonCanaryLost,
			fmt.Sprintf("the canary Deployment is gone while %d %% of traffic is on it", r.st.CanaryWeight))
		return
	}
	if o.Blocked != "" {
		r.hold(ReasonWaitingForRelease, fmt.Sprintf("waiting for release %s to restore traffic and remove its canary", o.Blocked), false)
		r.requeue(soon)
		return
	}
	if reason, msg := r.missing(); reason != "" {
		r.holdOrFail(reason, reason, msg, r.started(), o.Timeouts.CanaryReady)
		return
	}
	if r.setup() {
		return
	}
	step := r.step()
	lo, hi := r.routeWeights()
	interrupted := step != nil && step.SetWeight != nil && lo == *step.SetWeight && hi == *step.SetWeight
	switch {
	case interrupted:
		// A weight was written and the release stopped before recording it; recording it is next.
	case lo < r.st.CanaryWeight:
		r.end(slogatev1alpha1.PhaseRolledBack, ReasonTrafficChanged,
			fmt.Sprintf("the route sends %d %% to the canary, the release set %d %%: a rollback was interrupted or the route was changed", lo, r.st.CanaryWeight))
		return
	case hi > r.st.CanaryWeight:
		r.do(SetWeights{Canary: r.st.CanaryWeight})
		r.warn(ReasonTrafficChanged, "the route sent %d %% to the canary, the release set %d %%: weight restored", hi, r.st.CanaryWeight)
		r.requeue(soon)
		return
	}
	want := r.canaryReplicas()
	ready := o.Canary.Ready >= want
	if ready {
		r.condition(slogatev1alpha1.ConditionCanaryReady, metav1.ConditionTrue, "PodsReady", "the canary pods are ready")
	} else {
		r.condition(slogatev1alpha1.ConditionCanaryReady, metav1.ConditionFalse, "PodsNotReady",
			fmt.Sprintf("%d of %d canary pods ready", o.Canary.Ready, want))
	}
	if step == nil {
		r.toPromoting("every step passed")
		return
	}
	switch {
	case step.SetWeight != nil:
		r.setWeight(*step.SetWeight, ready)
	case step.Pause != nil:
		r.pause(step.Pause)
	case step.Analysis != nil:
		r.analysis(step.Analysis)
	default:
		// The CRD refuses a step that is none of the three; skip it rather than stall.
		r.advance()
		r.do(WriteStatus{})
	}
}

// missing names a prerequisite of the release that is not there.
func (r *run) missing() (reason, message string) {
	o := r.obs
	spec := r.rel.Spec
	switch {
	case !o.Services.StableExists:
		return ReasonServiceNotFound, fmt.Sprintf("the stable Service %s does not exist", spec.StableService)
	case !o.Services.CanaryExists:
		return ReasonServiceNotFound, fmt.Sprintf("the canary Service %s does not exist", spec.CanaryService)
	case len(o.Routes) == 0:
		return ReasonRouteNotFound, fmt.Sprintf("no HTTPRoute names the stable Service %s", spec.StableService)
	case o.Deployment.StableHash == "":
		return ReasonStableNotFound, fmt.Sprintf("the Deployment has no ReplicaSet of the stable revision %s", spec.StableRevision)
	case o.Deployment.StableReady == 0 && r.st.CanaryWeight < 100:
		// Pinning the stable Service to a ReplicaSet without ready pods would leave it without
		// endpoints.
		return ReasonStableNotFound, fmt.Sprintf("the ReplicaSet of the stable revision %s has no ready pod", spec.StableRevision)
	case o.Canary.Exists && !o.Canary.Managed:
		return ReasonCanaryNameTaken, "a Deployment not managed by slogate already has the canary's name"
	}
	for _, rt := range o.Routes {
		if !rt.Exists {
			return ReasonRouteNotFound, fmt.Sprintf("the HTTPRoute %s does not exist", rt.Name)
		}
		if !rt.NamesStable {
			return ReasonRouteNotFound, fmt.Sprintf("no rule of the HTTPRoute %s names the stable Service %s", rt.Name, spec.StableService)
		}
	}
	return "", ""
}

// canaryReplicas is the size the canary needs now: for the weight it carries, or for the weight the
// current step is about to set.
func (r *run) canaryReplicas() int32 {
	w := r.st.CanaryWeight
	if s := r.step(); s != nil && s.SetWeight != nil && *s.SetWeight > w {
		w = *s.SetWeight
	}
	return replicasFor(r.obs.Deployment.Replicas, w)
}

// setup makes the canary, the pins and the routes what the release needs before any step runs; it
// reports whether it had anything to do.
func (r *run) setup() bool {
	o := r.obs
	c := o.Canary
	spec := r.rel.Spec
	if c.Exists && !r.canaryOurs() {
		// A canary of an earlier release (or revision): it goes before this one is made.
		if !c.Deleting {
			r.do(DeleteCanary{})
		}
		r.hold(ReasonReplacingCanary, "removing the canary Deployment of an earlier release", false)
		r.requeue(soon)
		return true
	}
	if w := o.CanaryWrite; w != nil {
		r.canaryWriteFailed(w)
		return true
	}
	n := len(r.res.Actions)
	want := r.canaryReplicas()
	switch {
	case !c.Exists:
		r.do(EnsureCanary{Replicas: want})
		r.event(ReasonCanaryCreated, "created the canary Deployment with %d replicas of revision %s", want, spec.CanaryRevision)
	case c.Replicas != want:
		r.do(EnsureCanary{Replicas: want})
		r.event(ReasonCanaryScaled, "scaled the canary Deployment from %d to %d replicas", c.Replicas, want)
	}
	if pin := (Pin{Key: StableHashKey, Value: o.Deployment.StableHash}); o.Services.StablePin != pin {
		r.do(PinService{Service: StableService, Pin: pin})
		r.event(ReasonServicePinned, "pinned Service %s to %s=%s", spec.StableService, pin.Key, pin.Value)
	}
	if pin := (Pin{Key: slogatev1alpha1.RevisionLabel, Value: spec.CanaryRevision}); o.Services.CanaryPin != pin {
		r.do(PinService{Service: CanaryService, Pin: pin})
		r.event(ReasonServicePinned, "pinned Service %s to %s=%s", spec.CanaryService, pin.Key, pin.Value)
	}
	for _, rt := range o.Routes {
		if !rt.Prepared {
			r.do(SetWeights{Canary: r.st.CanaryWeight})
			break
		}
	}
	if len(r.res.Actions) == n {
		return false
	}
	r.requeue(soon)
	return true
}

// canaryWriteFailed answers a write of the canary Deployment that failed just now: a refusal by the
// API ends the release at once (writing it again would be refused again); any other failure is
// tried again until canaryReadyTimeout from the step's start.
func (r *run) canaryWriteFailed(w *CanaryWrite) {
	if w.Refused {
		r.end(slogatev1alpha1.PhaseRolledBack, ReasonCanaryRefused, "the API refused the canary Deployment: "+w.Message)
		return
	}
	r.holdOrFail(ReasonCanaryWriteFailed, ReasonCanaryNotReady,
		fmt.Sprintf("the canary Deployment could not be written: %s; trying again", w.Message),
		r.stepStarted(), r.obs.Timeouts.CanaryReady)
}

// waitForCanary holds until the canary has the ready pods the next weight needs and rolls back
// past canaryReadyTimeout from the step's start. While the API refuses the canary's pods, the hold
// and the rollback say so, with the API's message.
func (r *run) waitForCanary(message string) {
	reason, failReason := ReasonWaitingForCanary, ReasonCanaryNotReady
	if refused := r.obs.Canary.PodsRefused; refused != "" {
		reason, failReason = ReasonCanaryRefused, ReasonCanaryRefused
		message = fmt.Sprintf("the API refuses the canary's pods: %s; %s", refused, message)
	}
	r.holdOrFail(reason, failReason, message, r.stepStarted(), r.obs.Timeouts.CanaryReady)
}

func (r *run) setWeight(t int32, ready bool) {
	if t > r.st.CanaryWeight && !ready {
		r.waitForCanary(fmt.Sprintf("waiting for %d ready canary pods before sending %d %% of traffic", r.canaryReplicas(), t))
		return
	}
	lo, hi := r.routeWeights()
	if lo != t || hi != t {
		r.do(SetWeights{Canary: t})
	}
	from := r.st.CanaryWeight
	r.st.CanaryWeight = t
	r.advance()
	r.st.Reason, r.st.Message = ReasonWeightSet, fmt.Sprintf("%d %% of traffic on the canary", t)
	r.do(WriteStatus{})
	r.event(ReasonWeightSet, "step %d: canary weight %d %% (was %d %%)", r.st.StepIndex-1, t, from)
}

func (r *run) pause(p *slogatev1alpha1.PauseStep) {
	if p.Duration == nil {
		if r.st.Phase != slogatev1alpha1.PhasePaused {
			r.st.Phase = slogatev1alpha1.PhasePaused
			r.st.Reason, r.st.Message = ReasonManualPause, fmt.Sprintf(
				"step %d: paused at %d %% until promoted (kubectl slogate promote)", r.st.StepIndex, r.st.CanaryWeight)
			r.do(WriteStatus{})
			r.event(ReasonManualPause, "%s", r.st.Message)
		}
		return
	}
	end := r.stepStarted().Add(p.Duration.Duration)
	if r.obs.Now.Before(end) {
		r.hold(ReasonPausing, fmt.Sprintf("step %d: pausing %s at %d %%", r.st.StepIndex, p.Duration.Duration, r.st.CanaryWeight), false)
		r.requeue(end.Sub(r.obs.Now))
		return
	}
	r.advance()
	r.st.Reason, r.st.Message = ReasonPauseEnded, fmt.Sprintf("pause of %s ended", p.Duration.Duration)
	r.do(WriteStatus{})
	r.event(ReasonPauseEnded, "step %d: pause of %s ended", r.st.StepIndex-1, p.Duration.Duration)
}

func (r *run) analysis(a *slogatev1alpha1.AnalysisStep) {
	g := r.obs.Gate
	if g == nil {
		r.res.NeedAnalysis = true
		return
	}
	deadline := r.stepStarted().Add(r.obs.Timeouts.Analysis)
	timedOut := !r.obs.Now.Before(deadline)
	names := templateNames(a)
	if g.Err != nil {
		msg := fmt.Sprintf("step %d: analysis %s could not run: %v", r.st.StepIndex, names, g.Err)
		r.condition(slogatev1alpha1.ConditionAnalysisPassing, metav1.ConditionUnknown, ReasonAnalysisError, msg)
		if timedOut {
			r.end(slogatev1alpha1.PhaseRolledBack, ReasonAnalysisTimeout, fmt.Sprintf("%s; no verdict within %s", msg, r.obs.Timeouts.Analysis))
			return
		}
		r.hold(ReasonAnalysisError, msg, true)
		r.requeue(min(analysisRetry, deadline.Sub(r.obs.Now)))
		return
	}
	res := g.Result
	before := len(r.st.Measurements)
	r.st.Measurements = analysis.AppendMeasurements(r.st.Measurements, res.Measurements)
	r.st.Metrics = res.Metrics
	changed := len(res.Measurements) > 0 || before != len(r.st.Measurements)
	switch res.Outcome {
	case gate.Successful:
		r.condition(slogatev1alpha1.ConditionAnalysisPassing, metav1.ConditionTrue, ReasonAnalysisPassed, res.Message)
		r.advance()
		r.st.Reason, r.st.Message = ReasonAnalysisPassed, fmt.Sprintf("analysis %s passed at %d %%", names, r.st.CanaryWeight)
		r.do(WriteStatus{})
		r.event(ReasonAnalysisPassed, "step %d: analysis %s passed at %d %%: %s", r.st.StepIndex-1, names, r.st.CanaryWeight, res.Message)
	case gate.Failed:
		r.condition(slogatev1alpha1.ConditionAnalysisPassing, metav1.ConditionFalse, ReasonAnalysisFailed, res.Message)
		r.end(slogatev1alpha1.PhaseRolledBack, ReasonAnalysisFailed,
			fmt.Sprintf("step %d: analysis %s failed at %d %%: %s", r.st.StepIndex, names, r.st.CanaryWeight, res.Message))
	case gate.Running:
		if timedOut {
			r.end(slogatev1alpha1.PhaseRolledBack, ReasonAnalysisTimeout,
				fmt.Sprintf("step %d: analysis %s had no verdict within %s: %s", r.st.StepIndex, names, r.obs.Timeouts.Analysis, res.Message))
			return
		}
		msg := fmt.Sprintf("step %d: analysis %s running at %d %%", r.st.StepIndex, names, r.st.CanaryWeight)
		if res.Message != "" {
			msg += ": " + res.Message
		}
		if r.st.Reason != ReasonAnalyzing {
			r.event(ReasonAnalyzing, "%s", msg)
		}
		if changed || r.st.Reason != ReasonAnalyzing || r.st.Message != msg {
			r.st.Reason, r.st.Message = ReasonAnalyzing, msg
			r.do(WriteStatus{})
		}
		next := res.RequeueAfter
		if next <= 0 {
			next = analysisRetry
		}
		r.requeue(min(next, deadline.Sub(r.obs.Now)))
	default:
		r.hold(ReasonAnalysisError, fmt.Sprintf("step %d: the gate answered an unknown outcome %q", r.st.StepIndex, res.Outcome), true)
		r.requeue(min(analysisRetry, deadline.Sub(r.obs.Now)))
	}
}

func templateNames(a *slogatev1alpha1.AnalysisStep) string {
	names := make([]string, 0, len(a.Templates))
	for _, t := range a.Templates {
		names = append(names, t.TemplateName)
	}
	return strings.Join(names, ", ")
}

func (r *run) toPromoting(message string) {
	now := r.now()
	r.st.Phase = slogatev1alpha1.PhasePromoting
	r.st.StepStartedAt = &now
	r.st.Metrics = nil
	r.st.Reason, r.st.Message = ReasonPromoting, message+"; moving all traffic to the canary"
	r.do(WriteStatus{})
	r.event(ReasonPromoting, "%s", r.st.Message)
	r.requeue(soon)
}

// promote runs phase Promoting: canary to 100 %, unpause, wait for the roll, then stable.
func (r *run) promote() {
	o := r.obs
	d := o.Deployment
	spec := r.rel.Spec
	if !r.rolling() {
		if !r.canaryOurs() || o.Canary.Deleting {
			r.end(slogatev1alpha1.PhaseRolledBack, ReasonCanaryLost, "the canary Deployment is gone before promotion")
			return
		}
		if w := o.CanaryWrite; w != nil {
			r.canaryWriteFailed(w)
			return
		}
		want := replicasFor(d.Replicas, 100)
		if o.Canary.Replicas != want {
			r.do(EnsureCanary{Replicas: want})
			r.event(ReasonCanaryScaled, "scaled the canary Deployment from %d to %d replicas", o.Canary.Replicas, want)
			r.requeue(soon)
			return
		}
		if o.Canary.Ready < want {
			r.waitForCanary(fmt.Sprintf("waiting for %d ready canary pods before sending all traffic to the canary", want))
			return
		}
		if lo, _ := r.routeWeights(); lo < 100 || r.st.CanaryWeight < 100 {
			r.do(SetWeights{Canary: 100})
			from := r.st.CanaryWeight
			r.st.CanaryWeight = 100
			r.st.Reason, r.st.Message = ReasonWeightSet, "100 % of traffic on the canary"
			r.do(WriteStatus{})
			r.event(ReasonWeightSet, "promotion: canary weight 100 %% (was %d %%)", from)
			r.requeue(soon)
			return
		}
		now := r.now()
		r.do(UnpauseDeployment{})
		r.condition(slogatev1alpha1.ConditionRollingOut, metav1.ConditionTrue, ReasonRollingOut, "the Deployment rolls to the canary revision")
		r.st.StepStartedAt = &now
		r.st.Reason, r.st.Message = ReasonRollingOut, fmt.Sprintf("unpaused the Deployment to roll %d replicas to revision %s", d.Replicas, spec.CanaryRevision)
		r.do(WriteStatus{})
		r.event(ReasonRollingOut, "%s", r.st.Message)
		r.requeue(soon)
		return
	}
	if !meta.IsStatusConditionTrue(r.st.Conditions, slogatev1alpha1.ConditionRollingOut) {
		// The Deployment was unpaused but the release stopped before recording it.
		r.condition(slogatev1alpha1.ConditionRollingOut, metav1.ConditionTrue, ReasonRollingOut, "the Deployment rolls to the canary revision")
		r.do(WriteStatus{})
	}
	complete := d.ObservedGeneration >= d.Generation && d.UpdatedReplicas == d.Replicas &&
		d.AvailableReplicas == d.Replicas && d.StatusReplicas == d.Replicas && d.CanaryHash != ""
	if !complete {
		deadline := r.stepStarted().Add(o.Timeouts.Promotion)
		if r.obs.Now.Before(deadline) {
			r.requeue(min(poll, deadline.Sub(r.obs.Now)))
			return
		}
		r.hold(ReasonPromotionStalled, fmt.Sprintf(
			"the Deployment has %d of %d replicas updated and %d available after %s; traffic stays on revision %s",
			d.UpdatedReplicas, d.Replicas, d.AvailableReplicas, o.Timeouts.Promotion, spec.CanaryRevision), true)
		r.requeue(stalledPoll)
		return
	}
	if pin := (Pin{Key: StableHashKey, Value: d.CanaryHash}); o.Services.StablePin != pin {
		r.do(PinService{Service: StableService, Pin: pin})
		r.event(ReasonServicePinned, "pinned Service %s to %s=%s", spec.StableService, pin.Key, pin.Value)
	}
	r.do(SetWeights{Canary: 0})
	now := r.now()
	r.st.CanaryWeight = 0
	r.st.Phase = slogatev1alpha1.PhaseSucceeded
	r.st.Reason, r.st.Message = ReasonPromoted, fmt.Sprintf("revision %s is stable on all %d replicas", spec.CanaryRevision, d.Replicas)
	r.st.StepStartedAt = &now
	r.condition(slogatev1alpha1.ConditionCompleted, metav1.ConditionFalse, ReasonCleaningUp, "removing the canary")
	r.do(WriteStatus{})
	r.event(ReasonPromoted, "%s", r.st.Message)
	r.requeue(soon)
}

// end moves a live release to a terminal phase: traffic back to stable first (one write per route),
// then the status. Cleanup follows in later calls.
func (r *run) end(phase slogatev1alpha1.ReleasePhase, reason, message string) {
	r.ended = true
	spec := r.rel.Spec
	if _, hi := r.routeWeights(); hi > 0 || r.st.CanaryWeight > 0 {
		if r.rolling() && !r.obs.Services.StablePin.IsZero() {
			// The stable ReplicaSet is being scaled down: the stable Service must select every pod
			// of the Deployment before traffic moves to it.
			r.do(UnpinService{Service: StableService})
		}
		r.do(SetWeights{Canary: 0})
	}
	now := r.now()
	r.st.CanaryWeight = 0
	r.st.Phase = phase
	r.st.Reason, r.st.Message = reason, message
	r.st.StepStartedAt = &now
	r.condition(slogatev1alpha1.ConditionTrafficRestored, metav1.ConditionTrue, reason, "all traffic on the stable Service "+spec.StableService)
	r.condition(slogatev1alpha1.ConditionCompleted, metav1.ConditionFalse, ReasonCleaningUp, "removing the canary")
	r.do(WriteStatus{})
	r.warn(reason, "%s: %s; all traffic back on stable", phase, message)
	r.requeue(soon)
}

// cleanup runs a terminal release until everything the release changed is undone.
func (r *run) cleanup() {
	o := r.obs
	spec := r.rel.Spec
	if _, hi := r.routeWeights(); hi > 0 {
		if r.st.Phase != slogatev1alpha1.PhaseSucceeded && meta.IsStatusConditionTrue(r.st.Conditions, slogatev1alpha1.ConditionRollingOut) &&
			!o.Services.StablePin.IsZero() {
			r.do(UnpinService{Service: StableService})
		}
		r.do(SetWeights{Canary: 0})
		r.condition(slogatev1alpha1.ConditionTrafficRestored, metav1.ConditionTrue, ReasonTrafficRestored, "all traffic on the stable Service "+spec.StableService)
		r.do(WriteStatus{})
		r.event(ReasonTrafficRestored, "all traffic back on the stable Service %s", spec.StableService)
		r.requeue(soon)
		return
	}
	if c := o.Canary; c.Exists && c.Managed && c.Release == r.rel.Name {
		if !c.Deleting {
			r.do(DeleteCanary{})
			r.event(ReasonCanaryDeleted, "deleting the canary Deployment")
		}
		r.requeue(soon)
		return
	}
	n := len(r.res.Actions)
	for _, rt := range o.Routes {
		if rt.Exists && rt.Marked {
			r.do(RestoreRoutes{})
			break
		}
	}
	if !o.Services.StablePin.IsZero() {
		r.do(UnpinService{Service: StableService})
	}
	if !o.Services.CanaryPin.IsZero() {
		r.do(UnpinService{Service: CanaryService})
	}
	if len(r.res.Actions) > n {
		r.requeue(soon)
		return
	}
	if a := r.deploymentCleanup(); len(a) > 0 {
		r.do(a...)
		r.requeue(soon)
		return
	}
	now := r.now()
	r.st.FinishedAt = &now
	r.condition(slogatev1alpha1.ConditionCompleted, metav1.ConditionTrue, r.st.Reason, "the release ended and everything it changed is undone")
	r.do(WriteStatus{}, RemoveFinalizer{})
	r.event(ReasonCompleted, "release %s ended: %s", r.st.Phase, r.st.Message)
}

// deploymentCleanup returns what the ended release changes on the user's Deployment.
func (r *run) deploymentCleanup() []Action {
	d := r.obs.Deployment
	spec := r.rel.Spec
	if !d.Exists {
		return nil
	}
	switch r.st.Phase {
	case slogatev1alpha1.PhaseSucceeded:
		// A failed revision recorded by an earlier release is moot once a newer one is stable.
		if d.Canary == spec.CanaryRevision || d.Failed != "" {
			return []Action{PatchDeployment{Remove: []string{
				slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation, slogatev1alpha1.FailedRevisionAnnotation,
			}}}
		}
	case slogatev1alpha1.PhaseRolledBack:
		if d.Revision == spec.CanaryRevision && (d.Failed != spec.CanaryRevision || d.Canary == spec.CanaryRevision) {
			return []Action{PatchDeployment{
				Set:    map[string]string{slogatev1alpha1.FailedRevisionAnnotation: spec.CanaryRevision},
				Remove: []string{slogatev1alpha1.CanaryRevisionAnnotation},
			}}
		}
	case slogatev1alpha1.PhaseAborted:
		// The webhook unpauses the Deployment and clears the annotations when the stable template
		// is re-applied; should they still be there, the release undoes its own hold.
		if r.st.Reason == ReasonStableReapplied && d.Revision == spec.StableRevision && d.Canary == spec.CanaryRevision {
			a := []Action{PatchDeployment{Remove: []string{slogatev1alpha1.StableRevisionAnnotation, slogatev1alpha1.CanaryRevisionAnnotation}}}
			if d.Paused {
				a = append(a, UnpauseDeployment{})
			}
			return a
		}
	}
	return nil
}

// finished looks at a release that ended and cleaned up: it starts again on retry, or when the
// same revision is held again by a new apply.
func (r *run) finished() {
	d := r.obs.Deployment
	c := r.rel.Spec.CanaryRevision
	switch {
	case r.obs.ReleaseDeleting:
		r.do(RemoveFinalizer{})
	case d.Exists && d.Action == slogatev1alpha1.ActionRetry && r.st.Phase == slogatev1alpha1.PhaseRolledBack &&
		d.Failed == c && d.Revision == c:
		// The Release is live again before the Deployment names it as its canary.
		r.start(ReasonRetried, fmt.Sprintf("retry of revision %s requested by user", c))
		r.do(PatchDeployment{
			Set:    map[string]string{slogatev1alpha1.CanaryRevisionAnnotation: c},
			Remove: []string{slogatev1alpha1.FailedRevisionAnnotation, slogatev1alpha1.ActionAnnotation},
		})
	case d.Exists && d.Paused && d.Canary == c && d.Revision == c && d.Failed != c &&
		d.Generation != r.st.ObservedGeneration && !Stale(r.rel, d):
		// A stale one is replaced by a new Release (Plan.Replace), never restarted.
		r.start(ReasonRestarted, fmt.Sprintf("revision %s was applied again (generation %d)", c, d.Generation))
	case d.Exists && d.Action != "":
		r.do(removeAction)
		r.warn(ReasonActionRejected, "%s %s: release %s already ended (%s)", slogatev1alpha1.ActionAnnotation, d.Action, r.rel.Name, r.st.Phase)
	}
}
