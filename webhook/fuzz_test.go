package webhook

import (
	"encoding/json"
	"net/http"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

var fuzzOps = []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect}

// FuzzAdmission throws arbitrary AdmissionReview bodies, and arbitrary objects inside well-formed
// AdmissionReviews, at every handler. Whatever comes in, a handler must not panic, must answer a
// well-formed AdmissionResponse for the request, and any patch must be a JSON patch that applies
// to the request's object. The Deployment mutation must also be idempotent: its own result sent
// again yields no patch (the API server may reinvoke a mutating webhook).
func FuzzAdmission(f *testing.F) {
	opts := Options{AnalyzerUsername: testAnalyzer}
	scheme := runtime.NewScheme()
	if err := slogatev1alpha1.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	deploymentMutator := hook(NewDeploymentMutator(opts))
	byKind := map[string][]http.Handler{
		"Deployment": {deploymentMutator, hook(NewDeploymentValidator(opts)), hook(NewManagedValidator(opts))},
		"Service":    {hook(NewServiceMutator(opts)), hook(NewManagedValidator(opts))},
		"HTTPRoute":  {hook(NewRouteMutator(opts))},
		"RolloutPolicy": {func() http.Handler {
			wh := admission.WithValidator(scheme, NewRolloutPolicyValidator(opts))
			wh.RecoverPanic = new(bool)
			return wh
		}()},
	}
	kinds := map[string]metav1.GroupVersionKind{"Deployment": deploymentKind, "Service": serviceKind, "HTTPRoute": routeKind,
		"RolloutPolicy": policyKind}
	kindNames := []string{"Deployment", "Service", "HTTPRoute", "RolloutPolicy"}

	// Seeds: the objects and reviews of the handler tests.
	v1 := makeDeployment("web").labelled()
	v2 := v1.image("v2")
	held := v2.labelled().paused(true).release(v1.rev(), v2.rev())
	mustJSON := func(o any) []byte {
		b, err := json.Marshal(o)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	pinned := makeService("web-stable").pinned("pod-template-hash", "6b9f7c8d5")
	route := makeRoute("web-route").rule("/web", "web-stable", 95, "web-canary", 5).annotation(slogatev1alpha1.RouteWeightsAnnotation, "web-stable=95,web-canary=5")
	seeds := []struct {
		old, new any
		op       uint8
		kind     uint8
	}{
		{nil, makeDeployment("web").obj(), 0, 0},
		{v1.obj(), v2.obj(), 1, 0},
		{held.obj(), held.image("v1").obj(), 1, 0},
		{held.obj(), held.noAnnotations().noRevisionLabel().paused(false).obj(), 1, 0},
		{held.obj(), held.paused(false).obj(), 1, 0},
		{v1.obj(), nil, 2, 0},
		{pinned.obj(), makeService("web-stable").obj(), 1, 1},
		{route.obj(), makeRoute("web-route").rule("/web", "web-stable", 100).obj(), 1, 2},
	}
	for _, s := range seeds {
		var oldJSON, newJSON []byte
		if s.old != nil {
			oldJSON = mustJSON(s.old)
		}
		if s.new != nil {
			newJSON = mustJSON(s.new)
		}
		body := reviewJSON(f, reviewSpec{op: fuzzOps[s.op], kind: kinds[kindNames[s.kind]], old: s.old, new: s.new})
		f.Add(body, oldJSON, newJSON, s.op, s.kind, false)
		f.Add(body, oldJSON, newJSON, s.op, s.kind, true)
	}
	f.Add([]byte(`{"request":{"uid":"x","kind":{"group":"apps","kind":"Deployment"},"operation":"UPDATE","object":{"spec":null},"oldObject":{}}}`),
		[]byte(`{"metadata":{"annotations":null},"spec":{"template":null}}`), []byte(`{"metadata":null}`), uint8(1), uint8(0), false)

	f.Fuzz(func(t *testing.T, body, oldJSON, newJSON []byte, op, kind uint8, byAnalyzer bool) {
		// An arbitrary body, at every handler.
		for _, name := range kindNames {
			for _, h := range byKind[name] {
				checkAnswer(t, h, body)
			}
		}
		// Arbitrary objects in a well-formed review.
		name := kindNames[int(kind)%len(kindNames)]
		user := testUser
		if byAnalyzer {
			user = testAnalyzer
		}
		rawOrNil := func(b []byte) runtime.RawExtension {
			if len(b) == 0 || !json.Valid(b) {
				return runtime.RawExtension{}
			}
			return runtime.RawExtension{Raw: b}
		}
		gvk := kinds[name]
		review := func(object []byte) []byte {
			b, err := json.Marshal(admissionv1.AdmissionReview{
				TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
				Request: &admissionv1.AdmissionRequest{UID: "fuzz", Kind: gvk, Operation: fuzzOps[int(op)%len(fuzzOps)],
					Namespace: testNamespace, Object: rawOrNil(object), OldObject: rawOrNil(oldJSON)},
			})
			if err != nil {
				t.Fatalf("encoding the review: %v", err)
			}
			return withUser(t, b, user)
		}
		for _, h := range byKind[name] {
			patched := checkAnswer(t, h, review(newJSON))
			if patched != nil && h == deploymentMutator {
				if again := checkAnswer(t, h, review(patched)); again != nil {
					t.Fatalf("the mutation is not idempotent: first result %s, second result %s", patched, again)
				}
			}
		}
	})
}

// withUser sets the request's username in an encoded AdmissionReview.
func withUser(t *testing.T, body []byte, user string) []byte {
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil {
		t.Fatalf("decoding the review: %v", err)
	}
	ar.Request.UserInfo.Username = user
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatalf("encoding the review: %v", err)
	}
	return b
}

// checkAnswer posts body to h and checks the answer. It returns the request's object with the
// patch applied when the answer carries a patch, else nil.
func checkAnswer(t *testing.T, h http.Handler, body []byte) []byte {
	t.Helper()
	resp := serve(t, h, body)
	var ar admissionv1.AdmissionReview
	requestOK := json.Unmarshal(body, &ar) == nil && ar.Request != nil
	if requestOK && resp.UID != ar.Request.UID {
		t.Fatalf("the response's UID %q is not the request's %q", resp.UID, ar.Request.UID)
	}
	if !resp.Allowed && (resp.Result == nil || resp.Result.Message == "" || resp.Result.Code < 400) {
		t.Fatalf("a refusal without a reason and an error code: %+v", resp.Result)
	}
	if len(resp.Patch) == 0 {
		if resp.PatchType != nil {
			t.Fatalf("a patch type without a patch")
		}
		return nil
	}
	if !resp.Allowed {
		t.Fatalf("a patch on a refusal: %s", resp.Patch)
	}
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patch type %v, want JSONPatch", resp.PatchType)
	}
	if !requestOK {
		t.Fatalf("a patch %s for a request that does not decode", resp.Patch)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("the patch %s is not a JSON patch: %v", resp.Patch, err)
	}
	out, err := patch.Apply(ar.Request.Object.Raw)
	if err != nil {
		t.Fatalf("the patch %s does not apply to %s: %v", resp.Patch, ar.Request.Object.Raw, err)
	}
	return out
}
