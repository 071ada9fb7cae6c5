package webhook

import (
	"fmt"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// Decision names what the webhook did with a request. It is the decision label of the
// slogate_admission_decisions_total metric, so the set of values is small and fixed.
type Decision string

const (
	// DecisionLabelled: a Deployment was created; its template got the revision label.
	DecisionLabelled Decision = "labelled"
	// DecisionHold: a template change started a canary release; the Deployment is held (paused).
	DecisionHold Decision = "hold"
	// DecisionSupersede: a newer template replaced the canary of a live release.
	DecisionSupersede Decision = "supersede"
	// DecisionEnd: the stable template was re-applied; the release (or the hold on a failed
	// revision) ended and the Deployment is unpaused.
	DecisionEnd Decision = "end"
	// DecisionFailedRevision: the template of a rolled-back revision was applied again; the
	// Deployment stays held and no release starts.
	DecisionFailedRevision Decision = "failed_revision"
	// DecisionNoCanary: the template changed but no release could start (replicas 0, nothing
	// available, a rolling update still running); a plain rolling update.
	DecisionNoCanary Decision = "no_canary"
	// DecisionUnchanged: the template did not change (scale, metadata, controller writes).
	DecisionUnchanged Decision = "unchanged"
	// DecisionRestored: the template did not change and slogate's own fields, dropped by the
	// request (a re-apply), were put back.
	DecisionRestored Decision = "restored"
	// DecisionSkipped: the Deployment opts out with slogate.io/skip: "true".
	DecisionSkipped Decision = "skipped"
	// DecisionAnalyzer: the analyzer's own write; left as it is.
	DecisionAnalyzer Decision = "analyzer"
	// DecisionIgnored: an operation the webhook has nothing to do with (DELETE, CONNECT).
	DecisionIgnored Decision = "ignored"
	// DecisionAllowed and DecisionDenied are the verdicts of the validating webhooks.
	DecisionAllowed Decision = "allowed"
	DecisionDenied  Decision = "denied"
	// DecisionError: the request could not be read.
	DecisionError Decision = "error"
)

// DeploymentRequest is what the decision about a Deployment depends on.
type DeploymentRequest struct {
	Operation admissionv1.Operation
	// Old is the stored Deployment (UPDATE, DELETE); nil on CREATE.
	Old *appsv1.Deployment
	// New is the Deployment the request would store (CREATE, UPDATE).
	New *appsv1.Deployment
	// ByAnalyzer is true when the request comes from the analyzer's ServiceAccount.
	ByAnalyzer bool
}

// DeploymentMutation is the outcome of MutateDeployment.
type DeploymentMutation struct {
	Decision Decision
	// Deployment is New with slogate's fields set as the decision wants; it differs from New only
	// in spec.paused, the template's slogate.io/revision label and the slogate.io/stable-revision,
	// canary-revision and failed-revision annotations. Nil when nothing is decided (DELETE).
	Deployment *appsv1.Deployment
	// Warnings tell the user what happened.
	Warnings []string
}

// releaseAnnotations are the annotations that carry the state of a release on a Deployment. Users
// do not write them: the webhook sets them from the stored object.
var releaseAnnotations = []string{
	slogatev1alpha1.StableRevisionAnnotation,
	slogatev1alpha1.CanaryRevisionAnnotation,
	slogatev1alpha1.FailedRevisionAnnotation,
}

// MutateDeployment decides what a request on a Deployment in an opted-in namespace turns into. It
// is pure: see the package documentation for the rules.
func MutateDeployment(req DeploymentRequest) DeploymentMutation {
	switch {
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update, req.New == nil:
		return DeploymentMutation{Decision: DecisionIgnored}
	case req.ByAnalyzer:
		return DeploymentMutation{Decision: DecisionAnalyzer, Deployment: req.New}
	case skipped(req.New):
		return DeploymentMutation{Decision: DecisionSkipped, Deployment: req.New}
	case req.Operation == admissionv1.Create || req.Old == nil:
		return mutateCreate(req.New)
	}
	return mutateUpdate(req.Old, req.New)
}

func skipped(d *appsv1.Deployment) bool {
	return d.Annotations[slogatev1alpha1.SkipAnnotation] == "true"
}

// mutateCreate labels the template of a new Deployment. A new Deployment has nothing stable to
// compare against, so no release starts; release annotations it carries (a manifest exported
// from a cluster) are dropped, as they describe a release of another object.
func mutateCreate(d *appsv1.Deployment) DeploymentMutation {
	out := d.DeepCopy()
	m := DeploymentMutation{Decision: DecisionLabelled, Deployment: out}
	setLabel(&out.Spec.Template.Labels, slogatev1alpha1.RevisionLabel, revision.Of(&d.Spec.Template))
	for _, k := range releaseAnnotations {
		if _, ok := out.Annotations[k]; ok {
			delete(out.Annotations, k)
			m.Warnings = append(m.Warnings, fmt.Sprintf("slogate: removed annotation %s: only slogate sets it, on a Deployment it holds", k))
		}
	}
	return m
}

// release is the slogate state of a Deployment.
type release struct {
	stable, canary, failed string
	// template is the revision of the Deployment's template, computed when first asked for: most
	// requests (the Deployment controller's writes, scales) never need it.
	template func() string
}

func releaseOf(d *appsv1.Deployment) release {
	return release{
		stable:   d.Annotations[slogatev1alpha1.StableRevisionAnnotation],
		canary:   d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation],
		failed:   d.Annotations[slogatev1alpha1.FailedRevisionAnnotation],
		template: sync.OnceValue(func() string { return revision.Of(&d.Spec.Template) }),
	}
}

// live reports whether a release runs: a canary is recorded that is not the failed revision.
func (r release) live() bool { return r.canary != "" && r.canary != r.failed }

// stableRevision is the revision that keeps serving: the recorded one, or else the stored
// template's (also for a Deployment from before the namespace opted in, whose template lacks
// the label).
func (r release) stableRevision() string {
	if r.stable != "" {
		return r.stable
	}
	return r.template()
}

// heldOnFailed reports whether the stored Deployment is held on its failed revision (after a
// rollback): paused, with the failed template, and a recorded stable revision.
func heldOnFailed(d *appsv1.Deployment, r release) bool {
	return !r.live() && r.failed != "" && d.Spec.Paused && r.template() == r.failed
}

func mutateUpdate(old, d *appsv1.Deployment) DeploymentMutation {
	out := d.DeepCopy()
	cur := releaseOf(old)
	held := cur.live() || heldOnFailed(old, cur)

	// Release state is the stored object's: a request that drops it (a re-apply of the user's
	// manifest) gets it back, one that brings its own (a stale export) gets the stored one.
	dropped := false
	for _, k := range releaseAnnotations {
		v, inOld := old.Annotations[k]
		_, inNew := d.Annotations[k]
		switch {
		case inOld && !inNew:
			dropped = true
			setAnnotation(out, k, v)
		case inOld:
			setAnnotation(out, k, v)
		case inNew:
			delete(out.Annotations, k)
		}
	}

	next := revision.Of(&d.Spec.Template)
	if next == cur.template() {
		return mutateSameTemplate(old, out, held, dropped)
	}

	setLabel(&out.Spec.Template.Labels, slogatev1alpha1.RevisionLabel, next)
	stable := cur.stableRevision()
	name := d.Name
	switch {
	case held && next == stable:
		out.Spec.Paused = false
		delete(out.Annotations, slogatev1alpha1.StableRevisionAnnotation)
		delete(out.Annotations, slogatev1alpha1.CanaryRevisionAnnotation)
		ended := cur.canary
		if !cur.live() {
			ended = cur.failed
		}
		return DeploymentMutation{Decision: DecisionEnd, Deployment: out, Warnings: []string{fmt.Sprintf(
			"slogate: stable revision %s re-applied: the release of revision %s ends now and Deployment %s is unpaused",
			stable, ended, name)}}

	case cur.failed != "" && next == cur.failed:
		out.Spec.Paused = true
		setAnnotation(out, slogatev1alpha1.StableRevisionAnnotation, stable)
		delete(out.Annotations, slogatev1alpha1.CanaryRevisionAnnotation)
		return DeploymentMutation{Decision: DecisionFailedRevision, Deployment: out, Warnings: []string{fmt.Sprintf(
			"slogate: revision %s was rolled back before: no release starts and Deployment %s stays paused on stable %s; "+
				"to try it again: kubectl slogate retry %s -n %s", next, name, stable, name, d.Namespace)}}

	case cur.live():
		out.Spec.Paused = true
		setAnnotation(out, slogatev1alpha1.CanaryRevisionAnnotation, next)
		return DeploymentMutation{Decision: DecisionSupersede, Deployment: out, Warnings: []string{fmt.Sprintf(
			"slogate: revision %s supersedes canary %s: the release restarts from its first step, stable %s keeps serving; "+
				"follow it: kubectl slogate status %s -n %s --watch", next, cur.canary, stable, name, d.Namespace)}}

	case !held:
		if reason := noCanaryReason(old, d); reason != "" {
			return DeploymentMutation{Decision: DecisionNoCanary, Deployment: out, Warnings: []string{fmt.Sprintf(
				"slogate: no canary release for revision %s: %s; it rolls out as a plain rolling update", next, reason)}}
		}
	}
	// A new release: from a settled Deployment, or from one held on a failed revision (its
	// recorded stable revision keeps serving).
	out.Spec.Paused = true
	setAnnotation(out, slogatev1alpha1.StableRevisionAnnotation, stable)
	setAnnotation(out, slogatev1alpha1.CanaryRevisionAnnotation, next)
	return DeploymentMutation{Decision: DecisionHold, Deployment: out, Warnings: []string{fmt.Sprintf(
		"slogate: canary release of revision %s started, stable %s keeps serving and Deployment %s stays paused until it ends; "+
			"follow it: kubectl slogate status %s -n %s --watch", next, stable, name, name, d.Namespace)}}
}

// mutateSameTemplate handles an update that leaves the template's revision as it is (a scale,
// metadata, the Deployment controller's own writes, a re-apply). The template's revision label
// stays as stored, so the template is byte-for-byte the stored one and nothing rolls out; a
// re-apply that dropped the release annotations also keeps the stored spec.paused.
func mutateSameTemplate(old, out *appsv1.Deployment, held, dropped bool) DeploymentMutation {
	decision := DecisionUnchanged
	if v, ok := old.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; ok {
		if out.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] != v {
			decision = DecisionRestored
		}
		setLabel(&out.Spec.Template.Labels, slogatev1alpha1.RevisionLabel, v)
	} else if _, ok := out.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; ok {
		delete(out.Spec.Template.Labels, slogatev1alpha1.RevisionLabel)
		decision = DecisionRestored
	}
	if held && dropped && old.Spec.Paused && !out.Spec.Paused {
		out.Spec.Paused = true
	}
	if dropped {
		decision = DecisionRestored
	}
	return DeploymentMutation{Decision: decision, Deployment: out}
}

// noCanaryReason says why a template change of a Deployment that holds no release cannot start
// one, or "" when it can.
func noCanaryReason(old, d *appsv1.Deployment) string {
	st := old.Status
	switch {
	case replicas(d) == 0:
		return "replicas is 0"
	case replicas(old) == 0:
		return "it was scaled to 0, so no stable revision serves"
	case st.AvailableReplicas == 0:
		return "no replica of the current revision is available yet"
	case st.ObservedGeneration < old.Generation:
		return "the Deployment controller has not yet seen the previous change"
	case st.UpdatedReplicas < replicas(old) || st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("the previous rolling update has not finished (%d of %d replicas updated, %d in all)",
			st.UpdatedReplicas, replicas(old), st.Replicas)
	}
	return ""
}

// replicas is spec.replicas with the API's default of 1.
func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func setLabel(m *map[string]string, k, v string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
}

func setAnnotation(d *appsv1.Deployment, k, v string) { setLabel(&d.Annotations, k, v) }
