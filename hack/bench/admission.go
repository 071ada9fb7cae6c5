package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/slogate/slogate/webhook"
)

// reviewCase is one kind of AdmissionReview the load sends.
type reviewCase struct {
	// name goes into the URL's query (?case=name), which the server ignores, so that results can be
	// told apart.
	name string
	path string
	body []byte
	// wantPatch: the answer must carry a JSON patch (the hold).
	wantPatch bool
}

// reviewCases are the AdmissionReviews the API server sends the webhook for two updates of a
// 3-container Deployment in an opted-in namespace, as the load sends them in turn:
//   - hold: a user changes the image of the app container. The mutating webhook holds it (patch:
//     spec.paused, revision label, two annotations); the validating webhook then gets the
//     mutated object.
//   - noop: the Deployment controller bumps deployment.kubernetes.io/revision, a write that
//     changes no template; both webhooks let it through unchanged.
func reviewCases() ([]reviewCase, error) {
	stored := settle(realisticDeployment("prod", "payments-api", "ghcr.io/example/payments-api:2026.04.15"))
	changed := stored.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "ghcr.io/example/payments-api:2026.04.16"
	changed.Generation++
	m := webhook.MutateDeployment(webhook.DeploymentRequest{Operation: admissionv1.Update, Old: stored, New: changed})
	if m.Decision != webhook.DecisionHold || m.Deployment == nil {
		return nil, fmt.Errorf("the image change decides %q, want %q", m.Decision, webhook.DecisionHold)
	}
	held := m.Deployment
	bumped := stored.DeepCopy()
	bumped.Annotations["deployment.kubernetes.io/revision"] = "7"

	user := authenticationv1.UserInfo{Username: "ci-deployer@example.com", Groups: []string{"deployers", "system:authenticated"}}
	controller := authenticationv1.UserInfo{Username: "system:serviceaccount:kube-system:deployment-controller",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}
	var cases []reviewCase
	for _, c := range []struct {
		name      string
		path      string
		user      authenticationv1.UserInfo
		obj       *appsv1.Deployment
		wantPatch bool
	}{
		{"mutate-hold", webhook.MutateDeploymentPath, user, changed, true},
		{"validate-hold", webhook.ValidateDeploymentPath, user, held, false},
		{"mutate-noop", webhook.MutateDeploymentPath, controller, bumped, false},
		{"validate-noop", webhook.ValidateDeploymentPath, controller, bumped, false},
	} {
		body, err := reviewJSON(c.user, stored, c.obj)
		if err != nil {
			return nil, err
		}
		cases = append(cases, reviewCase{name: c.name, path: c.path, body: body, wantPatch: c.wantPatch})
	}
	return cases, nil
}

func reviewJSON(user authenticationv1.UserInfo, old, obj *appsv1.Deployment) ([]byte, error) {
	oldRaw, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(metav1.UpdateOptions{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "UpdateOptions"}, FieldManager: "kubectl-client-side-apply"})
	if err != nil {
		return nil, err
	}
	gvk := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	gvr := metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	return json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:  types.UID("0d3c2f5e-8f43-4a52-a6c5-63c8e1b0a7d4"),
			Kind: gvk, Resource: gvr, RequestKind: &gvk, RequestResource: &gvr,
			Name: obj.Name, Namespace: obj.Namespace, Operation: admissionv1.Update, UserInfo: user,
			Object: runtime.RawExtension{Raw: raw}, OldObject: runtime.RawExtension{Raw: oldRaw},
			DryRun: ptr.To(false), Options: runtime.RawExtension{Raw: opts},
		},
	})
}

// attackResult is one steady-rate run against the webhook server.
type attackResult struct {
	rate     int
	duration time.Duration
	requests int
	errors   int
	// firstError is an example of what went wrong.
	firstError string
	latencies  []time.Duration // sorted
	byCase     map[string][]time.Duration
	// throughput is answered requests per second of the run.
	throughput float64
	// server and client are the CPU the webhook process and this process (the load generator) used.
	server, client *cpuMeter
	// load is the machine's 1-minute load average at the end of the run.
	load string
}

func (r attackResult) p(q float64) time.Duration { return exactQuantile(r.latencies, q) }

// attack sends rate requests per second for d, the cases in turn, to the server at addr over TLS
// with keep-alive (as the API server does), and checks every answer.
func attack(ctx context.Context, srv admissionTarget, cases []reviewCase, rate int, d time.Duration) (attackResult, error) {
	targets := make([]vegeta.Target, len(cases))
	want := map[string]reviewCase{}
	hdr := http.Header{"Content-Type": []string{"application/json"}}
	for i, c := range cases {
		url := "https://" + srv.addr + c.path + "?case=" + c.name
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: url, Body: c.body, Header: hdr}
		want[url] = c
	}
	atk := vegeta.NewAttacker(
		vegeta.TLSConfig(srv.tls),
		vegeta.KeepAlive(true),
		vegeta.Timeout(10*time.Second),
		vegeta.Workers(8),
	)
	res := attackResult{rate: rate, duration: d, byCase: map[string][]time.Duration{}}
	var err error
	if res.server, err = startCPU(srv.pid); err != nil {
		return res, err
	}
	if res.client, err = startCPU(os.Getpid()); err != nil {
		return res, err
	}
	var first, last time.Time
	answered := 0
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	for r := range atk.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: rate, Per: time.Second}, d, "webhook") {
		res.requests++
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if end := r.End(); end.After(last) {
			last = end
		}
		c := want[r.URL]
		switch {
		case r.Error != "":
			res.fail(r.Error)
		case r.Code != http.StatusOK:
			res.fail(fmt.Sprintf("HTTP %d: %.200s", r.Code, r.Body))
		case !bytes.Contains(r.Body, []byte(`"allowed":true`)):
			res.fail(fmt.Sprintf("%s: not allowed: %.300s", c.name, r.Body))
		case c.wantPatch != bytes.Contains(r.Body, []byte(`"patch":`)):
			res.fail(fmt.Sprintf("%s: patch present %t, want %t: %.300s", c.name, !c.wantPatch, c.wantPatch, r.Body))
		default:
			answered++
		}
		res.latencies = append(res.latencies, r.Latency)
		res.byCase[c.name] = append(res.byCase[c.name], r.Latency)
	}
	if err := res.server.stop(); err != nil {
		return res, err
	}
	if err := res.client.stop(); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.load = loadNow()
	slices.Sort(res.latencies)
	for _, l := range res.byCase {
		slices.Sort(l)
	}
	if span := last.Sub(first); span > 0 {
		res.throughput = float64(answered) / span.Seconds()
	}
	return res, nil
}

func (r *attackResult) fail(msg string) {
	r.errors++
	if r.firstError == "" {
		r.firstError = strings.TrimSpace(msg)
	}
}

// admissionTarget is a running webhook server to load.
type admissionTarget struct {
	addr string
	tls  *tls.Config
	pid  int
}
