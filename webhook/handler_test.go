package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var (
	deploymentKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	deploymentRes  = metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	serviceKind    = metav1.GroupVersionKind{Version: "v1", Kind: "Service"}
	routeKind      = metav1.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	policyKind     = metav1.GroupVersionKind{Group: "slogate.io", Version: "v1alpha1", Kind: "RolloutPolicy"}
)

// reviewSpec describes one AdmissionReview the API server would send.
type reviewSpec struct {
	op       admissionv1.Operation
	kind     metav1.GroupVersionKind
	user     string
	old, new any
	dryRun   bool
}

// reviewJSON encodes an AdmissionReview as the API server sends it.
func reviewJSON(t testing.TB, r reviewSpec) []byte {
	t.Helper()
	raw := func(o any) runtime.RawExtension {
		if o == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	name := ""
	for _, o := range []any{r.new, r.old} {
		if m, ok := o.(metav1.Object); ok {
			name = m.GetName()
			break
		}
	}
	user := r.user
	if user == "" {
		user = testUser
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "705ab4f5-6393-11e8-b7cc-42010a800002", Kind: r.kind, Resource: deploymentRes,
			RequestKind: &r.kind, Name: name, Namespace: testNamespace, Operation: r.op,
			UserInfo:  authenticationv1.UserInfo{Username: user, Groups: []string{"system:authenticated"}},
			Object:    raw(r.new),
			OldObject: raw(r.old),
			DryRun:    ptr.To(r.dryRun),
		},
	}
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve posts body to the handler as the API server would and returns the decoded response.
func serve(t testing.TB, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil {
		t.Fatalf("decoding the response %q: %v", rec.Body.String(), err)
	}
	if ar.Response == nil {
		t.Fatalf("the response %q has no AdmissionResponse", rec.Body.String())
	}
	return ar.Response
}

func hook(h admission.Handler) http.Handler {
	return &admission.Webhook{Handler: h, RecoverPanic: ptr.To(false)}
}

// answer is the part of an AdmissionResponse the tests assert.
type answer struct {
	Allowed  bool
	Code     int32
	Message  string
	Patch    string
	Warnings []string
}

func answerOf(r *admissionv1.AdmissionResponse) answer {
	a := answer{Allowed: r.Allowed, Patch: string(r.Patch), Warnings: r.Warnings}
	if r.Result != nil {
		a.Code, a.Message = r.Result.Code, r.Result.Message
	}
	return a
}

func TestHandlers(t *testing.T) {
	opts := Options{AnalyzerUsername: testAnalyzer}
	web := makeDeployment("web")
	v1 := web.labelled()
	r1 := v1.rev()
	v2 := v1.image("v2")
	r2 := v2.rev()
	held := v2.labelled().paused(true).release(r1, r2)
	canary := makeDeployment("web-canary").labelled().label(slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue)
	started := fmt.Sprintf("slogate: canary release of revision %s started, stable %s keeps serving and Deployment web stays "+
		"paused until it ends; follow it: kubectl slogate status web -n shop --watch", r2, r1)
	holdPatch := fmt.Sprintf(`[{"op":"add","path":"/spec/paused","value":true},`+
		`{"op":"replace","path":"/spec/template/metadata/labels/slogate.io~1revision","value":"%s"},`+
		`{"op":"add","path":"/metadata/annotations/slogate.io~1stable-revision","value":"%s"},`+
		`{"op":"add","path":"/metadata/annotations/slogate.io~1canary-revision","value":"%s"}]`, r2, r1, r2)
	badPolicy := &slogatev1alpha1.RolloutPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "slogate.io/v1alpha1", Kind: "RolloutPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: testNamespace},
		Spec:       slogatev1alpha1.RolloutPolicySpec{Steps: []slogatev1alpha1.CanaryStep{{}}}}
	scheme := runtime.NewScheme()
	if err := slogatev1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		handler http.Handler
		review  reviewSpec
		body    []byte // instead of review
		want    answer
	}{
		"mutate: create labels the template": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Create, kind: deploymentKind, new: web.obj()},
			want: answer{Allowed: true, Code: 200, Patch: fmt.Sprintf(
				`[{"op":"add","path":"/spec/template/metadata/labels/slogate.io~1revision","value":"%s"}]`, web.rev())},
		},
		"mutate: create without template labels or annotations": {
			handler: hook(NewDeploymentMutator(opts)),
			review: reviewSpec{op: admissionv1.Create, kind: deploymentKind, new: func() any {
				d := web.noAnnotations().obj()
				d.Spec.Template.Labels = nil
				return d
			}()},
			want: answer{Allowed: true, Code: 200, Patch: fmt.Sprintf(
				`[{"op":"add","path":"/spec/template/metadata/labels","value":{"slogate.io/revision":"%s"}}]`, func() string {
					d := web.obj()
					d.Spec.Template.Labels = nil
					return deploymentBuilder{d: d}.rev()
				}())},
		},
		"mutate: an image change is held": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: v1.obj(), new: v2.obj()},
			want:    answer{Allowed: true, Code: 200, Patch: holdPatch, Warnings: []string{started}},
		},
		"mutate: a server-side dry run gets the same mutation": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: v1.obj(), new: v2.obj(), dryRun: true},
			want:    answer{Allowed: true, Code: 200, Patch: holdPatch, Warnings: []string{started}},
		},
		"mutate: a scale yields no patch": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: v1.obj(), new: v1.replicas(6).obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"mutate: the same object yields no patch": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: held.obj(), new: held.obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"mutate: the stable template re-applied ends the release": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: held.obj(), new: held.image("v1").obj()},
			want: answer{Allowed: true, Code: 200, Patch: fmt.Sprintf(`[{"op":"replace","path":"/spec/paused","value":false},`+
				`{"op":"replace","path":"/spec/template/metadata/labels/slogate.io~1revision","value":"%s"},`+
				`{"op":"remove","path":"/metadata/annotations/slogate.io~1stable-revision"},`+
				`{"op":"remove","path":"/metadata/annotations/slogate.io~1canary-revision"}]`, r1),
				Warnings: []string{fmt.Sprintf("slogate: stable revision %s re-applied: the release of revision %s ends now and "+
					"Deployment web is unpaused", r1, r2)}},
		},
		"mutate: a re-apply that drops slogate's fields gets them back": {
			handler: hook(NewDeploymentMutator(opts)),
			review: reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: held.obj(),
				new: held.noAnnotations().noRevisionLabel().paused(false).obj()},
			want: answer{Allowed: true, Code: 200, Patch: fmt.Sprintf(`[{"op":"add","path":"/spec/paused","value":true},`+
				`{"op":"add","path":"/spec/template/metadata/labels/slogate.io~1revision","value":"%s"},`+
				`{"op":"add","path":"/metadata/annotations","value":{"slogate.io/stable-revision":"%s"}},`+
				`{"op":"add","path":"/metadata/annotations/slogate.io~1canary-revision","value":"%s"}]`, r2, r1, r2)},
		},
		"mutate: the analyzer's write is not touched": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, user: testAnalyzer, old: held.obj(), new: held.paused(false).obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"mutate: delete": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Delete, kind: deploymentKind, old: held.obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"mutate: a kind this hook does not serve": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Create, kind: serviceKind, new: makeService("web").obj()},
			want:    answer{Code: 400, Message: "this webhook serves Deployment.apps, not Service"},
		},
		"mutate: an object that does not decode": {
			handler: hook(NewDeploymentMutator(opts)),
			body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",` +
				`"kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"CREATE","object":{"spec":5}}}`),
			want: answer{Code: 400, Message: "decoding the object: json: cannot unmarshal number into Go struct field Deployment.spec of type v1.DeploymentSpec"},
		},
		"mutate: an update without the stored object": {
			handler: hook(NewDeploymentMutator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, new: v2.obj()},
			want:    answer{Code: 400, Message: "UPDATE of a Deployment without the stored object: the request carries no object"},
		},
		"mutate: a body that is no AdmissionReview": {
			handler: hook(NewDeploymentMutator(opts)),
			body:    []byte(`{"request":`),
			want:    answer{Code: 400, Message: "couldn't get version/kind; json parse error: unexpected end of JSON input"},
		},
		"validate: a held Deployment": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: v1.obj(), new: held.obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"validate: a user's un-pause mid-release": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: held.obj(), new: held.paused(false).obj()},
			want: answer{Code: 403, Message: fmt.Sprintf(`spec.paused: Forbidden: the canary release `+
				`of revision %s is live and slogate holds Deployment web paused until it ends: use kubectl slogate promote web -n shop, `+
				`or kubectl slogate abort web -n shop`, r2)},
		},
		"validate: the analyzer's un-pause": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, user: testAnalyzer, old: held.obj(), new: held.paused(false).obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"validate: a malformed annotation names its path": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Create, kind: deploymentKind, new: v1.annotation(slogatev1alpha1.SkipAnnotation, "yes").obj()},
			want: answer{Code: 403, Message: `metadata.annotations[slogate.io/skip]: Unsupported value: ` +
				`"yes": supported values: "true", "false"`},
		},
		"validate: an unknown slogate annotation warns": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Create, kind: deploymentKind, new: v1.annotation("slogate.io/canary", "yes").obj()},
			want: answer{Allowed: true, Code: 200, Warnings: []string{"slogate: annotation slogate.io/canary has no meaning on a " +
				"Deployment and is ignored (known: slogate.io/skip, slogate.io/stable-revision, slogate.io/canary-revision, " +
				"slogate.io/failed-revision, slogate.io/action)"}},
		},
		"validate: delete": {
			handler: hook(NewDeploymentValidator(opts)),
			review:  reviewSpec{op: admissionv1.Delete, kind: deploymentKind, old: held.obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"managed: a user's edit of the canary": {
			handler: hook(NewManagedValidator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, old: canary.obj(), new: canary.replicas(9).obj()},
			want: answer{Code: 403, Message: `spec: Forbidden: Deployment web-canary is ` +
				`managed by slogate: only slogate's analyzer changes it, and it goes away when the release ends (to end it now: kubectl slogate abort)`},
		},
		"managed: the analyzer's edit of the canary": {
			handler: hook(NewManagedValidator(opts)),
			review:  reviewSpec{op: admissionv1.Update, kind: deploymentKind, user: testAnalyzer, old: canary.obj(), new: canary.replicas(9).obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"managed: a user's delete of the canary": {
			handler: hook(NewManagedValidator(opts)),
			review:  reviewSpec{op: admissionv1.Delete, kind: deploymentKind, old: canary.obj()},
			want:    answer{Allowed: true, Code: 200},
		},
		"service: a re-apply keeps the pin": {
			handler: hook(NewServiceMutator(opts)),
			review: reviewSpec{op: admissionv1.Update, kind: serviceKind,
				old: makeService("web-stable").pinned("pod-template-hash", "6b9f7c8d5").obj(), new: makeService("web-stable").obj()},
			want: answer{Allowed: true, Code: 200,
				Patch: `[{"op":"add","path":"/metadata/annotations","value":{"slogate.io/pinned":"pod-template-hash"}},` +
					`{"op":"add","path":"/spec/selector/pod-template-hash","value":"6b9f7c8d5"}]`,
				Warnings: []string{"slogate: kept slogate.io/pinned annotation and selector pod-template-hash=6b9f7c8d5 on Service " +
					"web-stable: a canary release pins it until it ends"}},
		},
		"service: a malformed pin": {
			handler: hook(NewServiceMutator(opts)),
			review: reviewSpec{op: admissionv1.Update, kind: serviceKind, user: testAnalyzer,
				old: makeService("web-stable").obj(), new: makeService("web-stable").annotation(slogatev1alpha1.StablePinAnnotation, "").obj()},
			want: answer{Code: 403, Message: `metadata.annotations[slogate.io/pinned]: Invalid value: "": ` +
				`must list the pinned selector keys, comma-separated, such as pod-template-hash`},
		},
		"route: a re-apply keeps the live weights": {
			handler: hook(NewRouteMutator(opts)),
			review: reviewSpec{op: admissionv1.Update, kind: routeKind,
				old: makeRoute("web-route").rule("/web", "web-stable", 75, "web-canary", 25).
					annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable=75,web-canary=25").obj(),
				new: makeRoute("web-route").rule("/web", "web-stable", 100).obj()},
			want: answer{Allowed: true, Code: 200,
				Patch: `[{"op":"add","path":"/metadata/annotations","value":{"slogate.io/weights":"web-stable=75,web-canary=25"}},` +
					`{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":75},` +
					`{"op":"add","path":"/spec/rules/0/backendRefs/-","value":{"name":"web-canary","port":80,"weight":25}}]`,
				Warnings: []string{"slogate: kept the live weights web-stable=75,web-canary=25 on HTTPRoute web-route: a canary " +
					"release sets them until it ends; the rest of the change is applied"}},
		},
		"policy: a step of no kind": {
			handler: admission.WithValidator(scheme, NewRolloutPolicyValidator(opts)),
			review:  reviewSpec{op: admissionv1.Create, kind: policyKind, new: badPolicy},
			want: answer{Code: 403, Message: `spec.steps[0]: Invalid value: "0 kinds": ` +
				`must set exactly one of setWeight, pause and analysis`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = reviewJSON(t, tc.review)
			}
			got := answerOf(serve(t, tc.handler, body))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}
