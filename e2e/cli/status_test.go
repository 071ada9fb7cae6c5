package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

func event(ns, name, kind, object, reason, message string) *corev1.Event {
	now := metav1.NewTime(time.Now())
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: object, Namespace: ns},
		Type:           corev1.EventTypeNormal, Reason: reason, Message: message,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		Source: corev1.EventSource{Component: "slogate-analyzer"},
	}
}

// hasLine reports whether a line of out holds parts in order.
func hasLine(out string, parts ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		rest, ok := l, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

func TestStatus(t *testing.T) {
	ns := mustNamespace(t, true)
	mustCreate(t, deployment(ns, "web", held("stable0", "aaa")))
	mustCreateRelease(t, release(ns, "web", "aaa", slogatev1alpha1.PhaseProgressing))
	mustCreateRelease(t, release(ns, "web", "old", slogatev1alpha1.PhaseRolledBack))
	mustCreate(t, event(ns, "e1", "Release", "web-aaa", "WeightSet", "canary weight set to 5%"))
	mustCreate(t, event(ns, "e2", "Deployment", "web", "ReleaseStarted", "canary release of revision aaa started"))
	mustCreate(t, event(ns, "e3", "Release", "web-old", "RolledBack", "an event of the older release"))
	mustCreate(t, event(ns, "e4", "Release", "api-aaa", "Other", "an event of another release"))

	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			out := inv.mustSucceed(t, "status", "web", "-n", ns).stdout
			for _, want := range []string{
				"Release:    web-aaa\n",
				"Namespace:  " + ns + "\n",
				"Deployment: web (paused, ",
				"Phase:      Progressing (Testing), step 3/9: analysis success-rate-check, latency-p95-check\n",
				"Revisions:  stable stable0 -> canary aaa\n",
				"canary   5% [██░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]  95% stable",
				"  ✓  2  pause 3m0s\n",
				"  ▶  3  analysis success-rate-check, latency-p95-check  for ",
				"     4  setWeight 25%\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			for _, want := range [][]string{
				{"success-rate-check", "success-rate", "99.87", "✓ Successful"},
				{"CanaryReady", "True", "PodsReady", "2/2 canary pods ready"},
				{"Normal", "WeightSet", "Release/web-aaa", "canary weight set to 5%"},
				{"Normal", "ReleaseStarted", "Deployment/web", "canary release of revision aaa started"},
			} {
				if !hasLine(out, want...) {
					t.Errorf("status has no line with %q:\n%s", want, out)
				}
			}
			for _, not := range []string{"an event of the older release", "an event of another release"} {
				if strings.Contains(out, not) {
					t.Errorf("status shows %q:\n%s", not, out)
				}
			}

			// A Release name shows that release, even when it is not the Deployment's current one.
			out = inv.mustSucceed(t, "status", "web-old", "-n", ns).stdout
			for _, want := range []string{"Release:    web-old\n", "Phase:      RolledBack (Testing)\n", "  ✗  3  analysis", "an event of the older release"} {
				if !strings.Contains(out, want) {
					t.Errorf("status web-old lacks %q:\n%s", want, out)
				}
			}

			var r slogatev1alpha1.Release
			if err := yaml.Unmarshal([]byte(inv.mustSucceed(t, "status", "web", "-n", ns, "-o", "yaml").stdout), &r); err != nil {
				t.Fatalf("status -o yaml: %v", err)
			}
			if r.Name != "web-aaa" || r.Kind != "Release" || r.Status.CanaryWeight != 5 || len(r.Status.Measurements) != 1 {
				t.Errorf("status -o yaml = %s %s weight %d, %d measurements", r.Kind, r.Name, r.Status.CanaryWeight, len(r.Status.Measurements))
			}
			r = slogatev1alpha1.Release{}
			if err := json.Unmarshal([]byte(inv.mustSucceed(t, "status", "web-aaa", "-n", ns, "-o", "json").stdout), &r); err != nil {
				t.Fatalf("status -o json: %v", err)
			}
			if r.Name != "web-aaa" || r.APIVersion != "slogate.io/v1alpha1" {
				t.Errorf("status -o json = %s %s", r.APIVersion, r.Name)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	ns, plain := mustNamespace(t, true), mustNamespace(t, false)
	mustCreate(t, deployment(ns, "norelease"))
	mustCreate(t, deployment(ns, "fresh", held("stable0", "new")))
	mustCreate(t, deployment(plain, "web"))

	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			inv.mustFail(t, "error: no release for deployment norelease in namespace "+ns+"; releases start when the pod template of a "+
				"Deployment in a namespace labelled slogate.io/canary=enabled changes", "status", "norelease", "-n", ns)
			inv.mustFail(t, "error: namespace "+plain+" did not opt in to slogate: it lacks the label slogate.io/canary=enabled",
				"status", "web", "-n", plain)
			inv.mustFail(t, "error: no deployment or release named ghost in namespace "+ns, "status", "ghost", "-n", ns)
			inv.mustFail(t, "error: namespace nowhere-"+ns[:8]+" not found", "status", "web", "-n", "nowhere-"+ns[:8])
			inv.mustFail(t, "accepts 1 arg(s), received 0", "status", "-n", ns)

			// Held by the webhook, but the analyzer has not made the Release yet: not an error.
			out := inv.mustSucceed(t, "status", "fresh", "-n", ns).stdout
			if want := "Deployment " + ns + "/fresh is held for revision new: waiting for the analyzer to create release fresh-new"; !strings.Contains(out, want) {
				t.Errorf("status fresh = %q, want %q", out, want)
			}
			inv.mustFail(t, "error: release fresh-new has not been created yet", "status", "fresh", "-n", ns, "-o", "json")
		})
	}
}
