package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/e2e/cluster"
)

// mustGetDeployment reads a Deployment.
func mustGetDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// mustWaitSettled waits until every replica of a Deployment runs its template and is available (the
// webhook starts a release only from such a Deployment) and returns the template's revision.
func mustWaitSettled(t *testing.T, ns, name string) string {
	t.Helper()
	cluster.MustPoll(t, cluster.DeploymentReadyTimeout, "deployment "+name+" to settle", func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		if err := env.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			return false, err
		}
		s, want := d.Status, *d.Spec.Replicas
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want, nil
	})
	rev := mustGetDeployment(t, ns, "web").Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
	if rev == "" {
		t.Fatalf("the webhook did not label the template of deployment %s", name)
	}
	return rev
}

// mustMatch returns the first group of re in s.
func mustMatch(t *testing.T, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q does not match %s", s, re)
	}
	return m[1]
}

// TestPreviewRelease follows one Deployment through a release and previews each kind of change
// on the way, checking each prediction against what the webhook then really does.
func TestPreviewRelease(t *testing.T) {
	ns := mustNamespace(t, true)
	env.MustKubectl(t, "apply", "-n", ns, "-f", "preview_web_v1.yaml")
	stable := mustWaitSettled(t, ns, "web")
	env.MustKubectl(t, "apply", "-n", ns, "-f", "preview_policies.yaml")
	prefix := "deployment " + ns + "/web: "

	var canary string
	for _, inv := range invocations {
		t.Run("settled/"+inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "preview", "-f", "preview_web_v1.yaml", "-n", ns)
			if want := prefix + "the pod template would not change (revision " + stable + "): no release starts\n"; r.stdout != want {
				t.Errorf("preview of the same template:\n got %q\nwant %q", r.stdout, want)
			}

			r = inv.mustSucceed(t, "preview", "-f", "preview_web_v2.yaml", "-n", ns)
			canary = mustMatch(t, `the change would start a canary release of revision (\S+) \(stable `+stable+` keeps serving\)`, r.stdout)
			want := prefix + "the change would start a canary release of revision " + canary + " (stable " + stable + " keeps serving)\n" +
				"  revision:  " + canary + "\n" +
				"  stable:    " + stable + "\n" +
				"  policy:    RolloutPolicy/web-fast\n" +
				"  steps:\n" +
				"     1  setWeight 20%\n" +
				"     2  pause 30s\n" +
				"     3  analysis canary-success-rate (cluster)\n" +
				"     4  setWeight 100%\n" +
				"  warnings:\n" +
				"    - slogate: canary release of revision " + canary + " started, stable " + stable + " keeps serving"
			if !strings.HasPrefix(r.stdout, want) {
				t.Errorf("preview of a new template:\n got %q\nwant a prefix %q", r.stdout, want)
			}
			if want := "  watch it:  kubectl slogate status web -n " + ns + " --watch\n"; !strings.HasSuffix(r.stdout, want) {
				t.Errorf("preview of a new template does not end with %q:\n%s", want, r.stdout)
			}
			if d := mustGetDeployment(t, ns, "web"); d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != "" ||
				d.Spec.Template.Spec.Containers[0].Image != "registry.example/web:v1" {
				t.Errorf("preview changed the Deployment: paused %v, annotations %v, image %s",
					d.Spec.Paused, d.Annotations, d.Spec.Template.Spec.Containers[0].Image)
			}

			r = inv.mustFail(t, "error: the change would be rejected: 1 of 1", "preview", "-f", "preview_bad_annotation.yaml", "-n", ns)
			if !strings.HasPrefix(r.stdout, prefix+"the API server would reject the change: admission webhook") ||
				!strings.Contains(r.stdout, `metadata.annotations[slogate.io/skip]: Unsupported value: "maybe"`) {
				t.Errorf("preview of a malformed annotation = %q", r.stdout)
			}
		})
	}

	// The real apply does what preview said: the Deployment is held for the revision it named.
	env.MustKubectl(t, "apply", "-n", ns, "-f", "preview_web_v2.yaml")
	if d := mustGetDeployment(t, ns, "web"); !d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != canary ||
		d.Annotations[slogatev1alpha1.StableRevisionAnnotation] != stable {
		t.Fatalf("after applying v2: paused %v, annotations %v; preview said canary %s, stable %s", d.Spec.Paused, d.Annotations, canary, stable)
	}

	for _, inv := range invocations {
		t.Run("held/"+inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "preview", "-f", "preview_web_v2.yaml", "-n", ns)
			if want := prefix + "the release of revision " + canary + " is already running; this change leaves it as it is\n"; r.stdout != want {
				t.Errorf("preview of the running canary's template:\n got %q\nwant %q", r.stdout, want)
			}

			r = inv.mustSucceed(t, "preview", "-f", "preview_web_v3.yaml", "-n", ns)
			third := mustMatch(t, `the change would replace the running canary `+canary+` with revision (\S+) and restart the steps`, r.stdout)
			if third == canary || third == stable || !strings.Contains(r.stdout, "  policy:    RolloutPolicy/web-fast\n") ||
				!strings.Contains(r.stdout, "    - slogate: revision "+third+" supersedes canary "+canary) {
				t.Errorf("preview of a newer template during a release:\n%s", r.stdout)
			}

			r = inv.mustSucceed(t, "preview", "-f", "preview_web_v1.yaml", "-n", ns)
			if want := prefix + "the change re-applies the stable revision " + stable + ": the release of " + canary +
				" would end at once, traffic stay on stable and the Deployment be unpaused\n  warnings:\n    - slogate: stable revision " + stable +
				" re-applied"; !strings.HasPrefix(r.stdout, want) {
				t.Errorf("preview of the stable template during a release:\n got %q\nwant a prefix %q", r.stdout, want)
			}
			if d := mustGetDeployment(t, ns, "web"); !d.Spec.Paused || d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation] != canary {
				t.Errorf("preview changed the held Deployment: paused %v, annotations %v", d.Spec.Paused, d.Annotations)
			}
		})
	}

	// The analyzer rolls the canary back: the Deployment stays paused on the failed template.
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		slogatev1alpha1.FailedRevisionAnnotation: canary,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := asAnalyzer.Patch(t.Context(), mustGetDeployment(t, ns, "web"), client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("recording the rollback as the analyzer: %v", err)
	}

	for _, inv := range invocations {
		t.Run("rolled-back/"+inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "preview", "-f", "preview_web_v2.yaml", "-n", ns)
			if want := prefix + "revision " + canary + " was rolled back before; applying it again starts no release " +
				"(use kubectl slogate retry web to try it again)\n"; !strings.HasPrefix(r.stdout, want) {
				t.Errorf("preview of the failed template:\n got %q\nwant a prefix %q", r.stdout, want)
			}
			r = inv.mustSucceed(t, "preview", "-f", "preview_web_v3.yaml", "-n", ns)
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `the change would start a canary release of revision \S+ \(stable ` +
				stable + ` keeps serving\)\n`).MatchString(r.stdout) {
				t.Errorf("preview of a new template after a rollback:\n%s", r.stdout)
			}
		})
	}
}
