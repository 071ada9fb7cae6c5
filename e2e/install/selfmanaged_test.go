package install_test

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/certs"
	"github.com/slogate/slogate/e2e/cluster"
)

//go:embed selfmanaged_rotation.yaml
var rotationYAML string

var optIn = map[string]string{slogatev1alpha1.NamespaceOptInLabel: slogatev1alpha1.NamespaceOptInValue}

func renderRotation(t *testing.T, seq int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := template.Must(template.New("rotation").Parse(rotationYAML)).Execute(&buf, struct{ Seq int }{seq}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSelfManagedCertificates runs the real webhook binary in self-managed mode as its own
// ServiceAccount, starting from the Secret as the overlay ships it (empty): the apiserver must call
// it successfully within seconds, with the caBundle the process published. Then, with a 15 s
// serving certificate and a 45 s CA, a Deployment is applied with kubectl every 200 ms across two
// renewals and a whole CA roll, and not one apply may fail.
func TestSelfManagedCertificates(t *testing.T) {
	mustInstalled(t)
	ns := env.MustCreateNamespace(t, "", optIn).Name
	mustEmptyServingSecret(t)

	start := time.Now()
	wh := mustStartWebhook(t, rotationArgs...)

	var issued time.Duration
	cluster.MustPoll(t, firstAdmissionTimeout, "the webhook to fill its serving Secret", func(ctx context.Context) (bool, error) {
		s, err := servingSecret(ctx)
		if err != nil {
			return false, err
		}
		if len(s.Data[certs.TLSCertKey]) == 0 {
			return false, nil
		}
		issued = time.Since(start)
		return true, nil
	})
	var admitted time.Duration
	var lastErr error
	cluster.MustPoll(t, firstAdmissionTimeout, "the apiserver to call the webhook successfully", func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		if err := yaml.Unmarshal(renderRotation(t, 0), d); err != nil {
			return false, err
		}
		d.Namespace = ns
		if err := env.Client().Create(ctx, d, client.DryRunAll); err != nil {
			lastErr = err
			return false, nil
		}
		if _, ok := d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]; !ok {
			return false, fmt.Errorf("a create in an opted-in namespace was admitted without %s: the mutating webhook was not called", slogatev1alpha1.RevisionLabel)
		}
		admitted = time.Since(start)
		return true, nil
	})
	t.Logf("from process start: serving Secret filled after %v, first successful admission after %v (last error before: %v)", issued, admitted, lastErr)
	mustBundleIsStoredCA(t)

	env.MustKubectlInput(t, renderRotation(t, 0), "apply", "-n", ns, "-f", "-")
	before := mustWebhookMetrics(t)

	// Watch the Secret while applying.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	hist := &rotationHistory{start: time.Now()}
	go hist.watch(ctx)

	var (
		mu      sync.Mutex
		applies int
		failed  []string
		skipped int
		wg      sync.WaitGroup
	)
	inflight := make(chan struct{}, 4)
	ticker := time.NewTicker(applyPeriod)
	defer ticker.Stop()
	deadline := time.After(rotationRunTimeout)
	var doneAt time.Time
loop:
	for seq := 1; ; seq++ {
		select {
		case <-deadline:
			t.Errorf("no two renewals and a whole CA roll within %v: %s", rotationRunTimeout, hist.summary())
			break loop
		case <-ticker.C:
		}
		if hist.done() {
			if doneAt.IsZero() {
				doneAt = time.Now()
			}
			// Keep applying for a few seconds after the old CA left the bundle.
			if time.Since(doneAt) > 3*time.Second {
				break loop
			}
		}
		select {
		case inflight <- struct{}{}:
		default:
			skipped++
			continue
		}
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			defer func() { <-inflight }()
			_, err := env.KubectlInput(context.WithoutCancel(ctx), renderRotation(t, seq), "apply", "-n", ns, "-f", "-")
			mu.Lock()
			defer mu.Unlock()
			applies++
			if err != nil {
				failed = append(failed, fmt.Sprintf("apply %d at %s: %v", seq, since(hist.start), err))
			}
		}(seq)
	}
	wg.Wait()
	stop()
	after := mustWebhookMetrics(t)

	t.Logf("%d kubectl applies in %s (%d ticks skipped with 4 applies in flight), %d failed; %s",
		applies, since(hist.start), skipped, len(failed), hist.summary())
	for _, f := range failed {
		t.Errorf("failed: %s", f)
	}
	if d := after.callErrors - before.callErrors; d != 0 {
		t.Errorf("the apiserver counted %v failed calls to slogate's webhooks during the run", d)
	}
	if d := after.admissions - before.admissions; d < float64(applies) {
		t.Errorf("the apiserver counted %v admissions by slogate's webhooks for %d applies: not every apply reached them", d, applies)
	} else {
		t.Logf("the apiserver counted %v successful admissions by slogate's webhooks and no failed call", d)
	}
	mustBundleIsStoredCA(t)
	// The server side of every TLS handshake: Go's server logs each failed one.
	if n := strings.Count(wh.proc.Tail(64<<20), "TLS handshake error"); n > 0 {
		t.Errorf("the webhook logged %d failed TLS handshakes", n)
	}
}

// mustBundleIsStoredCA checks that every webhook of both configurations carries the CA bundle the
// Secret holds (current CA, and the previous one during a roll).
func mustBundleIsStoredCA(t *testing.T) {
	t.Helper()
	s, err := servingSecret(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := string(s.Data[certs.CACertKey]) + string(s.Data[certs.PreviousCACertKey])
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Name: mutatingName}, mwc); err != nil {
		t.Fatal(err)
	}
	if err := env.Client().Get(t.Context(), client.ObjectKey{Name: validatingName}, vwc); err != nil {
		t.Fatal(err)
	}
	var bundles []string
	for _, w := range mwc.Webhooks {
		bundles = append(bundles, string(w.ClientConfig.CABundle))
	}
	for _, w := range vwc.Webhooks {
		bundles = append(bundles, string(w.ClientConfig.CABundle))
	}
	for i, b := range bundles {
		if b != want {
			t.Errorf("webhook %d of slogate's configurations does not carry the CA bundle of the Secret", i)
		}
	}
}

// rotationHistory records what the serving Secret went through.
type rotationHistory struct {
	start time.Time

	mu       sync.Mutex
	leaves   []string // distinct tls.crt in order
	cas      []string // distinct ca.crt in order
	events   []string
	previous bool // a previous CA is stored now
	staged   bool // a previous CA was stored at some point
	retired  bool // and later dropped
}

func (h *rotationHistory) watch(ctx context.Context) {
	for {
		if s, err := servingSecret(ctx); err == nil {
			h.observe(string(s.Data[certs.TLSCertKey]), string(s.Data[certs.CACertKey]), len(s.Data[certs.PreviousCACertKey]) > 0)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cluster.PollInterval):
		}
	}
}

func (h *rotationHistory) observe(leaf, ca string, previous bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := since(h.start)
	if leaf != "" && (len(h.leaves) == 0 || h.leaves[len(h.leaves)-1] != leaf) {
		h.leaves = append(h.leaves, leaf)
		if len(h.leaves) > 1 {
			h.events = append(h.events, "new serving certificate at "+at)
		}
	}
	if ca != "" && (len(h.cas) == 0 || h.cas[len(h.cas)-1] != ca) {
		h.cas = append(h.cas, ca)
		if len(h.cas) > 1 {
			h.events = append(h.events, "new CA staged at "+at)
		}
	}
	if previous && !h.previous {
		h.staged = true
	}
	if !previous && h.previous && h.staged {
		h.retired = true
		h.events = append(h.events, "old CA retired at "+at)
	}
	h.previous = previous
}

// done: two renewals of the serving certificate before the roll, and a whole CA roll (staged,
// served, retired).
func (h *rotationHistory) done() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.retired && len(h.cas) >= 2 && len(h.leaves) >= 4
}

func (h *rotationHistory) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("%d serving certificates, %d CAs seen: %s", len(h.leaves), len(h.cas), strings.Join(h.events, ", "))
}

// webhookMetrics are the apiserver's own counters of calls to slogate's webhooks.
type webhookMetrics struct {
	admissions float64 // admission decisions made by slogate's webhooks
	callErrors float64 // calls that failed (TLS, connection, timeout)
}

func mustWebhookMetrics(t *testing.T) webhookMetrics {
	t.Helper()
	out := env.MustKubectl(t, "get", "--raw", "/metrics")
	var m webhookMetrics
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `.slogate.io"`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "apiserver_admission_webhook_admission_duration_seconds_count{"):
			m.admissions += v
		case strings.HasPrefix(line, "apiserver_admission_webhook_rejection_count{") && strings.Contains(line, `error_type="calling_webhook_error"`):
			m.callErrors += v
		}
	}
	return m
}
