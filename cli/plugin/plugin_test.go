package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func namespace(name string, optedIn bool) *corev1.Namespace {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if optedIn {
		n.Labels = map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}
	}
	return n
}

type deploymentBuilder struct{ d *appsv1.Deployment }

func makeDeployment(ns, name string) *deploymentBuilder {
	return &deploymentBuilder{d: &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{}},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
	}}
}

func (b *deploymentBuilder) held(stable, canary string) *deploymentBuilder {
	b.d.Spec.Paused = true
	b.d.Annotations[slogatev1alpha1.StableRevisionAnnotation] = stable
	b.d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] = canary
	return b
}

func (b *deploymentBuilder) annotate(k, v string) *deploymentBuilder {
	b.d.Annotations[k] = v
	return b
}

func (b *deploymentBuilder) obj() *appsv1.Deployment { return b.d.DeepCopy() }

func makeRelease(ns, deployment, canary string, phase slogatev1alpha1.ReleasePhase) *slogatev1alpha1.Release {
	w := int32(5)
	return &slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: slogatev1alpha1.ReleaseName(deployment, canary), Namespace: ns,
			CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Spec: slogatev1alpha1.ReleaseSpec{DeploymentName: deployment, StableRevision: "stable1", CanaryRevision: canary,
			Policy: "default", Steps: []slogatev1alpha1.CanaryStep{{SetWeight: &w}, {Pause: &slogatev1alpha1.PauseStep{}}}},
		Status: slogatev1alpha1.ReleaseStatus{Phase: phase, CanaryWeight: 5, StepIndex: 1, Reason: "Because"},
	}
}

func newFakeClient(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(Scheme).WithObjects(objs...).
		WithIndex(&corev1.Event{}, "involvedObject.kind", func(o client.Object) []string {
			return []string{o.(*corev1.Event).InvolvedObject.Kind}
		}).
		WithIndex(&corev1.Event{}, "involvedObject.name", func(o client.Object) []string {
			return []string{o.(*corev1.Event).InvolvedObject.Name}
		}).
		Build()
}

// run runs kubectl-slogate with args against c.
func run(t *testing.T, c client.WithWatch, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runWith(t, c, &out, &errOut, args...)
	return out.String(), errOut.String(), err
}

func runWith(t *testing.T, c client.WithWatch, out, errOut *bytes.Buffer, args ...string) error {
	t.Helper()
	// No kubeconfig of the machine may leak into the test.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	o := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	o.NewClient = func(rest.WarningHandlerWithContext) (client.WithWatch, error) { return c, nil }
	o.Now = func() time.Time { return now }
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(t.Context())
}

func TestFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"status needs a name":             {args: []string{"status"}, wantErr: "accepts 1 arg(s), received 0"},
		"status takes one name":           {args: []string{"status", "a", "b"}, wantErr: "accepts 1 arg(s), received 2"},
		"promote needs a name":            {args: []string{"promote", "--full"}, wantErr: "accepts 1 arg(s), received 0"},
		"list takes no name":              {args: []string{"list", "web"}, wantErr: `unknown command "web" for "kubectl slogate list"`},
		"preview needs a file":            {args: []string{"preview"}, wantErr: `required flag(s) "filename" not set`},
		"abort has no --full":             {args: []string{"abort", "web", "--full"}, wantErr: "unknown flag: --full"},
		"unknown output":                  {args: []string{"list", "-n", "shop", "-o", "xml"}, wantErr: `unable to match a printer suitable for the output format "xml"`},
		"unknown command":                 {args: []string{"rollback", "web"}, wantErr: `unknown command "rollback" for "kubectl slogate"`},
		"kubeconfig flag that names none": {args: []string{"--kubeconfig", "/nonexistent/config", "list"}, wantErr: "/nonexistent/config"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newFakeClient(namespace("shop", true))
			_, _, err := run(t, c, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestFlagsReachTheCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
	cmd := NewCommand(o)
	if err := cmd.ParseFlags([]string{"--context", "kind-dev", "-n", "shop", "--kubeconfig", "/tmp/kc"}); err != nil {
		t.Fatal(err)
	}
	got := []string{*o.ConfigFlags.Context, *o.ConfigFlags.Namespace, *o.ConfigFlags.KubeConfig}
	if diff := cmp.Diff([]string{"kind-dev", "shop", "/tmp/kc"}, got); diff != "" {
		t.Errorf("config flags (-want +got):\n%s", diff)
	}
	list, _, err := cmd.Find([]string{"list"})
	if err != nil {
		t.Fatal(err)
	}
	if err := list.ParseFlags([]string{"-A", "-o", "yaml"}); err != nil {
		t.Fatal(err)
	}
	if a, o := list.Flag("all-namespaces").Value.String(), list.Flag("output").Value.String(); a != "true" || o != "yaml" {
		t.Errorf("list flags: all-namespaces=%s output=%s, want true yaml", a, o)
	}
	status, _, _ := cmd.Find([]string{"status"})
	if err := status.ParseFlags([]string{"-w"}); err != nil || status.Flag("watch").Value.String() != "true" {
		t.Errorf("status -w: %v, watch=%s", err, status.Flag("watch").Value)
	}
}

func TestList(t *testing.T) {
	objs := []client.Object{
		namespace("shop", true), namespace("pay", true), namespace("plain", false),
		makeRelease("shop", "web", "aaa", slogatev1alpha1.PhaseProgressing),
		makeRelease("shop", "api", "bbb", slogatev1alpha1.PhaseSucceeded),
		makeRelease("pay", "web", "ccc", slogatev1alpha1.PhaseRolledBack),
	}
	tests := map[string]struct {
		args       []string
		wantOut    []string
		wantNotOut []string
		wantErrOut string
	}{
		"namespace": {args: []string{"list", "-n", "shop"},
			wantOut:    []string{"NAME", "web-aaa", "api-bbb", "Progressing", "2/2", "5%"},
			wantNotOut: []string{"web-ccc", "NAMESPACE"}},
		"all namespaces":  {args: []string{"list", "-A"}, wantOut: []string{"NAMESPACE", "pay", "web-ccc", "RolledBack", "web-aaa"}},
		"empty, opted in": {args: []string{"list", "-n", "pay2"}, wantErrOut: "No releases found in namespace pay2.\nNote: namespace pay2 not found\n"},
		"empty, not opted in": {args: []string{"list", "-n", "plain"},
			wantErrOut: "No releases found in namespace plain.\nNote: namespace plain did not opt in to slogate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := run(t, newFakeClient(objs...), tc.args...)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNotOut {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if !strings.HasPrefix(errOut, tc.wantErrOut) {
				t.Errorf("stderr = %q, want it to start with %q", errOut, tc.wantErrOut)
			}
		})
	}
}

func TestListJSON(t *testing.T) {
	out, _, err := run(t, newFakeClient(namespace("shop", true), makeRelease("shop", "web", "aaa", slogatev1alpha1.PhasePaused)),
		"list", "-n", "shop", "-o", "json")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var got slogatev1alpha1.ReleaseList
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a ReleaseList: %v\n%s", err, out)
	}
	if len(got.Items) != 1 || got.Items[0].Name != "web-aaa" || got.Items[0].Kind != "Release" ||
		got.Items[0].APIVersion != "slogate.io/v1alpha1" || got.Items[0].Status.Phase != slogatev1alpha1.PhasePaused {
		t.Errorf("list -o json = %+v", got.Items)
	}
}

func TestStatus(t *testing.T) {
	objs := []client.Object{
		namespace("shop", true), namespace("plain", false),
		makeDeployment("shop", "web").held("stable1", "aaa").obj(),
		makeRelease("shop", "web", "aaa", slogatev1alpha1.PhasePaused),
		makeRelease("shop", "web", "old", slogatev1alpha1.PhaseRolledBack),
		makeDeployment("shop", "cold").obj(),
		makeDeployment("shop", "fresh").held("stable1", "new").obj(),
		makeDeployment("plain", "web").obj(),
		&corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "shop"},
			InvolvedObject: corev1.ObjectReference{Kind: "Release", Name: "web-aaa"}, Type: corev1.EventTypeNormal,
			Reason: "Paused", Message: "waiting for promote", LastTimestamp: metav1.NewTime(now.Add(-time.Minute)),
		},
		&corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "e2", Namespace: "shop"},
			InvolvedObject: corev1.ObjectReference{Kind: "Release", Name: "web-old"}, Type: corev1.EventTypeWarning,
			Reason: "RolledBack", Message: "not this release's event", LastTimestamp: metav1.NewTime(now.Add(-time.Minute)),
		},
	}
	tests := map[string]struct {
		args       []string
		wantOut    []string
		wantNotOut []string
		wantErr    any
		wantErrMsg string
	}{
		"by deployment": {args: []string{"status", "web", "-n", "shop"},
			wantOut:    []string{"Release:    web-aaa", "Phase:      Paused (Because), step 2/2: pause until promoted", "▶  2  pause until promoted", "waiting for promote"},
			wantNotOut: []string{"not this release's event"}},
		"by release name": {args: []string{"status", "web-old", "-n", "shop"},
			wantOut: []string{"Release:    web-old", "Phase:      RolledBack", "not this release's event"}},
		"held, release not created yet": {args: []string{"status", "fresh", "-n", "shop"},
			wantOut: []string{"Deployment shop/fresh is held for revision new: waiting for the analyzer to create release fresh-new"}},
		"no release": {args: []string{"status", "cold", "-n", "shop"}, wantErr: new(*cli.NoReleaseError),
			wantErrMsg: "no release for deployment cold in namespace shop; releases start when"},
		"not opted in": {args: []string{"status", "web", "-n", "plain"}, wantErr: new(*cli.NotOptedInError),
			wantErrMsg: "namespace plain did not opt in to slogate"},
		"nothing of that name": {args: []string{"status", "ghost", "-n", "shop"}, wantErrMsg: "no deployment or release named ghost in namespace shop"},
		"yaml": {args: []string{"status", "web", "-n", "shop", "-o", "yaml"},
			wantOut: []string{"apiVersion: slogate.io/v1alpha1", "kind: Release", "name: web-aaa", "phase: Paused"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, _, err := run(t, newFakeClient(objs...), tc.args...)
			if tc.wantErrMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("err = %v, want %q", err, tc.wantErrMsg)
				}
				if tc.wantErr != nil && !errors.As(err, tc.wantErr) {
					t.Errorf("err = %T, want %T", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNotOut {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestActions(t *testing.T) {
	tests := map[string]struct {
		deployment     *appsv1.Deployment
		phase          slogatev1alpha1.ReleasePhase
		args           []string
		wantAnnotation string
		wantOut        string
		wantErr        error
		wantErrMsg     string
	}{
		"promote": {phase: slogatev1alpha1.PhasePaused, args: []string{"promote", "web"}, wantAnnotation: slogatev1alpha1.ActionPromote,
			wantOut: "release web-aaa: promote requested (slogate.io/action=promote on deployment web)"},
		"promote --full":          {phase: slogatev1alpha1.PhaseProgressing, args: []string{"promote", "web", "--full"}, wantAnnotation: slogatev1alpha1.ActionPromoteFull},
		"promote by release name": {phase: slogatev1alpha1.PhasePaused, args: []string{"promote", "web-aaa"}, wantAnnotation: slogatev1alpha1.ActionPromote},
		"abort":                   {phase: slogatev1alpha1.PhaseProgressing, args: []string{"abort", "web"}, wantAnnotation: slogatev1alpha1.ActionAbort},
		"abort while promoting":   {phase: slogatev1alpha1.PhasePromoting, args: []string{"abort", "web"}, wantAnnotation: slogatev1alpha1.ActionAbort},
		"retry":                   {phase: slogatev1alpha1.PhaseRolledBack, args: []string{"retry", "web"}, wantAnnotation: slogatev1alpha1.ActionRetry},
		"promote a succeeded release": {phase: slogatev1alpha1.PhaseSucceeded, args: []string{"promote", "web"},
			wantErr: cli.ErrActionNotAllowed, wantErrMsg: "cannot promote release web-aaa: it is Succeeded"},
		"promote a rolled back release": {phase: slogatev1alpha1.PhaseRolledBack, args: []string{"promote", "web"},
			wantErr: cli.ErrActionNotAllowed, wantErrMsg: `kubectl slogate retry web`},
		"retry a running release": {phase: slogatev1alpha1.PhaseProgressing, args: []string{"retry", "web"},
			wantErr: cli.ErrActionNotAllowed, wantErrMsg: "only a rolled-back release can be retried"},
		"abort an ended release": {phase: slogatev1alpha1.PhaseAborted, args: []string{"abort", "web"},
			wantErr: cli.ErrActionNotAllowed, wantErrMsg: "cannot abort release web-aaa: it is Aborted"},
		"another action pending": {
			deployment: makeDeployment("shop", "web").held("stable1", "aaa").annotate(slogatev1alpha1.ActionAnnotation, slogatev1alpha1.ActionPromote).obj(),
			phase:      slogatev1alpha1.PhasePaused, args: []string{"abort", "web"}, wantAnnotation: slogatev1alpha1.ActionPromote,
			wantErrMsg: `already has a pending action "promote"`,
		},
		"same action pending": {
			deployment: makeDeployment("shop", "web").held("stable1", "aaa").annotate(slogatev1alpha1.ActionAnnotation, slogatev1alpha1.ActionPromote).obj(),
			phase:      slogatev1alpha1.PhasePaused, args: []string{"promote", "web"}, wantAnnotation: slogatev1alpha1.ActionPromote,
			wantOut: "promote already requested",
		},
		"no release": {deployment: makeDeployment("shop", "web").obj(), args: []string{"promote", "web"},
			wantErrMsg: "no release for deployment web in namespace shop"},
		"release not created yet": {deployment: makeDeployment("shop", "web").held("stable1", "zzz").obj(), phase: slogatev1alpha1.PhaseSucceeded,
			args: []string{"abort", "web"}, wantErrMsg: "release web-zzz of deployment shop/web has not been created yet"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := tc.deployment
			if d == nil {
				d = makeDeployment("shop", "web").held("stable1", "aaa").obj()
			}
			objs := []client.Object{namespace("shop", true), d}
			if tc.phase != "" {
				objs = append(objs, makeRelease("shop", "web", "aaa", tc.phase))
			}
			c := newFakeClient(objs...)
			out, _, err := run(t, c, append(tc.args, "-n", "shop")...)
			switch {
			case tc.wantErrMsg != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("err = %v, want %q", err, tc.wantErrMsg)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want errors.Is %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("%v: %v", tc.args, err)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output = %q, want it to contain %q", out, tc.wantOut)
			}
			got := &appsv1.Deployment{}
			if err := c.Get(t.Context(), client.ObjectKeyFromObject(d), got); err != nil {
				t.Fatal(err)
			}
			if a := got.Annotations[slogatev1alpha1.ActionAnnotation]; a != tc.wantAnnotation {
				t.Errorf("%s = %q, want %q", slogatev1alpha1.ActionAnnotation, a, tc.wantAnnotation)
			}
		})
	}
}

func TestStatusWatch(t *testing.T) {
	tests := map[string]struct {
		endPhase    slogatev1alpha1.ReleasePhase
		wantErr     error
		wantFinal   string
		wantUpdates int
	}{
		"until it succeeds":   {endPhase: slogatev1alpha1.PhaseSucceeded, wantFinal: "Phase:      Succeeded"},
		"until it rolls back": {endPhase: slogatev1alpha1.PhaseRolledBack, wantErr: ErrReleaseFailed, wantFinal: "Phase:      RolledBack"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newFakeClient(namespace("shop", true), makeDeployment("shop", "web").held("stable1", "aaa").obj(),
				makeRelease("shop", "web", "aaa", slogatev1alpha1.PhaseProgressing))
			t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				var errOut bytes.Buffer
				done <- runWithWriter(t, c, out, &errOut, "status", "web", "-n", "shop", "--watch")
			}()
			waitFor(t, func() bool { return strings.Contains(out.String(), "Phase:      Progressing") })

			r := &slogatev1alpha1.Release{}
			mustGet(t, c, "web-aaa", r)
			r.Status.StepIndex, r.Status.CanaryWeight = 1, 25
			mustUpdate(t, c, r)
			waitFor(t, func() bool { return strings.Contains(out.String(), "canary  25%") })

			mustGet(t, c, "web-aaa", r)
			r.Status.Phase = tc.endPhase
			mustUpdate(t, c, r)

			select {
			case err := <-done:
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("status --watch = %v, want %v", err, tc.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("status --watch did not end when the release ended")
			}
			views := strings.Split(out.String(), "\n--- ")
			if len(views) != 3 {
				t.Errorf("got %d views, want 3 (start, weight change, end):\n%s", len(views), out.String())
			}
			if !strings.Contains(views[len(views)-1], tc.wantFinal) {
				t.Errorf("last view lacks %q:\n%s", tc.wantFinal, views[len(views)-1])
			}
		})
	}
}

func TestStatusWatchEndsAtOnceOnAnEndedRelease(t *testing.T) {
	c := newFakeClient(namespace("shop", true), makeDeployment("shop", "web").obj(),
		makeRelease("shop", "web", "aaa", slogatev1alpha1.PhaseSucceeded))
	out, _, err := run(t, c, "status", "web", "-n", "shop", "-w")
	if err != nil {
		t.Fatalf("status -w: %v", err)
	}
	if strings.Count(out, "Release:") != 1 {
		t.Errorf("want one view:\n%s", out)
	}
}

func TestStatusWatchRedrawsOnATerminal(t *testing.T) {
	c := newFakeClient(namespace("shop", true), makeDeployment("shop", "web").obj(),
		makeRelease("shop", "web", "aaa", slogatev1alpha1.PhaseRolledBack))
	var out bytes.Buffer
	o := &statusOptions{Options: &Options{IOStreams: genericiooptions.IOStreams{Out: &out}, Now: func() time.Time { return now }},
		tty: ptr.To(true)}
	err := o.follow(t.Context(), c, "shop", "web", nil)
	if !errors.Is(err, ErrReleaseFailed) {
		t.Fatalf("follow = %v, want ErrReleaseFailed", err)
	}
	if !strings.HasPrefix(out.String(), clearScreen+"Release:    web-aaa") {
		t.Errorf("terminal view does not start by clearing the screen: %q", out.String()[:min(40, out.Len())])
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runWithWriter(t *testing.T, c client.WithWatch, out *syncBuffer, errOut *bytes.Buffer, args ...string) error {
	o := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	o.NewClient = func(rest.WarningHandlerWithContext) (client.WithWatch, error) { return c, nil }
	o.Now = func() time.Time { return now }
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(t.Context())
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met within 10s")
		case <-tick.C:
		}
	}
}

func mustGet(t *testing.T, c client.Client, name string, obj client.Object) {
	t.Helper()
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "shop", Name: name}, obj); err != nil {
		t.Fatal(err)
	}
}

func mustUpdate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Update(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
}
