package webhook_test

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/slogate"
)

var (
	// env is the control plane shared by the tests of this package; each test works in its own
	// namespace.
	env *cluster.Cluster
	// wh is the webhook process, registered with env's API server.
	wh *slogate.Webhook

	//go:embed app.yaml
	appYAML string
)

// optedIn are the labels of a namespace that opted in.
var optedIn = map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}

// asAnalyzer makes kubectl act as the analyzer's ServiceAccount (the admin may impersonate); the
// group system:masters lets it do anything, so only the webhook's recognition of the username is
// under test.
var asAnalyzer = []string{
	"--as=system:serviceaccount:" + slogate.SystemNamespace + ":" + slogate.AnalyzerServiceAccount,
	"--as-group=system:masters",
}

func TestMain(m *testing.M) {
	os.Exit(cluster.RunTests(m, cluster.Options{CRDDirs: []string{cluster.SlogateCRDDir}}, func(c *cluster.Cluster) error {
		env = c
		start := time.Now()
		var err error
		wh, err = slogate.StartWebhook(context.Background(), c, slogate.WebhookOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "webhook: serving and called by the API server %.1fs after start; log %s\n",
			time.Since(start).Seconds(), wh.LogPath())
		return nil
	}))
}

// app is the Deployment of app.yaml with an image tag and annotations.
type app struct {
	Tag         string
	Annotations map[string]string
}

func (a app) yaml(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := template.Must(template.New("app").Parse(appYAML)).Execute(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// kubectl runs the real kubectl and returns its standard output and standard error (where it
// prints admission warnings).
func kubectl(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cluster.KubectlTimeout)
	defer cancel()
	cmd := env.KubectlCommand(ctx, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// mustKubectl runs kubectl and fails the test when it fails.
func mustKubectl(t *testing.T, stdin []byte, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := kubectl(t, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// mustKubectlFail runs kubectl, fails the test when kubectl succeeds, and returns its standard error.
func mustKubectlFail(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	_, stderr, err := kubectl(t, stdin, args...)
	if err == nil {
		t.Fatalf("kubectl %s succeeded, want it refused", strings.Join(args, " "))
	}
	return stderr
}

// mustApply applies a Deployment with kubectl apply and returns kubectl's standard error.
func mustApply(t *testing.T, ns string, a app) string {
	t.Helper()
	_, stderr := mustKubectl(t, a.yaml(t), "apply", "--namespace", ns, "-f", "-")
	return stderr
}

// mustRolledOut waits until the Deployment controller rolled every replica to the current template.
func mustRolledOut(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "deployment "+ns+"/"+name+" rolled out", func(ctx context.Context) (bool, error) {
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return false, err
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		s := d.Status
		return s.ObservedGeneration == d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want &&
			s.ReadyReplicas == want && s.Replicas == want, nil
	})
	return &d
}

// mustObserved waits until the Deployment controller has seen the Deployment's latest spec, and
// returns the Deployment as it then is.
func mustObserved(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "deployment "+ns+"/"+name+" observed", func(ctx context.Context) (bool, error) {
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return false, err
		}
		return d.Status.ObservedGeneration == d.Generation, nil
	})
	return &d
}

func mustGetDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
		t.Fatalf("reading deployment %s/%s: %v", ns, name, err)
	}
	return &d
}

// replicaSetsOf returns the ReplicaSets the Deployment controls, as image: ready replicas.
func replicaSetsOf(t *testing.T, d *appsv1.Deployment) map[string]int32 {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := env.Client().List(t.Context(), &list, client.InNamespace(d.Namespace)); err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, rs := range list.Items {
		if metav1.IsControlledBy(&rs, d) {
			got[rs.Spec.Template.Spec.Containers[0].Image] = rs.Status.ReadyReplicas
		}
	}
	return got
}

// mustMetric reads one sample of the webhook's metrics, 0 when it is not there yet.
func mustMetric(t *testing.T, sample string) float64 {
	t.Helper()
	out, err := httpGet(t.Context(), wh.MetricsURL())
	if err != nil {
		t.Fatalf("reading the webhook's metrics: %v", err)
	}
	for line := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

var errStatus = errors.New("unexpected status")
