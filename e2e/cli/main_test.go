package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/slogate"
)

// Timeouts of this package's tests, in one place.
const (
	// pluginTimeout bounds one run of kubectl-slogate that is not a watch: a few API calls against a
	// local API server (tens of milliseconds; kubectl's plugin lookup adds a few more).
	pluginTimeout = 30 * time.Second
	// watchTimeout bounds how long a status --watch takes to show a change or to end after the
	// release ends: a watch event and a few reads (well under a second here).
	watchTimeout = 30 * time.Second
)

var (
	// env is the control plane of this package; each test works in its own namespace.
	env *cluster.Cluster
	// plugin is bin/kubectl-slogate.
	plugin string
	// asAnalyzer writes as the analyzer's ServiceAccount (impersonated by the admin), so that the
	// webhook lets the tests set up what only the analyzer writes: releases and held Deployments.
	asAnalyzer client.Client
)

func TestMain(m *testing.M) {
	os.Exit(cluster.RunTests(m, cluster.Options{CRDDirs: []string{cluster.SlogateCRDDir}}, func(c *cluster.Cluster) error {
		p, err := cluster.Binary("kubectl-slogate")
		if err != nil {
			return err
		}
		env, plugin = c, p
		// Every command runs with the webhook registered, as in a real install: the plugin's own
		// writes (the action annotation) must pass it, and preview needs its mutation.
		if _, err := slogate.StartWebhook(context.Background(), c, slogate.WebhookOptions{}); err != nil {
			return err
		}
		cfg := c.RESTConfig()
		cfg.Impersonate = rest.ImpersonationConfig{
			UserName: "system:serviceaccount:" + slogate.SystemNamespace + ":" + slogate.AnalyzerServiceAccount,
			Groups:   []string{"system:masters"},
		}
		asAnalyzer, err = client.New(cfg, client.Options{Scheme: c.Scheme()})
		return err
	}))
}

// result is what one run of the plugin did.
type result struct {
	stdout, stderr string
	// code is the exit status.
	code int
}

// invocation says how the plugin is run.
type invocation int

const (
	// direct runs bin/kubectl-slogate with --kubeconfig.
	direct invocation = iota
	// viaKubectl runs `kubectl slogate ...` with bin/ first on PATH and KUBECONFIG set, as a user does.
	viaKubectl
)

func (i invocation) String() string { return [...]string{"direct", "kubectl"}[i] }

var invocations = []invocation{direct, viaKubectl}

// command builds the plugin command for args.
func (i invocation) command(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if i == direct {
		cmd := exec.CommandContext(ctx, plugin, append([]string{"--kubeconfig", env.Kubeconfig()}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG=")
		return cmd
	}
	kubectl, err := cluster.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"slogate"}, args...)...)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(plugin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+env.Kubeconfig())
	return cmd
}

// run runs the plugin with args and returns what it printed and its exit status.
func (i invocation) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), pluginTimeout)
	defer cancel()
	cmd := i.command(ctx, t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s %v: %v", i, args, err)
	}
	t.Logf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", i, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// mustSucceed runs the plugin and fails the test unless it exits 0.
func (i invocation) mustSucceed(t *testing.T, args ...string) result {
	t.Helper()
	r := i.run(t, args...)
	if r.code != 0 {
		t.Fatalf("%s %v: exit %d: %s", i, args, r.code, r.stderr)
	}
	return r
}

// mustFail runs the plugin and fails the test unless it exits 1 with an error containing want.
func (i invocation) mustFail(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := i.run(t, args...)
	if r.code != 1 {
		t.Fatalf("%s %v: exit %d, want 1", i, args, r.code)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("%s %v: stderr %q does not contain %q", i, args, r.stderr, want)
	}
	return r
}

// syncBuffer collects a process's output while the test reads it.
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

// mustNamespace creates the test's namespace, opted in or not.
func mustNamespace(t *testing.T, optedIn bool) string {
	t.Helper()
	var labels map[string]string
	if optedIn {
		labels = map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}
	}
	return env.MustCreateNamespace(t, "", labels).Name
}

// deployment returns a Deployment of app:v1 with 2 replicas; mutate changes it.
func deployment(ns, name string, mutate ...func(*appsv1.Deployment)) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/" + name + ":v1"}}},
			},
		},
	}
	for _, m := range mutate {
		m(d)
	}
	return d
}

// held makes a Deployment held for a canary release, as the webhook leaves it.
func held(stable, canary string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[slogatev1alpha1.StableRevisionAnnotation] = stable
		d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] = canary
	}
}

// annotated sets an annotation.
func annotated(k, v string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[k] = v
	}
}

// mustCreate creates an object as the analyzer.
func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := asAnalyzer.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// release returns a Release of deployment's canary revision in phase, at step 2 of the seed's schedule.
func release(ns, deployment, canary string, phase slogatev1alpha1.ReleasePhase) *slogatev1alpha1.Release {
	now := metav1.Now()
	return &slogatev1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: slogatev1alpha1.ReleaseName(deployment, canary), Namespace: ns},
		Spec: slogatev1alpha1.ReleaseSpec{
			DeploymentName: deployment, StableRevision: "stable0", CanaryRevision: canary, Policy: "default",
			Steps:         seedSteps(),
			StableService: deployment + "-stable", CanaryService: deployment + "-canary",
			HTTPRoutes: []string{deployment},
		},
		Status: slogatev1alpha1.ReleaseStatus{
			Phase: phase, Reason: "Testing", StepIndex: 2, CanaryWeight: 5, StartedAt: &now, StepStartedAt: &now,
			Measurements: []slogatev1alpha1.Measurement{{
				Template: "success-rate-check", Metric: "success-rate", Step: 2, Weight: 5,
				Value: "99.87", Verdict: slogatev1alpha1.VerdictSuccessful, Time: now,
			}},
			Conditions: []metav1.Condition{{
				Type: slogatev1alpha1.ConditionCanaryReady, Status: metav1.ConditionTrue, Reason: "PodsReady",
				Message: "2/2 canary pods ready", LastTransitionTime: now,
			}},
		},
	}
}

// mustCreateRelease creates a Release with its status (a subresource, so written in a second call).
func mustCreateRelease(t *testing.T, r *slogatev1alpha1.Release) *slogatev1alpha1.Release {
	t.Helper()
	status := r.Status
	mustCreate(t, r)
	r.Status = status
	if err := asAnalyzer.Status().Update(t.Context(), r); err != nil {
		t.Fatalf("writing the status of release %s: %v", r.Name, err)
	}
	return r
}

// mustUpdateReleaseStatus changes a Release's status.
func mustUpdateReleaseStatus(t *testing.T, ns, name string, change func(*slogatev1alpha1.ReleaseStatus)) {
	t.Helper()
	r := &slogatev1alpha1.Release{}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, r); err != nil {
		t.Fatal(err)
	}
	change(&r.Status)
	if err := asAnalyzer.Status().Update(t.Context(), r); err != nil {
		t.Fatalf("updating the status of release %s: %v", name, err)
	}
}

// actionOf returns the slogate.io/action annotation of a Deployment.
func actionOf(t *testing.T, ns, name string) string {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	return d.Annotations[slogatev1alpha1.ActionAnnotation]
}

func seedSteps() []slogatev1alpha1.CanaryStep {
	analysis := slogatev1alpha1.CanaryStep{Analysis: &slogatev1alpha1.AnalysisStep{Templates: []slogatev1alpha1.TemplateRef{
		{TemplateName: "success-rate-check"}, {TemplateName: "latency-p95-check"},
	}}}
	weight := func(w int32) slogatev1alpha1.CanaryStep { return slogatev1alpha1.CanaryStep{SetWeight: ptr.To(w)} }
	pause := func(d time.Duration) slogatev1alpha1.CanaryStep {
		return slogatev1alpha1.CanaryStep{Pause: &slogatev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
	}
	return []slogatev1alpha1.CanaryStep{
		weight(5), pause(180 * time.Second), analysis,
		weight(25), pause(300 * time.Second), analysis,
		weight(50), pause(300 * time.Second), weight(100),
	}
}
