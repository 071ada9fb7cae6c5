package machine

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slogate/slogate/analyzer/gate"
	"github.com/slogate/slogate/analyzer/traffic"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var t0 = time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC)

const (
	stableRev = "s1"
	canaryRev = "c1"
	relName   = "web-c1"
)

// testSteps: 0 setWeight 5, 1 pause 3m, 2 analysis, 3 setWeight 25, 4 pause {}, 5 analysis,
// 6 setWeight 50.
func testSteps() []slogatev1alpha1.CanaryStep {
	w := func(n int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: &n} }
	analysis := slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
		{TemplateName: "canary-success-rate", ClusterScope: true},
	}}}
	return []slogatev1alpha1.CanaryStep{
		w(5),
		{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 3 * time.Minute}}},
		analysis,
		w(25),
		{Pause: &slogatev1alpha1.PauseStep{}},
		analysis,
		w(50),
	}
}

type releaseBuilder struct{ r slogatev1alpha1.Release }

func makeRelease() *releaseBuilder {
	started := metav1.NewTime(t0)
	return &releaseBuilder{slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: relName, Namespace: "prod"},
		Spec: slogatev1alpha1.ReleaseSpec{
			DeploymentName: "web", StableRevision: stableRev, CanaryRevision: canaryRev, Policy: "default",
			Steps: testSteps(), StableService: "web-stable", CanaryService: "web-canary", HTTPRoutes: []string{"web"},
		},
		Status: slogatev1alpha1.ReleaseStatus{
			Phase: slogatev1alpha1.PhaseProgressing, StartedAt: &started, StepStartedAt: &started, ObservedGeneration: 2,
			Conditions: []metav1.Condition{{
				Type: slogatev1alpha1.ConditionCanaryReady, Status: metav1.ConditionTrue, Reason: "PodsReady",
				Message: "the canary pods are ready", LastTransitionTime: started,
			}},
		},
	}}
}

// held records that the release is holding for a reason.
func (b *releaseBuilder) held(reason, message string) *releaseBuilder {
	b.r.Status.Reason, b.r.Status.Message = reason, message
	return b
}

func (b *releaseBuilder) fresh() *releaseBuilder {
	b.r.Status = slogatev1alpha1.ReleaseStatus{}
	return b
}
func (b *releaseBuilder) phase(p slogatev1alpha1.ReleasePhase) *releaseBuilder {
	b.r.Status.Phase = p
	return b
}
func (b *releaseBuilder) reason(r string) *releaseBuilder { b.r.Status.Reason = r; return b }
func (b *releaseBuilder) at(step int32, weight int32) *releaseBuilder {
	b.r.Status.StepIndex, b.r.Status.CanaryWeight = step, weight
	return b
}
func (b *releaseBuilder) stepStarted(ago time.Duration) *releaseBuilder {
	t := metav1.NewTime(now.Add(-ago))
	b.r.Status.StepStartedAt = &t
	return b
}
func (b *releaseBuilder) started(ago time.Duration) *releaseBuilder {
	t := metav1.NewTime(now.Add(-ago))
	b.r.Status.StartedAt = &t
	return b
}
func (b *releaseBuilder) cond(typ string, status metav1.ConditionStatus) *releaseBuilder {
	meta.SetStatusCondition(&b.r.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: "Test", LastTransitionTime: metav1.NewTime(t0)})
	return b
}
func (b *releaseBuilder) ended(p slogatev1alpha1.ReleasePhase, reason string) *releaseBuilder {
	b.r.Status.Phase, b.r.Status.Reason = p, reason
	return b.cond(slogatev1alpha1.ConditionCompleted, metav1.ConditionFalse)
}
func (b *releaseBuilder) completed(p slogatev1alpha1.ReleasePhase, reason string) *releaseBuilder {
	b.r.Status.Phase, b.r.Status.Reason = p, reason
	return b.cond(slogatev1alpha1.ConditionCompleted, metav1.ConditionTrue)
}
func (b *releaseBuilder) generation(g int64) *releaseBuilder {
	b.r.Status.ObservedGeneration = g
	return b
}
func (b *releaseBuilder) deleting() *releaseBuilder {
	ts := metav1.NewTime(t0)
	b.r.DeletionTimestamp = &ts
	b.r.Finalizers = []string{Finalizer}
	return b
}
func (b *releaseBuilder) obj() *slogatev1alpha1.Release { return b.r.DeepCopy() }

// now is the clock of every test world: ten minutes after the release started.
var now = t0.Add(10 * time.Minute)

type worldBuilder struct{ o Observations }

// world is a healthy release world at canary weight w: the Deployment held, the canary sized and
// ready, both Services pinned, the route prepared at w.
func world(w int32) *worldBuilder {
	o := Observations{
		Now: now,
		Deployment: Deployment{
			Exists: true, Generation: 2, Paused: true, Revision: canaryRev,
			Stable: stableRev, Canary: canaryRev, Replicas: 4,
			ObservedGeneration: 2, StatusReplicas: 4, UpdatedReplicas: 0, AvailableReplicas: 4,
			StableHash: "hash-s", StableReady: 4,
		},
		Canary: Canary{Exists: true, Managed: true, Release: relName, Revision: canaryRev,
			Replicas: replicasFor(4, w), Ready: replicasFor(4, w)},
		Services: Services{
			StableExists: true, CanaryExists: true,
			StablePin: Pin{Key: StableHashKey, Value: "hash-s"},
			CanaryPin: Pin{Key: slogatev1alpha1.RevisionLabel, Value: canaryRev},
		},
		Routes: []Route{{Name: "web", Exists: true, Observed: traffic.Observed{
			NamesStable: true, Prepared: true, Marked: true, MinCanary: w, MaxCanary: w,
		}}},
		Timeouts: Timeouts{CanaryReady: time.Minute, Analysis: 5 * time.Minute, Promotion: 2 * time.Minute},
	}
	return &worldBuilder{o}
}

func (b *worldBuilder) route(lo, hi int32) *worldBuilder {
	b.o.Routes[0].MinCanary, b.o.Routes[0].MaxCanary = lo, hi
	return b
}
func (b *worldBuilder) unprepared() *worldBuilder {
	b.o.Routes[0].Observed = traffic.Observed{NamesStable: true, Restored: true}
	return b
}
func (b *worldBuilder) restoredRoute() *worldBuilder { return b.unprepared() }
func (b *worldBuilder) noRoute() *worldBuilder {
	b.o.Routes = nil
	return b
}
func (b *worldBuilder) canary(replicas, ready int32) *worldBuilder {
	b.o.Canary.Replicas, b.o.Canary.Ready = replicas, ready
	return b
}
func (b *worldBuilder) noCanary() *worldBuilder { b.o.Canary = Canary{}; return b }
func (b *worldBuilder) canaryDeleting() *worldBuilder {
	b.o.Canary.Deleting = true
	return b
}
func (b *worldBuilder) canaryOf(release, rev string) *worldBuilder {
	b.o.Canary.Release, b.o.Canary.Revision = release, rev
	return b
}
func (b *worldBuilder) userCanary() *worldBuilder {
	b.o.Canary = Canary{Exists: true, Replicas: 1, Ready: 1}
	return b
}
func (b *worldBuilder) unpinned() *worldBuilder {
	b.o.Services.StablePin, b.o.Services.CanaryPin = Pin{}, Pin{}
	return b
}
func (b *worldBuilder) stablePin(v string) *worldBuilder {
	b.o.Services.StablePin = Pin{Key: StableHashKey, Value: v}
	return b
}
func (b *worldBuilder) noCanaryService() *worldBuilder {
	b.o.Services.CanaryExists = false
	return b
}
func (b *worldBuilder) deployment(f func(d *Deployment)) *worldBuilder {
	f(&b.o.Deployment)
	return b
}
func (b *worldBuilder) action(a string) *worldBuilder { b.o.Deployment.Action = a; return b }
func (b *worldBuilder) gone() *worldBuilder {
	b.o.Deployment = Deployment{}
	return b
}
func (b *worldBuilder) rolledOut() *worldBuilder {
	b.o.Deployment.Paused = false
	b.o.Deployment.Generation, b.o.Deployment.ObservedGeneration = 3, 3
	b.o.Deployment.UpdatedReplicas, b.o.Deployment.AvailableReplicas, b.o.Deployment.StatusReplicas = 4, 4, 4
	b.o.Deployment.CanaryHash = "hash-c"
	return b
}
func (b *worldBuilder) rolling(updated int32) *worldBuilder {
	b.o.Deployment.Paused = false
	b.o.Deployment.Generation, b.o.Deployment.ObservedGeneration = 3, 3
	b.o.Deployment.UpdatedReplicas, b.o.Deployment.AvailableReplicas, b.o.Deployment.StatusReplicas = updated, 4, 4+updated
	b.o.Deployment.CanaryHash = "hash-c"
	return b
}
func (b *worldBuilder) blocked(by string) *worldBuilder { b.o.Blocked = by; return b }
func (b *worldBuilder) releaseDeleting() *worldBuilder {
	b.o.ReleaseDeleting = true
	return b
}
func (b *worldBuilder) gate(outcome gate.Outcome, ms ...slogatev1alpha1.Measurement) *worldBuilder {
	b.o.Gate = &GateAnswer{Result: gate.Result{Outcome: outcome, Measurements: ms, Message: "success-rate " + string(outcome),
		Metrics:      []slogatev1alpha1.MetricStatus{{Template: "canary-success-rate", Metric: "success-rate", Step: 2, Successful: 1}},
		RequeueAfter: 30 * time.Second}}
	return b
}
func (b *worldBuilder) gateErr(msg string) *worldBuilder {
	b.o.Gate = &GateAnswer{Err: errors.New(msg)}
	return b
}

// canaryWrite records that writing the canary Deployment failed just now.
func (b *worldBuilder) canaryWrite(refused bool, message string) *worldBuilder {
	b.o.CanaryWrite = &CanaryWrite{Refused: refused, Message: message}
	return b
}

// podsRefused makes the ReplicaSet controller fail to create the canary's pods.
func (b *worldBuilder) podsRefused(message string) *worldBuilder {
	b.o.Canary.PodsRefused = message
	return b
}
func (b *worldBuilder) obs() Observations { return b.o }

func measurement(step int32, verdict slogatev1alpha1.Verdict, value string) slogatev1alpha1.Measurement {
	return slogatev1alpha1.Measurement{Template: "canary-success-rate", Metric: "success-rate", Step: step, Weight: 25,
		Value: value, Verdict: verdict, Time: metav1.NewTime(now)}
}

// describe renders actions for comparison: "SetWeights(25)", "Event(WeightSet)",
// "Warning(RolledBack)", ...
func describe(actions []Action) []string {
	out := make([]string, 0, len(actions))
	for _, a := range actions {
		switch a := a.(type) {
		case WriteStatus:
			out = append(out, "WriteStatus")
		case EnsureCanary:
			out = append(out, fmt.Sprintf("EnsureCanary(%d)", a.Replicas))
		case DeleteCanary:
			out = append(out, "DeleteCanary")
		case PinService:
			out = append(out, fmt.Sprintf("Pin(%s %s=%s)", a.Service, a.Pin.Key, a.Pin.Value))
		case UnpinService:
			out = append(out, fmt.Sprintf("Unpin(%s)", a.Service))
		case SetWeights:
			out = append(out, fmt.Sprintf("SetWeights(%d)", a.Canary))
		case RestoreRoutes:
			out = append(out, "RestoreRoutes")
		case UnpauseDeployment:
			out = append(out, "Unpause")
		case PatchDeployment:
			var parts []string
			keys := make([]string, 0, len(a.Set))
			for k := range a.Set {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				parts = append(parts, "+"+strings.TrimPrefix(k, slogatev1alpha1.Prefix)+"="+a.Set[k])
			}
			for _, k := range a.Remove {
				parts = append(parts, "-"+strings.TrimPrefix(k, slogatev1alpha1.Prefix))
			}
			out = append(out, "Patch("+strings.Join(parts, " ")+")")
		case AddFinalizer:
			out = append(out, "AddFinalizer")
		case RemoveFinalizer:
			out = append(out, "RemoveFinalizer")
		case Event:
			kind := "Event"
			if a.Warning {
				kind = "Warning"
			}
			out = append(out, kind+"("+a.Reason+")")
		default:
			out = append(out, fmt.Sprintf("%T", a))
		}
	}
	return out
}

// summary is the part of a status the transition tables compare.
type summary struct {
	Phase        slogatev1alpha1.ReleasePhase
	Reason       string
	Step         int32
	Weight       int32
	Measurements int
	Conditions   map[string]metav1.ConditionStatus
}

func summarize(st slogatev1alpha1.ReleaseStatus) summary {
	s := summary{Phase: st.Phase, Reason: st.Reason, Step: st.StepIndex, Weight: st.CanaryWeight, Measurements: len(st.Measurements)}
	for _, c := range st.Conditions {
		if s.Conditions == nil {
			s.Conditions = map[string]metav1.ConditionStatus{}
		}
		s.Conditions[c.Type] = c.Status
	}
	return s
}
