package install_test

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/certs"
)

//go:embed rbac_objects.yaml
var rbacObjectsYAML []byte

// installOnce installs the self-managed overlay once per run for the tests that need an install
// but do not test the apply itself.
var installOnce sync.Once

func mustInstalled(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		if _, err := env.Kubectl(t.Context(), "-n", systemNamespace, "get", "secret", certs.DefaultSecretName); err == nil {
			return // TestOverlaysApply installed it
		}
		mustApplyCRDs(t)
		mustApplyOverlay(t, "self-managed")
	})
}

// canI asks `kubectl auth can-i` whether user may do verb on resource in namespace ns ("" for
// cluster scope, "*" for every namespace).
// A subresource is written resource/subresource, or resource/name/subresource; a name as
// resource/name.
func canI(t *testing.T, user, verb, resource, ns string) bool {
	t.Helper()
	args := []string{"auth", "can-i", verb, "--as=" + user}
	parts := strings.Split(resource, "/")
	switch {
	case len(parts) == 2 && subresources[parts[1]]:
		args = append(args, parts[0], "--subresource="+parts[1])
	case len(parts) == 3:
		args = append(args, parts[0]+"/"+parts[1], "--subresource="+parts[2])
	default:
		args = append(args, resource)
	}
	switch ns {
	case "":
	case "*":
		args = append(args, "--all-namespaces")
	default:
		args = append(args, "-n", ns)
	}
	cmd := env.KubectlCommand(t.Context(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	answer := strings.TrimSpace(stdout.String())
	var ee *exec.ExitError
	switch {
	case err == nil && answer == "yes":
		return true
	case errors.As(err, &ee) && ee.ExitCode() == 1 && strings.HasPrefix(answer, "no"):
		return false
	default:
		t.Fatalf("kubectl %s: %v: %q %q", strings.Join(args, " "), err, answer, stderr.String())
		return false
	}
}

// subresources are the subresources the cases name.
var subresources = map[string]bool{"status": true, "scale": true, "exec": true, "token": true, "approval": true}

// TestRBAC proves the least-privilege claims of README "RBAC" against the apiserver's own
// authorizer: what each ServiceAccount may do, what it may not (read Secrets elsewhere, write
// outside its lane, escalate), and, for the analyzer's cluster-wide write verbs, that the
// ValidatingAdmissionPolicy slogate-analyzer-scope keeps its writes in opted-in namespaces.
func TestRBAC(t *testing.T) {
	mustInstalled(t)
	opted := env.MustCreateNamespace(t, "", map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}).Name
	plain := env.MustCreateNamespace(t, "", nil).Name

	type ask struct {
		user, verb, resource, ns string
	}
	// Each answer the apiserver must give; the key says why it matters.
	cases := map[string]struct {
		ask
		want bool
	}{
		// The analyzer: exactly the verbs it uses.
		"analyzer reads Deployments":                            {ask{analyzerUser, "list", "deployments.apps", opted}, true},
		"analyzer creates the canary Deployment":                {ask{analyzerUser, "create", "deployments.apps", opted}, true},
		"analyzer pauses and unpauses the Deployment":           {ask{analyzerUser, "patch", "deployments.apps", opted}, true},
		"analyzer deletes the canary Deployment":                {ask{analyzerUser, "delete", "deployments.apps", opted}, true},
		"analyzer reads ReplicaSets (pod-template-hash)":        {ask{analyzerUser, "watch", "replicasets.apps", opted}, true},
		"analyzer reads Pods (readiness)":                       {ask{analyzerUser, "list", "pods", opted}, true},
		"analyzer pins Services":                                {ask{analyzerUser, "update", "services", opted}, true},
		"analyzer writes route weights":                         {ask{analyzerUser, "patch", "httproutes.gateway.networking.k8s.io", opted}, true},
		"analyzer creates Releases":                             {ask{analyzerUser, "create", "releases.slogate.io", opted}, true},
		"analyzer writes Release status":                        {ask{analyzerUser, "update", "releases.slogate.io/status", opted}, true},
		"analyzer reads ClusterRolloutPolicies":                 {ask{analyzerUser, "list", "clusterrolloutpolicies.slogate.io", ""}, true},
		"analyzer reads AnalysisTemplates":                      {ask{analyzerUser, "watch", "analysistemplates.slogate.io", opted}, true},
		"analyzer reads Namespaces (opt-in)":                    {ask{analyzerUser, "watch", "namespaces", ""}, true},
		"analyzer records Events":                               {ask{analyzerUser, "create", "events", opted}, true},
		"analyzer records events.k8s.io Events":                 {ask{analyzerUser, "patch", "events.events.k8s.io", opted}, true},
		"analyzer takes its Lease":                              {ask{analyzerUser, "update", "leases.coordination.k8s.io", systemNamespace}, true},
		"analyzer creates its Lease":                            {ask{analyzerUser, "create", "leases.coordination.k8s.io", systemNamespace}, true},
		"analyzer reads no Secret in an opted-in namespace":     {ask{analyzerUser, "get", "secrets", opted}, false},
		"analyzer lists no Secret anywhere":                     {ask{analyzerUser, "list", "secrets", "*"}, false},
		"analyzer reads no Secret of slogate-system":            {ask{analyzerUser, "get", "secrets/" + certs.DefaultSecretName, systemNamespace}, false},
		"analyzer reads no Secret of kube-system":               {ask{analyzerUser, "get", "secrets", "kube-system"}, false},
		"analyzer creates no Service":                           {ask{analyzerUser, "create", "services", opted}, false},
		"analyzer deletes no Service":                           {ask{analyzerUser, "delete", "services", opted}, false},
		"analyzer creates no HTTPRoute":                         {ask{analyzerUser, "create", "httproutes.gateway.networking.k8s.io", opted}, false},
		"analyzer deletes no HTTPRoute":                         {ask{analyzerUser, "delete", "httproutes.gateway.networking.k8s.io", opted}, false},
		"analyzer creates no Pod":                               {ask{analyzerUser, "create", "pods", opted}, false},
		"analyzer deletes no Pod":                               {ask{analyzerUser, "delete", "pods", opted}, false},
		"analyzer execs into no Pod":                            {ask{analyzerUser, "create", "pods/exec", opted}, false},
		"analyzer changes no Namespace (no opting in)":          {ask{analyzerUser, "patch", "namespaces", ""}, false},
		"analyzer changes no RolloutPolicy":                     {ask{analyzerUser, "update", "rolloutpolicies.slogate.io", opted}, false},
		"analyzer changes no ClusterAnalysisTemplate":           {ask{analyzerUser, "update", "clusteranalysistemplates.slogate.io", ""}, false},
		"analyzer scales nothing through the scale subresource": {ask{analyzerUser, "update", "deployments.apps/scale", opted}, false},
		"analyzer takes no Lease outside slogate-system":        {ask{analyzerUser, "create", "leases.coordination.k8s.io", "kube-system"}, false},
		"analyzer reads no ConfigMap":                           {ask{analyzerUser, "get", "configmaps", opted}, false},
		"analyzer touches no webhook configuration":             {ask{analyzerUser, "patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io", ""}, false},
		"analyzer removes no admission policy":                  {ask{analyzerUser, "delete", "validatingadmissionpolicies.admissionregistration.k8s.io", ""}, false},
		"analyzer unbinds no admission policy":                  {ask{analyzerUser, "delete", "validatingadmissionpolicybindings.admissionregistration.k8s.io", ""}, false},

		// The webhook: one Secret and the caBundle of its two configurations.
		"webhook reads its serving Secret":                    {ask{webhookUser, "get", "secrets/" + certs.DefaultSecretName, systemNamespace}, true},
		"webhook updates its serving Secret":                  {ask{webhookUser, "update", "secrets/" + certs.DefaultSecretName, systemNamespace}, true},
		"webhook patches its mutating configuration":          {ask{webhookUser, "patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/" + mutatingName, ""}, true},
		"webhook patches its validating configuration":        {ask{webhookUser, "patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/" + validatingName, ""}, true},
		"webhook reads no other Secret of slogate-system":     {ask{webhookUser, "get", "secrets/slogate-webhook-token", systemNamespace}, false},
		"webhook lists no Secret of slogate-system":           {ask{webhookUser, "list", "secrets", systemNamespace}, false},
		"webhook watches no Secret of slogate-system":         {ask{webhookUser, "watch", "secrets", systemNamespace}, false},
		"webhook lists no Secret anywhere":                    {ask{webhookUser, "list", "secrets", "*"}, false},
		"webhook reads no Secret of an opted-in namespace":    {ask{webhookUser, "get", "secrets", opted}, false},
		"webhook creates no Secret":                           {ask{webhookUser, "create", "secrets", systemNamespace}, false},
		"webhook deletes not even its own Secret":             {ask{webhookUser, "delete", "secrets/" + certs.DefaultSecretName, systemNamespace}, false},
		"webhook patches no other webhook configuration":      {ask{webhookUser, "patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/someone-else", ""}, false},
		"webhook lists no webhook configurations":             {ask{webhookUser, "list", "validatingwebhookconfigurations.admissionregistration.k8s.io", ""}, false},
		"webhook deletes not even its own configuration":      {ask{webhookUser, "delete", "mutatingwebhookconfigurations.admissionregistration.k8s.io/" + mutatingName, ""}, false},
		"webhook reads no Deployment":                         {ask{webhookUser, "get", "deployments.apps", opted}, false},
		"webhook changes no Deployment":                       {ask{webhookUser, "patch", "deployments.apps", opted}, false},
		"webhook reads no Namespace":                          {ask{webhookUser, "list", "namespaces", ""}, false},
		"webhook writes no Release":                           {ask{webhookUser, "create", "releases.slogate.io", opted}, false},
		"webhook changes no admission policy":                 {ask{webhookUser, "update", "validatingadmissionpolicies.admissionregistration.k8s.io", ""}, false},
		"webhook in a namespace that did not opt in: nothing": {ask{webhookUser, "update", "deployments.apps", plain}, false},
	}
	// Neither may escalate: no RBAC writes, no bind or escalate verbs, no impersonation, no tokens
	// for other ServiceAccounts, no certificate signing, no nodes.
	for _, who := range []struct{ name, user string }{{"analyzer", analyzerUser}, {"webhook", webhookUser}} {
		for _, a := range []ask{
			{who.user, "create", "clusterrolebindings.rbac.authorization.k8s.io", ""},
			{who.user, "create", "rolebindings.rbac.authorization.k8s.io", systemNamespace},
			{who.user, "create", "rolebindings.rbac.authorization.k8s.io", opted},
			{who.user, "update", "clusterroles.rbac.authorization.k8s.io", ""},
			{who.user, "bind", "clusterroles.rbac.authorization.k8s.io", ""},
			{who.user, "escalate", "clusterroles.rbac.authorization.k8s.io", ""},
			{who.user, "bind", "roles.rbac.authorization.k8s.io", systemNamespace},
			{who.user, "escalate", "roles.rbac.authorization.k8s.io", systemNamespace},
			{who.user, "impersonate", "users", ""},
			{who.user, "impersonate", "serviceaccounts", systemNamespace},
			{who.user, "impersonate", "groups", ""},
			{who.user, "create", "serviceaccounts/token", systemNamespace},
			{who.user, "create", "serviceaccounts", systemNamespace},
			{who.user, "create", "certificatesigningrequests.certificates.k8s.io", ""},
			{who.user, "update", "certificatesigningrequests.certificates.k8s.io/approval", ""},
			{who.user, "patch", "nodes", ""},
			{who.user, "create", "pods", systemNamespace},
			{who.user, "*", "*", "*"},
		} {
			cases[who.name+" may not "+a.verb+" "+a.resource+" in "+a.ns] = struct {
				ask
				want bool
			}{a, false}
		}
	}

	// kubectl runs one at a time: 2 cores.
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	var wrong []string
	for _, name := range names {
		tc := cases[name]
		if got := canI(t, tc.user, tc.verb, tc.resource, tc.ns); got != tc.want {
			wrong = append(wrong, name)
		}
	}
	if diff := cmp.Diff([]string(nil), wrong); diff != "" {
		t.Errorf("kubectl auth can-i answered otherwise for (-want +got):\n%s", diff)
	}
	t.Logf("%d kubectl auth can-i answers as stated", len(cases)-len(wrong))

	t.Run("analyzer writes stay in opted-in namespaces", func(t *testing.T) {
		testAnalyzerScope(t, opted, plain)
	})
}

// testAnalyzerScope sends real requests as the analyzer (impersonated, server-side dry run: the
// whole admission chain runs, nothing is stored) and checks the admission policy's verdict.
func testAnalyzerScope(t *testing.T, opted, plain string) {
	// In the namespace that did not opt in; the webhook is not called there.
	env.MustKubectlInput(t, rbacObjectsYAML, "apply", "-n", plain, "-f", "-")
	const denial = "slogate-analyzer may only change objects in namespaces labelled slogate.io/canary=enabled"
	cases := map[string]struct {
		args       []string
		wantDenial bool
	}{
		"reading a Deployment where the namespace did not opt in": {
			args: []string{"-n", plain, "get", "deployment", "web"},
		},
		"annotating a Deployment where the namespace did not opt in": {
			args: []string{"-n", plain, "annotate", "deployment", "web", "e2e=1", "--dry-run=server"}, wantDenial: true,
		},
		"creating a Deployment where the namespace did not opt in": {
			args: []string{"-n", plain, "create", "deployment", "web-canary", "--image=registry.example/web:2", "--dry-run=server"}, wantDenial: true,
		},
		"deleting a Deployment where the namespace did not opt in": {
			args: []string{"-n", plain, "delete", "deployment", "web", "--dry-run=server"}, wantDenial: true,
		},
		"re-pinning a Service where the namespace did not opt in": {
			args: []string{"-n", plain, "label", "service", "web-stable", "e2e=1", "--dry-run=server"}, wantDenial: true,
		},
		"creating a Release where the namespace did not opt in": {
			args: []string{"-n", plain, "create", "-f", "-", "--dry-run=server"}, wantDenial: true,
		},
		"finishing a release left in a namespace that opted out (marked Deployment)": {
			args: []string{"-n", plain, "annotate", "deployment", "held", "e2e=1", "--dry-run=server"},
		},
		"changing slogate's own Deployment": {
			args: []string{"-n", systemNamespace, "annotate", "deployment", "slogate", "e2e=1", "--dry-run=server"}, wantDenial: true,
		},
		"creating a Release in an opted-in namespace": {
			args: []string{"-n", opted, "create", "-f", "-", "--dry-run=server"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdin []byte
			if slices.Contains(tc.args, "-f") {
				stdin = releaseYAML
			}
			out, err := env.KubectlInput(context.WithoutCancel(t.Context()), stdin, append([]string{"--as=" + analyzerUser}, tc.args...)...)
			switch {
			case tc.wantDenial && err == nil:
				t.Errorf("allowed, want the scope policy's denial: %s", out)
			case tc.wantDenial && !strings.Contains(err.Error(), denial):
				t.Errorf("refused, but not by the scope policy: %v", err)
			case !tc.wantDenial && err != nil:
				t.Errorf("refused: %v", err)
			}
		})
	}
}

//go:embed release.yaml
var releaseYAML []byte
