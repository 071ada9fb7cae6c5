package cluster_test

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/e2e/cluster"
)

var (
	//go:embed deployment.yaml
	deploymentYAML string
	//go:embed httproute.yaml
	httpRouteYAML []byte
	//go:embed rbac.yaml
	rbacYAML []byte
	//go:embed admission-policy.yaml
	admissionPolicyYAML string
	//go:embed privileged-pod.yaml
	privilegedPodYAML []byte
)

// env is the control plane shared by the tests of this package; each test works in its own namespace.
var env *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(cluster.RunTests(m, cluster.Options{}, func(c *cluster.Cluster) error {
		env = c
		return nil
	}))
}

func renderDeployment(t *testing.T, image string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tmpl := template.Must(template.New("deployment").Parse(deploymentYAML))
	if err := tmpl.Execute(&buf, struct{ Image string }{image}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustWaitRolledOut waits until the Deployment's controller has seen its latest spec, every replica runs the
// current template and is available, and no old pod is left.
func mustWaitRolledOut(t *testing.T, key client.ObjectKey) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "deployment "+key.String()+" rolled out", func(ctx context.Context) (bool, error) {
		if err := env.Client().Get(ctx, key, &d); err != nil {
			return false, err
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		s := d.Status
		return s.ObservedGeneration == d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want &&
			s.ReadyReplicas == want && s.Replicas == want, nil
	})
	return &d
}

// replicaSetsOf returns, per container image, the desired and current replica counts of the Deployment's
// ReplicaSets.
func replicaSetsOf(t *testing.T, d *appsv1.Deployment) map[string][2]int32 {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := env.Client().List(t.Context(), &list, client.InNamespace(d.Namespace)); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int32{}
	for _, rs := range list.Items {
		if !metav1.IsControlledBy(&rs, d) {
			continue
		}
		got[rs.Spec.Template.Spec.Containers[0].Image] = [2]int32{ptr.Deref(rs.Spec.Replicas, 0), rs.Status.Replicas}
	}
	return got
}

func TestDeploymentRollsOutWithKubectlApply(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name
	key := client.ObjectKey{Namespace: ns, Name: "web"}

	start := time.Now()
	env.MustKubectlInput(t, renderDeployment(t, "registry.example/web:v1"), "apply", "--namespace", ns, "-f", "-")
	d := mustWaitRolledOut(t, key)
	t.Logf("3 replicas available %s after kubectl apply", time.Since(start).Round(time.Millisecond))

	var pods corev1.PodList
	if err := env.Client().List(t.Context(), &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || !strings.HasPrefix(p.Spec.NodeName, cluster.NodeNamePrefix) || p.Status.Phase != corev1.PodRunning || !cluster.PodReady(&p) {
			t.Errorf("pod %s: node %q, phase %s, ready %t; want a kwok node, Running, Ready", p.Name, p.Spec.NodeName, p.Status.Phase, cluster.PodReady(&p))
		}
	}
	if diff := cmp.Diff(map[string][2]int32{"registry.example/web:v1": {3, 3}}, replicaSetsOf(t, d)); diff != "" {
		t.Errorf("ReplicaSets before the image change (-want +got):\n%s", diff)
	}

	start = time.Now()
	env.MustKubectlInput(t, renderDeployment(t, "registry.example/web:v2"), "apply", "--namespace", ns, "-f", "-")
	d = mustWaitRolledOut(t, key)
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "registry.example/web:v2" {
		t.Fatalf("image after apply = %q, want registry.example/web:v2", got)
	}
	// The Deployment counts terminating pods out of status.replicas only once they are gone, and the old
	// ReplicaSet's status follows its spec: both are settled when the new one serves alone.
	want := map[string][2]int32{"registry.example/web:v1": {0, 0}, "registry.example/web:v2": {3, 3}}
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "the old ReplicaSet scaled to 0", func(context.Context) (bool, error) {
		return cmp.Equal(want, replicaSetsOf(t, d)), nil
	})
	t.Logf("new ReplicaSet rolled out and old one scaled to 0 %s after kubectl apply", time.Since(start).Round(time.Millisecond))

	// The real kubectl agrees.
	out := env.MustKubectl(t, "rollout", "status", "deployment/web", "--namespace", ns, "--timeout=30s")
	if !strings.Contains(out, "successfully rolled out") {
		t.Errorf("kubectl rollout status = %q, want it to say the rollout succeeded", out)
	}
}

func TestGatewayAPIRoutesAreServed(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name

	out := env.MustKubectl(t, "api-resources", "--api-group=gateway.networking.k8s.io", "--output=name")
	for _, want := range []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"} {
		if !slices.ContainsFunc(strings.Fields(out), func(r string) bool { return strings.HasPrefix(r, want+".") }) {
			t.Errorf("kubectl api-resources does not list %s; got:\n%s", want, out)
		}
	}

	env.MustKubectlInput(t, httpRouteYAML, "apply", "--namespace", ns, "-f", "-")
	var route gatewayv1.HTTPRoute
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-route"}, &route); err != nil {
		t.Fatalf("reading the applied HTTPRoute: %v", err)
	}
	var got []string
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			got = append(got, fmt.Sprintf("%s=%d", b.Name, ptr.Deref(b.Weight, -1)))
		}
	}
	if diff := cmp.Diff([]string{"web-stable=100", "web-canary=0"}, got); diff != "" {
		t.Errorf("HTTPRoute backends (-want +got):\n%s", diff)
	}

	// The CRD's own validation is live: a weight out of range is refused.
	route.Spec.Rules[0].BackendRefs[0].Weight = ptr.To[int32](1_000_001)
	if err := env.Client().Update(t.Context(), &route); !apierrors.IsInvalid(err) {
		t.Errorf("updating the route with weight 1000001: err = %v, want Invalid", err)
	}
}

func TestServiceAccountTokenIsBoundByRBAC(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name
	env.MustApplyYAML(t, ns, rbacYAML)
	kubeconfig := env.MustServiceAccountKubeconfig(t, ns, "reader")

	who := env.MustKubectl(t, "--kubeconfig", kubeconfig, "auth", "whoami", "--output=jsonpath={.status.userInfo.username}")
	if want := "system:serviceaccount:" + ns + ":reader"; who != want {
		t.Errorf("kubectl auth whoami with the token = %q, want %q", who, want)
	}
	// Allowed by the Role.
	env.MustKubectl(t, "--kubeconfig", kubeconfig, "get", "deployments", "--namespace", ns)

	// Not allowed: writing Deployments, and anything cluster-scoped. The admin may do both.
	_, err := env.Kubectl(t.Context(), "--kubeconfig", kubeconfig, "create", "deployment", "sneaky", "--image=x", "--namespace", ns)
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("kubectl create deployment as reader: err = %v, want forbidden", err)
	}
	if _, err := env.Kubectl(t.Context(), "--kubeconfig", kubeconfig, "get", "nodes"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("kubectl get nodes as reader: err = %v, want forbidden", err)
	}
	nodes := env.MustKubectl(t, "get", "nodes", "--output=name")
	if got := len(strings.Fields(nodes)); got != 3 {
		t.Errorf("kubectl get nodes as admin listed %d nodes, want 3:\n%s", got, nodes)
	}

	// The same through a Go client built from the token kubeconfig, as slogate's processes will use it.
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	var deployments appsv1.DeploymentList
	if err := c.List(t.Context(), &deployments, client.InNamespace(ns)); err != nil {
		t.Errorf("listing Deployments as reader: %v", err)
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sneaky"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sneaky"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "sneaky"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}},
			},
		},
	}
	if err := c.Create(t.Context(), d); !apierrors.IsForbidden(err) {
		t.Errorf("creating a Deployment as reader: err = %v, want Forbidden", err)
	}
}

// TestAdmissionIsEnforced checks the admission plugins slogate's installation relies on besides webhooks:
// Pod Security admission and ValidatingAdmissionPolicy (CEL).
func TestAdmissionIsEnforced(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}).Name

	_, err := env.KubectlInput(t.Context(), privilegedPodYAML, "apply", "--namespace", ns, "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Errorf("applying a privileged pod in a restricted namespace: err = %v, want a PodSecurity violation", err)
	}

	var policy bytes.Buffer
	if err := template.Must(template.New("policy").Parse(admissionPolicyYAML)).Execute(&policy, struct{ Namespace string }{ns}); err != nil {
		t.Fatal(err)
	}
	env.MustKubectlInput(t, policy.Bytes(), "apply", "-f", "-")
	t.Cleanup(func() {
		if _, err := env.KubectlInput(context.WithoutCancel(t.Context()), policy.Bytes(), "delete", "--ignore-not-found", "-f", "-"); err != nil {
			t.Errorf("deleting the policy: %v", err)
		}
	})
	create := func(ctx context.Context, replicas int) error {
		_, err := env.Kubectl(ctx, "create", "deployment", "capped", "--image=registry.example/app:v1",
			"--replicas="+fmt.Sprint(replicas), "--namespace", ns, "--dry-run=server")
		return err
	}
	// The policy takes effect once the API server's informers have it; until then creates pass.
	cluster.MustPoll(t, cluster.PolicyActiveTimeout, "the ValidatingAdmissionPolicy to deny 6 replicas", func(ctx context.Context) (bool, error) {
		err := create(ctx, 6)
		return err != nil && strings.Contains(err.Error(), "at most 5 replicas here"), nil
	})
	if err := create(t.Context(), 5); err != nil {
		t.Errorf("creating a Deployment of 5 replicas under the policy: %v", err)
	}
}

// TestNodesKeepHeartbeating checks that kwok renews every node's Lease, which is what keeps the
// node-lifecycle controller from marking the nodes NotReady (and evicting every pod) a minute into a run.
func TestNodesKeepHeartbeating(t *testing.T) {
	t.Parallel()
	renewed := func(ctx context.Context) (map[string]time.Time, error) {
		var leases coordinationv1.LeaseList
		if err := env.Client().List(ctx, &leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
			return nil, err
		}
		got := map[string]time.Time{}
		for _, l := range leases.Items {
			if l.Spec.RenewTime != nil {
				got[l.Name] = l.Spec.RenewTime.Time
			}
		}
		return got, nil
	}
	first, err := renewed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 {
		t.Fatalf("node leases: %v, want one for each of the 3 nodes", first)
	}
	// kwok renews every quarter of --node-lease-duration-seconds (40 s): every 10 s.
	cluster.MustPoll(t, cluster.LeaseRenewTimeout, "every node lease renewed", func(ctx context.Context) (bool, error) {
		now, err := renewed(ctx)
		if err != nil {
			return false, err
		}
		for name, at := range first {
			if !now[name].After(at) {
				return false, nil
			}
		}
		return true, nil
	})
	var nodes corev1.NodeList
	if err := env.Client().List(t.Context(), &nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if !cluster.NodeReady(&n) {
			t.Errorf("node %s is not Ready or is tainted: %+v %+v", n.Name, n.Status.Conditions, n.Spec.Taints)
		}
	}
}
