package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func TestMutateService(t *testing.T) {
	plain := makeService("web-stable")
	pinned := plain.pinned("pod-template-hash", "6b9f7c8d5")
	const kept = "slogate: kept slogate.io/pinned annotation and selector pod-template-hash=6b9f7c8d5 on Service web-stable: " +
		"a canary release pins it until it ends"
	twoKeys := plain.selector("pod-template-hash", "6b9f7c8d5").selector(slogatev1alpha1.RevisionLabel, "x7c").
		annotation(slogatev1alpha1.StablePinAnnotation, "pod-template-hash,slogate.io/revision")

	cases := map[string]struct {
		op         admissionv1.Operation
		old, new   *corev1.Service
		byAnalyzer bool
		want       ServiceMutation
		wantErrs   []string
	}{
		"a re-apply that drops the pin gets it back": {
			op: admissionv1.Update, old: pinned.obj(), new: plain.obj(),
			want: ServiceMutation{Decision: DecisionRestored, Service: pinned.obj(), Warnings: []string{kept}},
		},
		"a re-apply with a new port keeps the pin and the port": {
			op: admissionv1.Update, old: pinned.obj(),
			new: func() *corev1.Service { s := plain.obj(); s.Spec.Ports[0].Port = 8080; return s }(),
			want: ServiceMutation{Decision: DecisionRestored, Warnings: []string{kept},
				Service: func() *corev1.Service { s := pinned.obj(); s.Spec.Ports[0].Port = 8080; return s }()},
		},
		"an update that keeps the pin changes nothing": {
			op: admissionv1.Update, old: pinned.obj(), new: pinned.annotation("team", "payments").obj(),
			want: ServiceMutation{Decision: DecisionUnchanged, Service: pinned.annotation("team", "payments").obj()},
		},
		"a user's change of the pinned value is undone": {
			op: admissionv1.Update, old: pinned.obj(), new: pinned.selector("pod-template-hash", "other").obj(),
			want: ServiceMutation{Decision: DecisionRestored, Service: pinned.obj(), Warnings: []string{
				"slogate: kept selector pod-template-hash=6b9f7c8d5 on Service web-stable: a canary release pins it until it ends"}},
		},
		"a user's change of another selector key goes through": {
			op: admissionv1.Update, old: pinned.obj(), new: plain.selector("app", "web2").selector("tier", "api").obj(),
			want: ServiceMutation{Decision: DecisionRestored, Warnings: []string{kept},
				Service: pinned.selector("app", "web2").selector("tier", "api").obj()},
		},
		"a user's removal of the whole selector keeps the pinned key": {
			op: admissionv1.Update, old: pinned.obj(), new: plain.noSelector("app").obj(),
			want: ServiceMutation{Decision: DecisionRestored, Warnings: []string{kept}, Service: pinned.noSelector("app").obj()},
		},
		"a user's attempt to unpin by changing the annotation is undone": {
			op: admissionv1.Update, old: pinned.obj(), new: plain.annotation(slogatev1alpha1.StablePinAnnotation, "app").obj(),
			want: ServiceMutation{Decision: DecisionRestored, Service: pinned.obj(), Warnings: []string{kept}},
		},
		"a pin of two keys": {
			op: admissionv1.Update, old: twoKeys.obj(), new: plain.obj(),
			want: ServiceMutation{Decision: DecisionRestored, Service: twoKeys.obj(), Warnings: []string{
				"slogate: kept slogate.io/pinned annotation and selector pod-template-hash=6b9f7c8d5 and selector slogate.io/revision=x7c " +
					"on Service web-stable: a canary release pins it until it ends"}},
		},
		"the analyzer pins": {
			op: admissionv1.Update, old: plain.obj(), new: pinned.obj(), byAnalyzer: true,
			want: ServiceMutation{Decision: DecisionAnalyzer, Service: pinned.obj()},
		},
		"the analyzer unpins": {
			op: admissionv1.Update, old: pinned.obj(), new: plain.obj(), byAnalyzer: true,
			want: ServiceMutation{Decision: DecisionAnalyzer, Service: plain.obj()},
		},
		"the analyzer writes a malformed pin": {
			op: admissionv1.Update, old: plain.obj(), new: plain.annotation(slogatev1alpha1.StablePinAnnotation, "pod-template-hash,").obj(),
			byAnalyzer: true,
			want:       ServiceMutation{Decision: DecisionDenied},
			wantErrs: []string{`metadata.annotations[slogate.io/pinned]: Invalid value: "pod-template-hash,": key "": name part must be ` +
				`non-empty`, `metadata.annotations[slogate.io/pinned]: Invalid value: "pod-template-hash,": key "": name part must consist ` +
				`of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or ` +
				`'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		},
		"a user adds an empty pin": {
			op: admissionv1.Update, old: plain.obj(), new: plain.annotation(slogatev1alpha1.StablePinAnnotation, "").obj(),
			want: ServiceMutation{Decision: DecisionDenied},
			wantErrs: []string{`metadata.annotations[slogate.io/pinned]: Invalid value: "": must list the pinned selector keys, ` +
				`comma-separated, such as pod-template-hash`},
		},
		"a pin listing a key twice": {
			op: admissionv1.Update, old: plain.obj(), new: plain.annotation(slogatev1alpha1.StablePinAnnotation, "a,a").obj(), byAnalyzer: true,
			want:     ServiceMutation{Decision: DecisionDenied},
			wantErrs: []string{`metadata.annotations[slogate.io/pinned]: Invalid value: "a,a": key "a" is listed twice`},
		},
		"a stored pin slogate cannot read is not kept": {
			op: admissionv1.Update, old: plain.annotation(slogatev1alpha1.StablePinAnnotation, "bad key").obj(), new: plain.obj(),
			want: ServiceMutation{Decision: DecisionUnchanged, Service: plain.obj()},
		},
		"a Service without a pin": {
			op: admissionv1.Update, old: plain.obj(), new: plain.selector("app", "x").obj(),
			want: ServiceMutation{Decision: DecisionUnchanged, Service: plain.selector("app", "x").obj()},
		},
		"create": {
			op: admissionv1.Create, new: plain.obj(),
			want: ServiceMutation{Decision: DecisionUnchanged, Service: plain.obj()},
		},
		"delete": {op: admissionv1.Delete, old: pinned.obj(), want: ServiceMutation{Decision: DecisionIgnored}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, errs := MutateService(ServiceRequest{Operation: tc.op, Old: tc.old, New: tc.new, ByAnalyzer: tc.byAnalyzer})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MutateService() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErrs, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
