package demo

import (
	"testing"
)

// TestDemo runs the demo as the e2e check of `make demo` does it: --fast --exit. The story must end
// the same way every run, and the demo must leave nothing behind.
func TestDemo(t *testing.T) {
	r := startDemo(t, "--fast", "--exit")
	if code := r.mustExit(t, demoTimeout+stopTimeout); code != 0 {
		t.Fatalf("the demo exited with status %d, want 0", code)
	}
	out := r.out.String()
	s := mustCheckStory(t, out)
	t.Logf("v2 %s promoted, v3 %s rolled back; the demo took %s", s.v2, s.v3, s.took)
	if !stoppedLine.MatchString(out) {
		t.Errorf("the demo did not say it stopped everything (want %q)", stoppedLine)
	}
	var urls []string
	if m := promLine.FindStringSubmatch(out); m != nil {
		urls = append(urls, m[1])
	}
	if m := metricsLine.FindStringSubmatch(out); m != nil {
		urls = append(urls, m[1], m[2])
	}
	mustBeGone(t, s.kubeconfig, urls...)
}
