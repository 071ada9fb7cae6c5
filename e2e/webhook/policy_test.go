package webhook_test

import (
	_ "embed"
	"strings"
	"testing"
)

//go:embed policy.yaml
var policyYAML string

// TestPoliciesAndTemplatesAreValidated: the API server refuses a RolloutPolicy and an
// AnalysisTemplate the webhook finds wrong, naming the fields, and admits the seed's schedule.
func TestPoliciesAndTemplatesAreValidated(t *testing.T) {
	t.Parallel()
	ns := env.MustCreateNamespace(t, "", nil).Name
	docs := strings.Split(policyYAML, "\n---\n")
	careless, seed, broken := docs[0], docs[1], docs[2]

	stderr := mustKubectlFail(t, []byte(careless), "apply", "--namespace", ns, "-f", "-")
	for _, want := range []string{
		`admission webhook "rolloutpolicies.validate.slogate.io" denied the request`,
		`spec.steps[1].pause.duration: Invalid value: "0s": must be a positive duration, such as 180s or 5m`,
		`spec.stableService: Invalid value: "Web_Stable"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("kubectl printed %q, want it to contain %q", stderr, want)
		}
	}
	mustKubectl(t, []byte(seed), "apply", "--namespace", ns, "-f", "-")

	stderr = mustKubectlFail(t, []byte(broken), "apply", "--namespace", ns, "-f", "-")
	for _, want := range []string{
		`admission webhook "analysistemplates.validate.slogate.io" denied the request`,
		`spec.metrics[0].successCondition`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("kubectl printed %q, want it to contain %q", stderr, want)
		}
	}
}
