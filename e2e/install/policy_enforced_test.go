package install_test

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/slogate"
)

var (
	//go:embed policy_enforced.yaml
	clusterPolicyYAML []byte
	//go:embed policy_enforced_app.yaml
	policyAppYAML string
)

func renderPolicyApp(t *testing.T, image string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := template.Must(template.New("app").Parse(policyAppYAML)).Execute(&buf, struct{ Image string }{image}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPolicyEnforcedNamespace runs a whole release, with the webhook and the analyzer each running
// as its own ServiceAccount, in a namespace whose cluster enforces Pod Security "restricted" and a
// ValidatingAdmissionPolicy of its own (limits, app.kubernetes.io/name): a compliant Deployment
// goes through, every object slogate creates is admitted, and neither process meets a forbidden
// request (RBAC and the analyzer's scope policy as installed).
func TestPolicyEnforcedNamespace(t *testing.T) {
	an := mustStartSlogate(t)
	ns := env.MustCreateNamespace(t, "", enforced).Name
	env.MustKubectlInput(t, renderPolicyApp(t, "1"), "apply", "-n", ns, "-f", "-")
	mustAvailable(t, ns, "shop")
	env.MustKubectlInput(t, renderPolicyApp(t, "2"), "apply", "-n", ns, "-f", "-")

	var sawCanaryReady bool
	rel := mustReleaseEnds(t, ns, func(ctx context.Context) {
		c := &appsv1.Deployment{}
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop-canary"}, c); err == nil && c.Status.ReadyReplicas > 0 {
			sawCanaryReady = true
		}
	})
	if rel.Status.Phase != slogatev1alpha1.PhaseSucceeded {
		t.Fatalf("release ended %s (%s): %s", rel.Status.Phase, rel.Status.Reason, rel.Status.Message)
	}
	if !sawCanaryReady {
		t.Errorf("never saw a ready canary pod: Pod Security or the cluster's policy may have refused it")
	}
	d := mustAvailable(t, ns, "shop")
	if d.Spec.Paused || !strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":2") {
		t.Errorf("after the release: paused %v, image %s; want unpaused on :2", d.Spec.Paused, d.Spec.Template.Spec.Containers[0].Image)
	}
	for _, e := range mustEvents(t, ns) {
		if e.Reason == "FailedCreate" || strings.Contains(e.Note, "forbidden") {
			t.Errorf("event %s %s: %s", e.Reason, e.Regarding.Name, e.Note)
		}
	}
	if log := an.Log(1 << 20); strings.Contains(log, "is forbidden") {
		t.Errorf("the analyzer met a forbidden request during the release (RBAC or scope policy):\n%s", grepLines(log, "is forbidden"))
	}
}

// TestClusterPolicyRefusesCanary: where the cluster's own policy refuses slogate's canary
// Deployment, the release stops with that reason in the Release and in an Event, and the stable
// pods keep serving (the Deployment stays paused on them).
func TestClusterPolicyRefusesCanary(t *testing.T) {
	mustStartSlogate(t)
	labels := map[string]string{"e2e.slogate.io/canaries": "forbidden"}
	for k, v := range enforced {
		labels[k] = v
	}
	ns := env.MustCreateNamespace(t, "", labels).Name
	env.MustKubectlInput(t, renderPolicyApp(t, "1"), "apply", "-n", ns, "-f", "-")
	mustAvailable(t, ns, "shop")
	env.MustKubectlInput(t, renderPolicyApp(t, "2"), "apply", "-n", ns, "-f", "-")

	const reason = "this cluster admits no canary Deployments"
	var inRelease, inEvent, last string
	ctx, cancel := context.WithTimeout(t.Context(), refusalTimeout)
	defer cancel()
	for inRelease == "" || inEvent == "" {
		var rels slogatev1alpha1.ReleaseList
		if err := env.Client().List(ctx, &rels, client.InNamespace(ns)); err == nil {
			for _, r := range rels.Items {
				last = fmt.Sprintf("Release %s: phase %q reason %q message %q", r.Name, r.Status.Phase, r.Status.Reason, r.Status.Message)
				if strings.Contains(r.Status.Message, reason) {
					inRelease = last
				}
				for _, c := range r.Status.Conditions {
					if strings.Contains(c.Message, reason) {
						inRelease = fmt.Sprintf("Release %s condition %s: %s", r.Name, c.Type, c.Message)
					}
				}
			}
		}
		var events eventsv1.EventList
		if err := env.Client().List(ctx, &events, client.InNamespace(ns)); err == nil {
			for _, e := range events.Items {
				if strings.Contains(e.Note, reason) {
					inEvent = fmt.Sprintf("Event %s on %s %s", e.Reason, e.Regarding.Kind, e.Regarding.Name)
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("within %v the refusal %q did not reach both the Release (%q) and an Event (%q); last seen: %s",
				refusalTimeout, reason, inRelease, inEvent, last)
		case <-time.After(cluster.PollInterval):
		}
	}
	where := inRelease + "; " + inEvent
	t.Logf("the refusal is reported: %s", where)
	d := mustAvailable(t, ns, "shop")
	if !d.Spec.Paused {
		t.Errorf("the Deployment rolled to the refused revision instead of holding on stable")
	}
	if _, err := getDeployment(t, ns, "shop-canary"); !apierrors.IsNotFound(err) {
		t.Errorf("a canary Deployment exists despite the policy: %v", err)
	}
}

// enforced are the labels of a namespace that opted in, under Pod Security "restricted" and the
// cluster's e2e-workload-standards policy.
var enforced = map[string]string{
	slogatev1alpha1.NamespaceOptInLabel:  slogatev1alpha1.NamespaceOptInValue,
	"pod-security.kubernetes.io/enforce": "restricted",
	"e2e.slogate.io/policy":              "enforced",
}

// mustStartSlogate installs slogate and the cluster's policies, and starts the webhook and the
// analyzer as local processes, each with a token of its own ServiceAccount; both stop at the end
// of the test.
func mustStartSlogate(t *testing.T) *slogate.Analyzer {
	t.Helper()
	mustInstalled(t)
	env.MustKubectlInput(t, clusterPolicyYAML, "apply", "-f", "-")
	probe := env.MustCreateNamespace(t, "", optIn).Name
	mustStartWebhook(t)
	mustWaitAdmitting(t, probe)
	an, err := slogate.StartAnalyzer(t.Context(), env, slogate.AnalyzerOptions{PrometheusAddress: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatalf("starting the analyzer: %v", err)
	}
	t.Cleanup(func() {
		an.Stop()
		if t.Failed() {
			t.Logf("analyzer log (end):\n%s", an.Log(16000))
		}
	})
	return an
}

// mustAvailable waits until Deployment ns/name has all its replicas available (on the stable
// ReplicaSet while it is paused) and returns it.
func mustAvailable(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "Deployment "+ns+"/"+name+" to be available", func(ctx context.Context) (bool, error) {
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			return false, err
		}
		return d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.ObservedGeneration == d.Generation, nil
	})
	return d
}

func getDeployment(t *testing.T, ns, name string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	return d, env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d)
}

// mustReleaseEnds waits for a Release in ns to reach a terminal phase, calling observe at every
// poll, and returns it.
func mustReleaseEnds(t *testing.T, ns string, observe func(context.Context)) *slogatev1alpha1.Release {
	t.Helper()
	var done *slogatev1alpha1.Release
	cluster.MustPoll(t, releaseTimeout, "the release in "+ns+" to end", func(ctx context.Context) (bool, error) {
		observe(ctx)
		var rels slogatev1alpha1.ReleaseList
		if err := env.Client().List(ctx, &rels, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for i := range rels.Items {
			if rels.Items[i].Status.Phase.IsTerminal() {
				done = &rels.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	return done
}

// mustEvents lists the events of ns through events.k8s.io, which also shows core events.
func mustEvents(t *testing.T, ns string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := env.Client().List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	return list.Items
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
