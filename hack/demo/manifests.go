package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
	"time"
)

// Names of what the demo creates.
const (
	namespace  = "demo"
	deployment = "payments-api"
	route      = "payments-api-route"
	replicas   = 4
)

// The manifests beside this file.
const (
	servicesFile = "services.yaml"
	policyFile   = "policy.yaml"
)

// versionFile is the manifest of version n (1, 2, 3) of payments-api.
func versionFile(n int) string { return fmt.Sprintf("payments-api-v%d.yaml", n) }

// schedule is what policy.yaml's [[ ... ]] values and the traffic rate are set to.
type schedule struct {
	// Pause is each pause step.
	Pause time.Duration
	// Interval and Window are those of each analysis metric.
	Interval, Window time.Duration
	// MinRequests is the minimum number of canary requests in the window for a measurement.
	MinRequests int
	// Rate is the requests per second the traffic driver sends on the route.
	Rate float64
	// ReleaseTimeout bounds one release from the apply to its end (the policy's timeouts are
	// 2 minutes each; a healthy release takes well under one).
	ReleaseTimeout time.Duration
}

// scheduleFor returns the demo's schedule: pauses of 10 s and measurements every 5 s, or about half
// of that with fast. At 100 requests/s, 5 % of the traffic is 5 requests/s. Prometheus scrapes a new
// canary 1-6 s after its pods are ready (its scrape manager applies new targets every 5 s), so the
// first measurements of a fast release may count fewer requests than MinRequests: Inconclusive, which
// the demo's templates tolerate (inconclusiveLimit in policy.yaml).
func scheduleFor(fast bool) schedule {
	if fast {
		return schedule{Pause: 5 * time.Second, Interval: 3 * time.Second, Window: 20 * time.Second,
			MinRequests: 10, Rate: 100, ReleaseTimeout: 4 * time.Minute}
	}
	return schedule{Pause: 10 * time.Second, Interval: 5 * time.Second, Window: 30 * time.Second,
		MinRequests: 20, Rate: 100, ReleaseTimeout: 6 * time.Minute}
}

// renderPolicy fills in policy.yaml's [[ ... ]] values and writes the result into dir. The
// delimiters are not {{ }}: those are slogate's template variables, left for the analyzer.
func renderPolicy(srcDir, dir string, s schedule) (string, error) {
	src := filepath.Join(srcDir, policyFile)
	text, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	t, err := template.New(policyFile).Delims("[[", "]]").Option("missingkey=error").Parse(string(text))
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", src, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, s); err != nil {
		return "", fmt.Errorf("rendering %s: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, policyFile)
	return out, os.WriteFile(out, b.Bytes(), 0o644)
}
