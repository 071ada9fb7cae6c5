package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// row returns the fields of the table row whose column col is value, without the AGE column.
func row(t *testing.T, table string, col int, value string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	header := strings.Fields(lines[0])
	age := -1
	for i, h := range header {
		if h == "AGE" {
			age = i
		}
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > col && f[col] == value {
			if age >= 0 {
				f = append(f[:age:age], f[age+1:]...)
			}
			return f
		}
	}
	t.Fatalf("no row with %q in column %d of:\n%s", value, col, table)
	return nil
}

func TestList(t *testing.T) {
	ns, other := mustNamespace(t, true), mustNamespace(t, true)
	mustCreateRelease(t, release(ns, "web", "aaa", slogatev1alpha1.PhaseProgressing))
	mustCreateRelease(t, release(ns, "api", "bbb", slogatev1alpha1.PhaseSucceeded))
	mustCreateRelease(t, release(other, "web", "ccc", slogatev1alpha1.PhaseRolledBack))

	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			out := inv.mustSucceed(t, "list", "-n", ns).stdout
			if diff := cmp.Diff([]string{"NAME", "DEPLOYMENT", "PHASE", "STEP", "WEIGHT", "CANARY", "AGE", "REASON"},
				strings.Fields(strings.SplitN(out, "\n", 2)[0])); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"web-aaa", "web", "Progressing", "3/9", "5%", "aaa", "Testing"}, row(t, out, 0, "web-aaa")); diff != "" {
				t.Errorf("row web-aaa (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"api-bbb", "api", "Succeeded", "3/9", "5%", "bbb", "Testing"}, row(t, out, 0, "api-bbb")); diff != "" {
				t.Errorf("row api-bbb (-want +got):\n%s", diff)
			}
			if strings.Contains(out, "web-ccc") {
				t.Errorf("list -n %s shows the release of namespace %s:\n%s", ns, other, out)
			}

			all := inv.mustSucceed(t, "list", "-A").stdout
			if diff := cmp.Diff([]string{other, "web-ccc", "web", "RolledBack", "3/9", "5%", "ccc", "Testing"}, row(t, all, 1, "web-ccc")); diff != "" {
				t.Errorf("list -A row web-ccc (-want +got):\n%s", diff)
			}
			if r := row(t, all, 1, "web-aaa"); r[0] != ns {
				t.Errorf("list -A row web-aaa is in namespace %s, want %s", r[0], ns)
			}

			var list slogatev1alpha1.ReleaseList
			if err := json.Unmarshal([]byte(inv.mustSucceed(t, "list", "-n", ns, "-o", "json").stdout), &list); err != nil {
				t.Fatalf("list -o json: %v", err)
			}
			if got := names(list); !cmp.Equal(got, []string{"api-bbb", "web-aaa"}) {
				t.Errorf("list -o json names = %v", got)
			}
			list = slogatev1alpha1.ReleaseList{}
			if err := yaml.Unmarshal([]byte(inv.mustSucceed(t, "list", "-n", ns, "-o", "yaml").stdout), &list); err != nil {
				t.Fatalf("list -o yaml: %v", err)
			}
			if got := names(list); !cmp.Equal(got, []string{"api-bbb", "web-aaa"}) || list.Items[1].Status.Phase != slogatev1alpha1.PhaseProgressing {
				t.Errorf("list -o yaml = %v (phase %s)", got, list.Items[1].Status.Phase)
			}
		})
	}
}

func names(l slogatev1alpha1.ReleaseList) []string {
	var out []string
	for _, r := range l.Items {
		out = append(out, r.Name)
	}
	return out
}

func TestListEmpty(t *testing.T) {
	plain, optedIn := mustNamespace(t, false), mustNamespace(t, true)
	for _, inv := range invocations {
		t.Run(inv.String(), func(t *testing.T) {
			r := inv.mustSucceed(t, "list", "-n", plain)
			want := "No releases found in namespace " + plain + ".\nNote: namespace " + plain + " did not opt in to slogate: it lacks the label slogate.io/canary=enabled"
			if r.stdout != "" || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("list in a namespace that did not opt in: stdout %q, stderr %q, want stderr to start with %q", r.stdout, r.stderr, want)
			}
			r = inv.mustSucceed(t, "list", "-n", optedIn)
			if want := "No releases found in namespace " + optedIn + ".\n"; r.stdout != "" || r.stderr != want {
				t.Errorf("list in an empty namespace: stdout %q, stderr %q, want stderr %q", r.stdout, r.stderr, want)
			}
		})
	}
}
