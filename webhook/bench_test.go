package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// BenchmarkDeploymentMutator measures the mutating handler on a realistic 3-container Deployment:
// "handle" is decode (both objects), decide and patch, from the decoded AdmissionRequest;
// "http" adds reading the AdmissionReview body and writing the answer, as the server does.
// "hold" is an image change that starts a release; "unchanged" is the Deployment controller's
// annotation write, which every rollout sends through the webhook.
func BenchmarkDeploymentMutator(b *testing.B) {
	web := makeDeployment("web").threeContainers().labelled()
	cases := map[string]reviewSpec{
		"hold":      {op: admissionv1.Update, kind: deploymentKind, old: web.obj(), new: web.image("v2").obj()},
		"unchanged": {op: admissionv1.Update, kind: deploymentKind, old: web.obj(), new: web.annotation("deployment.kubernetes.io/revision", "4").obj()},
	}
	h := NewDeploymentMutator(Options{AnalyzerUsername: testAnalyzer})
	wh := hook(h)
	for name, spec := range cases {
		body := reviewJSON(b, spec)
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &ar); err != nil {
			b.Fatal(err)
		}
		req := admission.Request{AdmissionRequest: *ar.Request}
		b.Run(name+"/handle", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			for b.Loop() {
				if resp := h.Handle(ctx, req); !resp.Allowed {
					b.Fatalf("not allowed: %v", resp.Result)
				}
			}
		})
		b.Run(name+"/http", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				wh.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
