package webhook

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidateDeployment(t *testing.T) {
	v1 := makeDeployment("web").labelled()
	r1 := v1.rev()
	v2 := v1.image("v2")
	r2 := v2.rev()
	held := v2.labelled().paused(true).release(r1, r2)
	rolledBack := v2.labelled().paused(true).annotation(slogatev1alpha1.StableRevisionAnnotation, r1).
		annotation(slogatev1alpha1.FailedRevisionAnnotation, r2)
	liveUnpause := fmt.Sprintf(`spec.paused: Forbidden: the canary release of revision %s is live and slogate holds Deployment web `+
		`paused until it ends: use kubectl slogate promote web -n shop, or kubectl slogate abort web -n shop`, r2)

	cases := map[string]struct {
		op           admissionv1.Operation
		old, new     *appsv1.Deployment
		byAnalyzer   bool
		wantErrs     []string
		wantWarnings []string
	}{
		"a labelled create": {op: admissionv1.Create, new: v1.obj()},
		"a held Deployment as the mutation left it": {
			op: admissionv1.Update, old: v1.obj(), new: held.obj(),
		},
		"skip must be true or false": {
			op: admissionv1.Create, new: v1.annotation(slogatev1alpha1.SkipAnnotation, "yes").obj(),
			wantErrs: []string{`metadata.annotations[slogate.io/skip]: Unsupported value: "yes": supported values: "true", "false"`},
		},
		"an empty revision annotation": {
			op: admissionv1.Update, old: v1.obj(), new: v1.annotation(slogatev1alpha1.CanaryRevisionAnnotation, "").obj(),
			wantErrs: []string{`metadata.annotations[slogate.io/canary-revision]: Invalid value: "": must name a revision, such as 5d8f7c9b4`},
		},
		"a revision annotation that is no label value": {
			op: admissionv1.Update, old: v1.obj(), new: v1.annotation(slogatev1alpha1.StableRevisionAnnotation, "not a revision!").obj(),
			byAnalyzer: true,
			wantErrs: []string{`metadata.annotations[slogate.io/stable-revision]: Invalid value: "not a revision!": must be a revision ` +
				`(a label value): a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must ` +
				`start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is ` +
				`'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		},
		"several malformed annotations are all reported, in path order": {
			op: admissionv1.Create,
			new: v1.annotation(slogatev1alpha1.SkipAnnotation, "1").annotation(slogatev1alpha1.ActionAnnotation, "go").
				annotation(slogatev1alpha1.FailedRevisionAnnotation, "").obj(),
			wantErrs: []string{
				`metadata.annotations[slogate.io/action]: Unsupported value: "go": supported values: "promote", "promote-full", "abort", "retry"`,
				`metadata.annotations[slogate.io/failed-revision]: Invalid value: "": must name a revision, such as 5d8f7c9b4`,
				`metadata.annotations[slogate.io/skip]: Unsupported value: "1": supported values: "true", "false"`,
			},
		},
		"an action the plugin writes": {
			op: admissionv1.Update, old: held.obj(), new: held.annotation(slogatev1alpha1.ActionAnnotation, slogatev1alpha1.ActionPromoteFull).obj(),
		},
		"an unknown slogate annotation draws a warning": {
			op: admissionv1.Create, new: v1.annotation("slogate.io/weight", "5").obj(),
			wantWarnings: []string{"slogate: annotation slogate.io/weight has no meaning on a Deployment and is ignored " +
				"(known: slogate.io/skip, slogate.io/stable-revision, slogate.io/canary-revision, slogate.io/failed-revision, slogate.io/action)"},
		},
		"a malformed template revision label": {
			op: admissionv1.Create, new: v1.revisionLabel("-x-").obj(),
			wantErrs: []string{`spec.template.metadata.labels[slogate.io/revision]: Invalid value: "-x-": must be a revision ` +
				`(a label value): a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must ` +
				`start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is ` +
				`'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		},
		"a user's un-pause mid-release": {
			op: admissionv1.Update, old: held.obj(), new: held.paused(false).obj(),
			wantErrs: []string{liveUnpause},
		},
		"a user's un-pause with another change mid-release": {
			op: admissionv1.Update, old: held.obj(), new: held.paused(false).replicas(5).obj(),
			wantErrs: []string{liveUnpause},
		},
		"a user's un-pause while held on a failed revision": {
			op: admissionv1.Update, old: rolledBack.obj(), new: rolledBack.paused(false).obj(),
			wantErrs: []string{fmt.Sprintf(`spec.paused: Forbidden: revision %s was rolled back and slogate holds Deployment web paused `+
				`on it: apply a new template, re-apply the stable one, or kubectl slogate retry web -n shop`, r2)},
		},
		"the analyzer's un-pause (promotion)": {
			op: admissionv1.Update, old: held.obj(), new: held.paused(false).obj(), byAnalyzer: true,
		},
		"an un-pause with skip": {
			op: admissionv1.Update, old: held.obj(), new: held.paused(false).annotation(slogatev1alpha1.SkipAnnotation, "true").obj(),
		},
		"an un-pause of a Deployment the user paused": {
			op: admissionv1.Update, old: v1.paused(true).obj(), new: v1.obj(),
		},
		"the stable template re-applied, as the mutation ended the release": {
			op: admissionv1.Update, old: held.obj(), new: v1.obj(),
		},
		"the failed revision held, as the mutation left it": {
			op: admissionv1.Update, old: held.obj(),
			new: held.noAnnotation(slogatev1alpha1.CanaryRevisionAnnotation).annotation(slogatev1alpha1.FailedRevisionAnnotation, r2).obj(),
		},
		"a live release's annotations removed without re-applying stable": {
			op: admissionv1.Update, old: held.obj(),
			new: held.noAnnotation(slogatev1alpha1.CanaryRevisionAnnotation).noAnnotation(slogatev1alpha1.StableRevisionAnnotation).obj(),
			wantErrs: []string{fmt.Sprintf(`metadata.annotations[slogate.io/canary-revision]: Forbidden: the canary release of revision %s `+
				`is live: only slogate ends it; re-apply the stable template (revision %s) or use kubectl slogate abort web -n shop`, r2, r1)},
		},
		"the analyzer ends a release": {
			op: admissionv1.Update, old: held.obj(), byAnalyzer: true,
			new: held.noAnnotation(slogatev1alpha1.CanaryRevisionAnnotation).noAnnotation(slogatev1alpha1.StableRevisionAnnotation).obj(),
		},
		"delete": {op: admissionv1.Delete, old: held.obj()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs, warnings := ValidateDeployment(DeploymentRequest{Operation: tc.op, Old: tc.old, New: tc.new, ByAnalyzer: tc.byAnalyzer})
			if diff := cmp.Diff(tc.wantErrs, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
