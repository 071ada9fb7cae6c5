package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// PreviewOutcome is what applying a Deployment would do.
type PreviewOutcome string

const (
	// PreviewRejected: the API server (a webhook, validation) would refuse the change.
	PreviewRejected PreviewOutcome = "Rejected"
	// PreviewNotOptedIn: the namespace did not opt in; the change would be a plain rolling update.
	PreviewNotOptedIn PreviewOutcome = "NotOptedIn"
	// PreviewSkipped: the Deployment opts out with slogate.io/skip; a plain rolling update.
	PreviewSkipped PreviewOutcome = "Skipped"
	// PreviewCreate: the Deployment would be created; a new Deployment has no release.
	PreviewCreate PreviewOutcome = "Create"
	// PreviewNoChange: the pod template would not change; no release starts.
	PreviewNoChange PreviewOutcome = "NoTemplateChange"
	// PreviewStartsRelease: the change would start a canary release.
	PreviewStartsRelease PreviewOutcome = "StartsRelease"
	// PreviewSupersedes: the change would replace the canary of a running release and restart the steps.
	PreviewSupersedes PreviewOutcome = "SupersedesRelease"
	// PreviewEndsRelease: the stable template is re-applied during a release, which ends it at once.
	PreviewEndsRelease PreviewOutcome = "EndsRelease"
	// PreviewFailedRevision: the template is the one that was rolled back; no new release starts.
	PreviewFailedRevision PreviewOutcome = "FailedRevision"
	// PreviewPlainUpdate: the template would change but no release would start (the admission
	// warnings say why).
	PreviewPlainUpdate PreviewOutcome = "PlainUpdate"
)

// PreviewInput is what a server-side dry run of one Deployment told.
type PreviewInput struct {
	// Name and Namespace of the Deployment.
	Name, Namespace string
	// OptedIn says whether the namespace carries slogate.io/canary=enabled.
	OptedIn bool
	// Live is the Deployment as stored; nil when it does not exist yet.
	Live *appsv1.Deployment
	// Result is the Deployment the dry run returned (after every mutating webhook); nil when the
	// change was rejected.
	Result *appsv1.Deployment
	// Rejection is the API server's message when the change was rejected.
	Rejection string
	// Warnings are the admission warnings of the dry run.
	Warnings []string
	// Policy names the policy the release's steps would come from, and Steps its steps.
	Policy string
	Steps  []slogatev1alpha1.CanaryStep
}

// Preview is the verdict on one Deployment.
type Preview struct {
	Outcome PreviewOutcome
	// Name and Namespace of the Deployment.
	Name, Namespace string
	// Revision is the revision of the applied template; StableRevision the one that would keep
	// serving; PreviousCanary the canary a superseding change replaces.
	Revision, StableRevision, PreviousCanary string
	// Policy and Steps of the release the change would start, when it starts one.
	Policy string
	Steps  []slogatev1alpha1.CanaryStep
	// Warnings are the admission warnings of the dry run.
	Warnings []string
	// Message says what would happen in one sentence.
	Message string
}

// StartsRelease reports whether the change would start a release (or restart one with a new canary).
func (p Preview) StartsRelease() bool {
	return p.Outcome == PreviewStartsRelease || p.Outcome == PreviewSupersedes
}

// Classify says what applying a Deployment would do, from what the server-side dry run returned.
// The webhook's mutation is the evidence: a change that starts a release comes back paused with
// slogate.io/canary-revision naming the new template's revision.
func Classify(in PreviewInput) Preview {
	p := Preview{Name: in.Name, Namespace: in.Namespace, Warnings: in.Warnings}
	switch {
	case in.Rejection != "":
		p.Outcome, p.Message = PreviewRejected, "the API server would reject the change: "+in.Rejection
		return p
	case in.Result == nil:
		p.Outcome, p.Message = PreviewRejected, "the API server returned no object"
		return p
	}
	p.Revision = templateRevision(in.Result)
	switch {
	case !in.OptedIn:
		p.Outcome = PreviewNotOptedIn
		p.Message = fmt.Sprintf("namespace %s did not opt in (%s=%s): the change would roll out as a plain rolling update",
			in.Namespace, slogatev1alpha1.NamespaceOptInLabel, slogatev1alpha1.NamespaceOptInValue)
		return p
	case in.Live == nil:
		p.Outcome = PreviewCreate
		p.Message = fmt.Sprintf("the Deployment would be created with revision %s; a new Deployment has nothing stable to compare "+
			"against, so no release starts", p.Revision)
		return p
	case in.Result.Annotations[slogatev1alpha1.SkipAnnotation] == "true":
		p.Outcome = PreviewSkipped
		p.Message = fmt.Sprintf("the Deployment opts out with %s=true: the change would roll out as a plain rolling update", slogatev1alpha1.SkipAnnotation)
		return p
	}

	live, res := in.Live, in.Result
	liveRev := templateRevision(live)
	liveCanary := live.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	liveFailed := live.Annotations[slogatev1alpha1.FailedRevisionAnnotation]
	// As the webhook sees it: a release runs while a canary is recorded that is not the failed
	// revision; after a rollback the Deployment is held paused on the failed template.
	running := liveCanary != "" && liveCanary != liveFailed
	heldOnFailed := !running && liveFailed != "" && liveRev == liveFailed && live.Spec.Paused
	resCanary := res.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	p.StableRevision = res.Annotations[slogatev1alpha1.StableRevisionAnnotation]

	// The result holds a release when it is paused on a recorded canary that is its template and
	// not the failed revision.
	if res.Spec.Paused && resCanary != "" && resCanary == p.Revision && resCanary != res.Annotations[slogatev1alpha1.FailedRevisionAnnotation] {
		switch {
		case running && liveCanary == resCanary:
			p.Outcome = PreviewNoChange
			p.Message = fmt.Sprintf("the release of revision %s is already running; this change leaves it as it is", resCanary)
		case running:
			p.Outcome, p.PreviousCanary = PreviewSupersedes, liveCanary
			p.Policy, p.Steps = in.Policy, in.Steps
			p.Message = fmt.Sprintf("the change would replace the running canary %s with revision %s and restart the steps "+
				"(stable %s keeps serving)", liveCanary, resCanary, orDash(p.StableRevision))
		default:
			p.Outcome = PreviewStartsRelease
			p.Policy, p.Steps = in.Policy, in.Steps
			p.Message = fmt.Sprintf("the change would start a canary release of revision %s (stable %s keeps serving)",
				resCanary, orDash(p.StableRevision))
		}
		return p
	}
	switch {
	case (running || heldOnFailed) && p.Revision == live.Annotations[slogatev1alpha1.StableRevisionAnnotation]:
		p.Outcome = PreviewEndsRelease
		ended := liveCanary
		if !running {
			ended = liveFailed
		}
		p.Message = fmt.Sprintf("the change re-applies the stable revision %s: the release of %s would end at once, "+
			"traffic stay on stable and the Deployment be unpaused", p.Revision, ended)
	case p.Revision == liveFailed:
		p.Outcome = PreviewFailedRevision
		p.Message = fmt.Sprintf("revision %s was rolled back before; applying it again starts no release "+
			"(use kubectl slogate retry %s to try it again)", p.Revision, in.Name)
	case p.Revision == liveRev:
		p.Outcome = PreviewNoChange
		p.Message = fmt.Sprintf("the pod template would not change (revision %s): no release starts", p.Revision)
	default:
		p.Outcome = PreviewPlainUpdate
		p.Message = fmt.Sprintf("the pod template would change to revision %s but no release would start: the Deployment "+
			"would roll out as a plain rolling update (see the warnings)", p.Revision)
	}
	return p
}

// templateRevision is the revision of a Deployment's pod template: the webhook's label, or the hash
// of the template when the label is missing (a Deployment from before the namespace opted in).
func templateRevision(d *appsv1.Deployment) string {
	if r := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; r != "" {
		return r
	}
	return revision.Of(&d.Spec.Template)
}

// RenderPreview writes the verdicts of a preview.
func RenderPreview(w io.Writer, previews []Preview) error {
	var b bytes.Buffer
	for i, p := range previews {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "deployment %s/%s: %s\n", p.Namespace, p.Name, esc(p.Message))
		if p.StartsRelease() {
			fmt.Fprintf(&b, "  revision:  %s\n", p.Revision)
			fmt.Fprintf(&b, "  stable:    %s\n", orDash(p.StableRevision))
			fmt.Fprintf(&b, "  policy:    %s\n", orDash(p.Policy))
			b.WriteString("  steps:\n")
			for j, s := range p.Steps {
				fmt.Fprintf(&b, "    %2d  %s\n", j+1, esc(DescribeStep(s)))
			}
		}
		if len(p.Warnings) > 0 {
			b.WriteString("  warnings:\n")
			for _, wn := range p.Warnings {
				fmt.Fprintf(&b, "    - %s\n", esc(strings.TrimSpace(wn)))
			}
		}
		if p.StartsRelease() {
			fmt.Fprintf(&b, "  watch it:  kubectl slogate status %s -n %s --watch\n", p.Name, p.Namespace)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
