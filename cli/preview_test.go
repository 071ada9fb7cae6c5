package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func (b *deploymentBuilder) revision(r string) *deploymentBuilder {
	if b.d.Spec.Template.Labels == nil {
		b.d.Spec.Template.Labels = map[string]string{}
	}
	b.d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] = r
	return b
}

// held is a Deployment the webhook holds for canary, with stable serving.
func held(stable, canary string) *deploymentBuilder {
	return makeDeployment("web").paused().revision(canary).
		annotate(slogatev1alpha1.StableRevisionAnnotation, stable).annotate(slogatev1alpha1.CanaryRevisionAnnotation, canary)
}

func TestClassify(t *testing.T) {
	steps := seedSteps()[:3]
	plain := makeDeployment("web").revision("1111")
	tests := map[string]struct {
		in   PreviewInput
		want Preview
	}{
		"rejected": {
			in:   PreviewInput{OptedIn: true, Live: plain.obj(), Rejection: `admission webhook "validate.slogate.io" denied the request: metadata.annotations[slogate.io/skip]: Invalid value`},
			want: Preview{Outcome: PreviewRejected, Message: `the API server would reject the change: admission webhook "validate.slogate.io" denied the request: metadata.annotations[slogate.io/skip]: Invalid value`},
		},
		"not opted in": {
			in:   PreviewInput{Live: plain.obj(), Result: makeDeployment("web").revision("2222").obj()},
			want: Preview{Outcome: PreviewNotOptedIn, Revision: "2222", Message: "namespace shop did not opt in (slogate.io/canary=enabled): the change would roll out as a plain rolling update"},
		},
		"create": {
			in:   PreviewInput{OptedIn: true, Result: makeDeployment("web").revision("1111").obj()},
			want: Preview{Outcome: PreviewCreate, Revision: "1111", Message: "the Deployment would be created with revision 1111; a new Deployment has nothing stable to compare against, so no release starts"},
		},
		"skipped": {
			in:   PreviewInput{OptedIn: true, Live: plain.obj(), Result: makeDeployment("web").revision("2222").annotate(slogatev1alpha1.SkipAnnotation, "true").obj()},
			want: Preview{Outcome: PreviewSkipped, Revision: "2222", Message: "the Deployment opts out with slogate.io/skip=true: the change would roll out as a plain rolling update"},
		},
		"starts a release": {
			in: PreviewInput{OptedIn: true, Live: plain.obj(), Result: held("1111", "2222").obj(),
				Warnings: []string{"slogate: canary release of revision 2222 started"}, Policy: "RolloutPolicy/web", Steps: steps},
			want: Preview{Outcome: PreviewStartsRelease, Revision: "2222", StableRevision: "1111", Policy: "RolloutPolicy/web", Steps: steps,
				Warnings: []string{"slogate: canary release of revision 2222 started"},
				Message:  "the change would start a canary release of revision 2222 (stable 1111 keeps serving)"},
		},
		"supersedes a running release": {
			in: PreviewInput{OptedIn: true, Live: held("1111", "2222").obj(), Result: held("1111", "3333").obj(), Policy: "default", Steps: steps},
			want: Preview{Outcome: PreviewSupersedes, Revision: "3333", StableRevision: "1111", PreviousCanary: "2222", Policy: "default", Steps: steps,
				Message: "the change would replace the running canary 2222 with revision 3333 and restart the steps (stable 1111 keeps serving)"},
		},
		"same canary again": {
			in:   PreviewInput{OptedIn: true, Live: held("1111", "2222").obj(), Result: held("1111", "2222").obj(), Policy: "default", Steps: steps},
			want: Preview{Outcome: PreviewNoChange, Revision: "2222", StableRevision: "1111", Message: "the release of revision 2222 is already running; this change leaves it as it is"},
		},
		"stable re-applied ends the release": {
			in: PreviewInput{OptedIn: true, Live: held("1111", "2222").obj(),
				Result: makeDeployment("web").revision("1111").annotate(slogatev1alpha1.StableRevisionAnnotation, "1111").obj()},
			want: Preview{Outcome: PreviewEndsRelease, Revision: "1111", StableRevision: "1111",
				Message: "the change re-applies the stable revision 1111: the release of 2222 would end at once, traffic stay on stable and the Deployment be unpaused"},
		},
		"stable re-applied ends the hold on a failed revision": {
			in: PreviewInput{OptedIn: true,
				Live: makeDeployment("web").paused().revision("2222").annotate(slogatev1alpha1.StableRevisionAnnotation, "1111").
					annotate(slogatev1alpha1.CanaryRevisionAnnotation, "2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(),
				Result: makeDeployment("web").revision("1111").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj()},
			want: Preview{Outcome: PreviewEndsRelease, Revision: "1111",
				Message: "the change re-applies the stable revision 1111: the release of 2222 would end at once, traffic stay on stable and the Deployment be unpaused"},
		},
		"new template after a rollback starts a release": {
			in: PreviewInput{OptedIn: true,
				Live: makeDeployment("web").paused().revision("2222").annotate(slogatev1alpha1.StableRevisionAnnotation, "1111").
					annotate(slogatev1alpha1.CanaryRevisionAnnotation, "2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(),
				Result: held("1111", "3333").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(), Policy: "default", Steps: steps},
			want: Preview{Outcome: PreviewStartsRelease, Revision: "3333", StableRevision: "1111", Policy: "default", Steps: steps,
				Message: "the change would start a canary release of revision 3333 (stable 1111 keeps serving)"},
		},
		"failed revision re-applied": {
			in: PreviewInput{OptedIn: true, Live: makeDeployment("web").paused().revision("2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(),
				Result:   makeDeployment("web").paused().revision("2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(),
				Warnings: []string{"revision 2222 failed before"}},
			want: Preview{Outcome: PreviewFailedRevision, Revision: "2222", Warnings: []string{"revision 2222 failed before"},
				Message: "revision 2222 was rolled back before; applying it again starts no release (use kubectl slogate retry web to try it again)"},
		},
		"failed template re-applied while the canary annotation stays": {
			in: PreviewInput{OptedIn: true,
				Live:   held("1111", "2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj(),
				Result: held("1111", "2222").annotate(slogatev1alpha1.FailedRevisionAnnotation, "2222").obj()},
			want: Preview{Outcome: PreviewFailedRevision, Revision: "2222", StableRevision: "1111",
				Message: "revision 2222 was rolled back before; applying it again starts no release (use kubectl slogate retry web to try it again)"},
		},
		"no template change": {
			in:   PreviewInput{OptedIn: true, Live: plain.obj(), Result: makeDeployment("web").revision("1111").obj()},
			want: Preview{Outcome: PreviewNoChange, Revision: "1111", Message: "the pod template would not change (revision 1111): no release starts"},
		},
		"template change without a release": {
			in: PreviewInput{OptedIn: true, Live: plain.obj(), Result: makeDeployment("web").revision("2222").obj(), Warnings: []string{"stable revision not available"}},
			want: Preview{Outcome: PreviewPlainUpdate, Revision: "2222", Warnings: []string{"stable revision not available"},
				Message: "the pod template would change to revision 2222 but no release would start: the Deployment would roll out as a plain rolling update (see the warnings)"},
		},
		"live without revision label is hashed": {
			in: PreviewInput{OptedIn: true, Live: makeDeployment("web").obj(),
				Result: makeDeployment("web").revision(templateRevision(makeDeployment("web").obj())).obj()},
			want: Preview{Outcome: PreviewNoChange, Revision: templateRevision(makeDeployment("web").obj()),
				Message: "the pod template would not change (revision " + templateRevision(makeDeployment("web").obj()) + "): no release starts"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Name, tc.in.Namespace = "web", "shop"
			tc.want.Name, tc.want.Namespace = "web", "shop"
			got := Classify(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Classify() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderPreview(t *testing.T) {
	in := []PreviewInput{
		{OptedIn: true, Live: makeDeployment("web").revision("1111").obj(), Result: held("1111", "2222").obj(),
			Warnings: []string{"slogate: canary release of web (revision 2222) started; watch it with kubectl slogate status web -n shop --watch"},
			Policy:   "ClusterRolloutPolicy/standard", Steps: seedSteps()},
		{OptedIn: true, Live: makeDeployment("web").revision("1111").obj(),
			Rejection: "admission webhook \"vdeployment.slogate.io\" denied the request: spec.paused: Forbidden: a release is running"},
		{OptedIn: true, Result: makeDeployment("web").revision("1111").obj()},
	}
	var previews []Preview
	for i, p := range in {
		p.Name, p.Namespace = []string{"web", "api", "cart"}[i], "shop"
		previews = append(previews, Classify(p))
	}
	var b strings.Builder
	if err := RenderPreview(&b, previews); err != nil {
		t.Fatalf("RenderPreview: %v", err)
	}
	checkGolden(t, "preview.txt", b.String())
}
