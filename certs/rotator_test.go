package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// cluster is a fake apiserver holding the serving Secret and both webhook configurations (two
// webhooks each, as manifests/base/webhook has), and a fake clock.
type cluster struct {
	opts  Options
	clock *clocktesting.FakeClock
	objs  []client.Object
	funcs interceptor.Funcs
	c     client.WithWatch
}

func newCluster(t *testing.T, withSecret bool) *cluster {
	t.Helper()
	o := testOptions(t)
	hook := func(name string) admissionregistrationv1.WebhookClientConfig {
		path := "/" + name
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: o.Namespace, Name: o.ServiceName, Path: &path}}
	}
	objs := []client.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: o.MutatingWebhookConfiguration},
			Webhooks: []admissionregistrationv1.MutatingWebhook{
				{Name: "deployments.slogate.io", ClientConfig: hook("mutate-deployments")},
				{Name: "services.slogate.io", ClientConfig: hook("mutate-services")},
			},
		},
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: o.ValidatingWebhookConfiguration},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{
				{Name: "deployments.slogate.io", ClientConfig: hook("validate-deployments")},
				{Name: "policies.slogate.io", ClientConfig: hook("validate-policies")},
			},
		},
	}
	if withSecret {
		// As manifests/self-managed ships it: empty.
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: o.SecretName}, Type: corev1.SecretTypeOpaque})
	}
	return &cluster{opts: o, clock: clocktesting.NewFakeClock(t0), objs: objs}
}

// client builds the fake client on first use, with the interceptors set so far.
func (cl *cluster) client() client.WithWatch {
	if cl.c == nil {
		cl.c = fake.NewClientBuilder().WithObjects(cl.objs...).WithInterceptorFuncs(cl.funcs).Build()
	}
	return cl.c
}

func (cl *cluster) mustRotator(t *testing.T) *Rotator {
	t.Helper()
	o := cl.opts
	o.CertDir = t.TempDir()
	r, err := newRotator(cl.client(), o, cl.clock)
	if err != nil {
		t.Fatalf("newRotator: %v", err)
	}
	return r
}

func (cl *cluster) mustSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := cl.client().Get(t.Context(), client.ObjectKey{Namespace: cl.opts.Namespace, Name: cl.opts.SecretName}, s); err != nil {
		t.Fatalf("reading the Secret: %v", err)
	}
	return s
}

// mustBundles returns the caBundle of every webhook of both configurations.
func (cl *cluster) mustBundles(t *testing.T) [][]byte {
	t.Helper()
	ctx := t.Context()
	var out [][]byte
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := cl.client().Get(ctx, client.ObjectKey{Name: cl.opts.MutatingWebhookConfiguration}, mwc); err != nil {
		t.Fatalf("reading the mutating configuration: %v", err)
	}
	for _, w := range mwc.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cl.client().Get(ctx, client.ObjectKey{Name: cl.opts.ValidatingWebhookConfiguration}, vwc); err != nil {
		t.Fatalf("reading the validating configuration: %v", err)
	}
	for _, w := range vwc.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out
}

// mustOneBundle asserts that every webhook carries the same bundle and returns it.
func (cl *cluster) mustOneBundle(t *testing.T) []byte {
	t.Helper()
	bundles := cl.mustBundles(t)
	for i, b := range bundles[1:] {
		if !bytes.Equal(b, bundles[0]) {
			t.Fatalf("webhook %d carries a different caBundle than webhook 0", i+1)
		}
	}
	return bundles[0]
}

func mustReconcile(t *testing.T, r *Rotator) time.Duration {
	t.Helper()
	wait, err := r.reconcile(t.Context())
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return wait
}

// handshake connects to r's TLS server as the apiserver would: trusting bundle, verifying the
// Service name, at time now. It returns the served certificate.
func handshake(r *Rotator, bundle []byte, now time.Time) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		return nil, errors.New("bundle holds no certificate")
	}
	serverCfg := &tls.Config{}
	r.TLSOpt(serverCfg)
	serverCfg.Time = func() time.Time { return now }
	clientCfg := &tls.Config{RootCAs: pool, ServerName: ServiceDNSNames(r.opts.ServiceName, r.opts.Namespace)[0], Time: func() time.Time { return now }}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	server := tls.Server(a, serverCfg)
	cl := tls.Client(b, clientCfg)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	err := cl.Handshake()
	if err != nil {
		// Unblock the server side, and report its view of the failure too.
		a.Close()
		return nil, errors.Join(err, <-errc)
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	return cl.ConnectionState().PeerCertificates[0], nil
}

func TestRotatorIssuesFromAnEmptySecret(t *testing.T) {
	cl := newCluster(t, true)
	r := cl.mustRotator(t)
	if err := r.ReadyCheck(nil); err == nil {
		t.Errorf("ready before the first pass")
	}
	if _, err := r.getCertificate(nil); !errors.Is(err, errNotIssued) {
		t.Errorf("getCertificate before the first pass: %v, want errNotIssued", err)
	}

	wait := mustReconcile(t, r)

	s := cl.mustSecret(t)
	for _, key := range []string{CACertKey, CAKeyKey, TLSCertKey, TLSKeyKey} {
		if len(s.Data[key]) == 0 {
			t.Errorf("Secret lacks %s", key)
		}
	}
	if _, ok := s.Data[PreviousCACertKey]; ok {
		t.Errorf("Secret holds a previous CA right after issuing")
	}
	if diff := cmp.Diff("1", s.Annotations[slogatev1alpha1.CABundleSerialAnnotation]); diff != "" {
		t.Errorf("bundle serial (-want +got):\n%s", diff)
	}
	bundle := cl.mustOneBundle(t)
	if diff := cmp.Diff(string(s.Data[CACertKey]), string(bundle)); diff != "" {
		t.Errorf("caBundle is not the stored CA (-want +got):\n%s", diff)
	}
	onDisk, err := os.ReadFile(filepath.Join(r.opts.CertDir, TLSCertKey))
	if err != nil {
		t.Fatalf("reading the served file: %v", err)
	}
	if !bytes.Equal(onDisk, s.Data[TLSCertKey]) {
		t.Errorf("cert dir holds a different certificate than the Secret")
	}
	served, err := handshake(r, bundle, cl.clock.Now())
	if err != nil {
		t.Fatalf("TLS handshake trusting the published bundle: %v", err)
	}
	if diff := cmp.Diff(ServiceDNSNames(cl.opts.ServiceName, cl.opts.Namespace), served.DNSNames); diff != "" {
		t.Errorf("served DNS names (-want +got):\n%s", diff)
	}
	if got := served.NotAfter.Sub(served.NotBefore); got < 30*time.Second || got > 32*time.Second {
		t.Errorf("served certificate lives %v, want about the configured 30 s", got)
	}
	if err := r.ReadyCheck(nil); err != nil {
		t.Errorf("not ready after issuing: %v", err)
	}
	// Bundle just published: look again after the trust delay at the latest.
	if wait > cl.opts.TrustDelay {
		t.Errorf("next pass in %v, want at most the trust delay %v", wait, cl.opts.TrustDelay)
	}
}

func TestRotatorCreatesAMissingSecret(t *testing.T) {
	cl := newCluster(t, false)
	r := cl.mustRotator(t)
	mustReconcile(t, r)
	if s := cl.mustSecret(t); len(s.Data[TLSCertKey]) == 0 {
		t.Errorf("created Secret holds no certificate")
	}
}

func TestRotatorSaysWhichManifestMakesTheSecret(t *testing.T) {
	cl := newCluster(t, false)
	cl.funcs.Create = func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, obj.GetName(), errors.New("RBAC: denied"))
	}
	r := cl.mustRotator(t)
	_, err := r.reconcile(t.Context())
	if err == nil || !strings.Contains(err.Error(), "manifests/self-managed creates it") || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Errorf("reconcile without the Secret and without create: %v, want a wrapped Forbidden naming manifests/self-managed", err)
	}
}

func TestRotatorRenewsTheServingCertificate(t *testing.T) {
	cl := newCluster(t, true)
	r := cl.mustRotator(t)
	mustReconcile(t, r)
	before := cl.mustSecret(t)

	cl.clock.SetTime(t0.Add(10 * time.Second))
	mustReconcile(t, r)
	if got := cl.mustSecret(t); got.ResourceVersion != before.ResourceVersion {
		t.Errorf("Secret rewritten at 1/3 of the serving certificate's life")
	}

	cl.clock.SetTime(t0.Add(20 * time.Second))
	wait := mustReconcile(t, r)
	after := cl.mustSecret(t)
	if bytes.Equal(after.Data[TLSCertKey], before.Data[TLSCertKey]) {
		t.Fatalf("serving certificate not renewed at 2/3 of its life")
	}
	if !bytes.Equal(after.Data[CACertKey], before.Data[CACertKey]) {
		t.Errorf("CA changed on a serving-certificate renewal")
	}
	if diff := cmp.Diff(before.Annotations[slogatev1alpha1.CABundleSerialAnnotation], after.Annotations[slogatev1alpha1.CABundleSerialAnnotation]); diff != "" {
		t.Errorf("bundle serial changed on a serving-certificate renewal (-want +got):\n%s", diff)
	}
	served, err := handshake(r, cl.mustOneBundle(t), cl.clock.Now())
	if err != nil {
		t.Fatalf("handshake after renewal: %v", err)
	}
	if !bytes.Equal(pemOf(served), after.Data[TLSCertKey]) {
		t.Errorf("the renewed certificate is not the served one")
	}
	if wait > cl.opts.SyncInterval {
		t.Errorf("next pass in %v, want at most the sync interval", wait)
	}
}

// TestRotatorRollsTheCA walks a CA roll step by step.
func TestRotatorRollsTheCA(t *testing.T) {
	cl := newCluster(t, true)
	r := cl.mustRotator(t)
	mustReconcile(t, r)
	oldCA := cl.mustSecret(t).Data[CACertKey]

	// Keep the serving certificate fresh up to the CA's renewal at 60 s.
	for _, at := range []time.Duration{20 * time.Second, 40 * time.Second} {
		cl.clock.SetTime(t0.Add(at))
		mustReconcile(t, r)
	}
	servedBefore := cl.mustSecret(t).Data[TLSCertKey]

	// 60 s: stage. New CA current, old CA previous, bundle holds both, old certificate served.
	cl.clock.SetTime(t0.Add(60 * time.Second))
	wait := mustReconcile(t, r)
	s := cl.mustSecret(t)
	if bytes.Equal(s.Data[CACertKey], oldCA) {
		t.Fatalf("no new CA at 2/3 of the CA's life")
	}
	if diff := cmp.Diff(string(oldCA), string(s.Data[PreviousCACertKey])); diff != "" {
		t.Errorf("previous CA (-want +got):\n%s", diff)
	}
	if !bytes.Equal(s.Data[TLSCertKey], servedBefore) {
		t.Errorf("serving certificate changed before the new CA is trusted")
	}
	if diff := cmp.Diff(string(s.Data[CACertKey])+string(oldCA), string(cl.mustOneBundle(t))); diff != "" {
		t.Errorf("bundle during the roll (-want +got):\n%s", diff)
	}
	if wait > cl.opts.TrustDelay {
		t.Errorf("next pass %v after publishing, want at most the trust delay %v", wait, cl.opts.TrustDelay)
	}

	// 61 s: still within the trust delay.
	cl.clock.SetTime(t0.Add(61 * time.Second))
	mustReconcile(t, r)
	if !bytes.Equal(cl.mustSecret(t).Data[TLSCertKey], servedBefore) {
		t.Errorf("serving certificate of the new CA served within the trust delay")
	}

	// 62 s: trusted; swap.
	cl.clock.SetTime(t0.Add(62 * time.Second))
	wait = mustReconcile(t, r)
	s = cl.mustSecret(t)
	newCA, err := parseCertificate(s.Data[CACertKey])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := parseCertificate(s.Data[TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}
	if !signedBy(leaf, newCA) {
		t.Fatalf("serving certificate not of the new CA once the bundle is trusted")
	}
	if len(s.Data[PreviousCACertKey]) == 0 {
		t.Errorf("previous CA dropped together with the swap")
	}
	if _, err := handshake(r, oldCA, cl.clock.Now()); err == nil {
		t.Errorf("the swapped certificate verifies against the old CA alone")
	}
	if _, err := handshake(r, cl.mustOneBundle(t), cl.clock.Now()); err != nil {
		t.Errorf("handshake with the two-CA bundle after the swap: %v", err)
	}
	if wait > cl.opts.SyncInterval {
		t.Errorf("next pass %v after the swap, want at most the sync interval %v", wait, cl.opts.SyncInterval)
	}

	// 66 s: retire delay over; old CA leaves the bundle.
	cl.clock.SetTime(t0.Add(66 * time.Second))
	mustReconcile(t, r)
	s = cl.mustSecret(t)
	if _, ok := s.Data[PreviousCACertKey]; ok {
		t.Errorf("previous CA still stored after the retire delay")
	}
	if diff := cmp.Diff(string(s.Data[CACertKey]), string(cl.mustOneBundle(t))); diff != "" {
		t.Errorf("bundle after the roll (-want +got):\n%s", diff)
	}
	if _, err := handshake(r, cl.mustOneBundle(t), cl.clock.Now()); err != nil {
		t.Errorf("handshake after the roll: %v", err)
	}
	if diff := cmp.Diff("3", s.Annotations[slogatev1alpha1.CABundleSerialAnnotation]); diff != "" {
		t.Errorf("bundle serial after issue, stage and retire (-want +got):\n%s", diff)
	}
}

func parseCertificate(p []byte) (*x509.Certificate, error) {
	kp := parseKeyPair(p, nil)
	if kp == nil {
		return nil, errors.New("no certificate")
	}
	return kp.cert, nil
}

// TestRotatorConcurrentReplicasIssueOnce races two replicas on an empty Secret: the second one's
// write is planned from the same resourceVersion, fails with a conflict, and it adopts.
func TestRotatorConcurrentReplicasIssueOnce(t *testing.T) {
	cl := newCluster(t, true)
	var (
		mu       sync.Mutex
		writes   []string // which replica stored material
		b        *Rotator
		raceOnce sync.Once
	)
	cl.funcs.Update = func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
		replica := ctx.Value(replicaKey{}).(string)
		if replica == "a" {
			// Replica b runs a whole pass between a's read and a's write.
			raceOnce.Do(func() {
				if _, err := b.reconcile(context.WithValue(ctx, replicaKey{}, "b")); err != nil {
					t.Errorf("replica b: %v", err)
				}
			})
		}
		err := c.Update(ctx, obj, opts...)
		if err == nil {
			mu.Lock()
			writes = append(writes, replica)
			mu.Unlock()
		}
		return err
	}
	a := cl.mustRotator(t)
	b = cl.mustRotator(t)
	if _, err := a.reconcile(ctrl.LoggerInto(context.WithValue(t.Context(), replicaKey{}, "a"), testr.New(t))); err != nil {
		t.Fatalf("replica a: %v", err)
	}
	if diff := cmp.Diff([]string{"b"}, writes); diff != "" {
		t.Errorf("Secret writes by replica (-want +got):\n%s", diff)
	}
	s := cl.mustSecret(t)
	bundle := cl.mustOneBundle(t)
	for name, r := range map[string]*Rotator{"a": a, "b": b} {
		served, err := handshake(r, bundle, cl.clock.Now())
		if err != nil {
			t.Fatalf("replica %s handshake: %v", name, err)
		}
		if !bytes.Equal(pemOf(served), s.Data[TLSCertKey]) {
			t.Errorf("replica %s serves a certificate that is not the stored one", name)
		}
	}
}

type replicaKey struct{}

// TestRotatorStaleReplicaKeepsTheNewerBundle: a replica whose view of the Secret is older than
// the bundle in the webhook configurations must not put its older bundle back. Replica a reads the
// Secret and the configurations (its mutating configuration lacks the bundle, as after a re-apply
// that dropped it) and plans nothing; then replica b, whose clock is at the CA's renewal, stages a
// new CA and publishes it; then a goes on to publish from its older view.
func TestRotatorStaleReplicaKeepsTheNewerBundle(t *testing.T) {
	cl := newCluster(t, true)
	var (
		a, b            *Rotator
		armed           bool
		validatingReads int
		patches         []string
	)
	cl.funcs.Get = func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if err := c.Get(ctx, key, obj, opts...); err != nil {
			return err
		}
		// After a has read both configurations for planning, before it reads them to publish.
		if _, ok := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok && armed && ctx.Value(replicaKey{}) == "a" {
			validatingReads++
			if validatingReads == 1 {
				if _, err := b.reconcile(context.WithValue(ctx, replicaKey{}, "b")); err != nil {
					t.Errorf("replica b: %v", err)
				}
			}
		}
		return nil
	}
	cl.funcs.Patch = func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		if armed {
			patches = append(patches, fmt.Sprintf("%v %s", ctx.Value(replicaKey{}), obj.GetName()))
		}
		return c.Patch(ctx, obj, patch, opts...)
	}
	a = cl.mustRotator(t)
	b = cl.mustRotator(t)
	bClock := clocktesting.NewFakeClock(t0.Add(60 * time.Second))
	b.clock = bClock
	mustReconcile(t, a)
	mustClearBundles(t, cl)
	cl.clock.SetTime(t0.Add(time.Second))

	armed = true
	if _, err := a.reconcile(ctrl.LoggerInto(context.WithValue(t.Context(), replicaKey{}, "a"), testr.New(t))); err != nil {
		t.Fatalf("replica a: %v", err)
	}

	want := []string{"b " + cl.opts.MutatingWebhookConfiguration, "b " + cl.opts.ValidatingWebhookConfiguration}
	if diff := cmp.Diff(want, patches); diff != "" {
		t.Errorf("webhook configuration patches by replica (-want +got):\n%s", diff)
	}
	s := cl.mustSecret(t)
	if diff := cmp.Diff(string(s.Data[CACertKey])+string(s.Data[PreviousCACertKey]), string(cl.mustOneBundle(t))); diff != "" {
		t.Errorf("bundle after the race (-want +got):\n%s", diff)
	}
	if len(s.Data[PreviousCACertKey]) == 0 {
		t.Errorf("b did not stage a new CA; the race was not run")
	}
}

func mustClearBundles(t *testing.T, cl *cluster) {
	t.Helper()
	ctx := t.Context()
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := cl.client().Get(ctx, client.ObjectKey{Name: cl.opts.MutatingWebhookConfiguration}, mwc); err != nil {
		t.Fatalf("reading the mutating configuration: %v", err)
	}
	for i := range mwc.Webhooks {
		mwc.Webhooks[i].ClientConfig.CABundle = nil
	}
	if err := cl.client().Update(ctx, mwc); err != nil {
		t.Fatalf("clearing the bundle: %v", err)
	}
}

// TestRotatorNeverServesAnUntrustedCertificate runs two replicas through 200 s of fake time, one on
// the schedule its own passes ask for, one looking only every SyncInterval (out of phase): serving certificates renewed about every 20 s and
// the CA rolled twice. The apiserver is modelled as seeing the webhook configurations up to
// propagationDelay late, so at every tick the certificate each replica serves must verify against
// every bundle the configurations held within the last propagationDelay.
func TestRotatorNeverServesAnUntrustedCertificate(t *testing.T) {
	const (
		tick             = 100 * time.Millisecond
		propagationDelay = time.Second // below the trust delay of 2 s
	)
	cl := newCluster(t, true)
	replicas := []*Rotator{cl.mustRotator(t), cl.mustRotator(t)}
	due := []time.Time{t0, t0.Add(350 * time.Millisecond)}

	type published struct {
		at     time.Time
		bundle []byte
	}
	var history []published
	var (
		cas, leaves    = map[string]bool{}, map[string]bool{}
		checks, failed int
	)
	for now := t0; now.Before(t0.Add(200 * time.Second)); now = now.Add(tick) {
		cl.clock.SetTime(now)
		for i, r := range replicas {
			if now.Before(due[i]) {
				continue
			}
			wait := mustReconcile(t, r)
			if i == 1 {
				// The worst replica the design allows: it only looks every SyncInterval.
				wait = cl.opts.SyncInterval
			}
			due[i] = now.Add(wait)
		}
		bundle := cl.mustOneBundle(t)
		if len(history) == 0 || !bytes.Equal(history[len(history)-1].bundle, bundle) {
			history = append(history, published{at: now, bundle: bundle})
		}
		s := cl.mustSecret(t)
		cas[string(s.Data[CACertKey])] = true
		leaves[string(s.Data[TLSCertKey])] = true

		// Bundles the apiserver may be using now: the current one and those replaced within the
		// propagation delay. Before the first bundle is published nothing can succeed; skip.
		var seen [][]byte
		for j := len(history) - 1; j >= 0; j-- {
			seen = append(seen, history[j].bundle)
			if !history[j].at.After(now.Add(-propagationDelay)) {
				break
			}
		}
		if history[0].at.After(now.Add(-propagationDelay)) {
			continue
		}
		for i, r := range replicas {
			cert, err := r.getCertificate(nil)
			if err != nil {
				t.Fatalf("replica %d serves nothing at %v: %v", i, now.Sub(t0), err)
			}
			for _, b := range seen {
				checks++
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(b)
				_, err := cert.Leaf.Verify(x509.VerifyOptions{
					Roots:       pool,
					DNSName:     ServiceDNSNames(cl.opts.ServiceName, cl.opts.Namespace)[0],
					CurrentTime: now,
				})
				if err != nil {
					failed++
					t.Errorf("at %v replica %d serves a certificate the apiserver may not trust: %v", now.Sub(t0), i, err)
				}
			}
		}
		if failed > 5 {
			t.FailNow()
		}
	}
	t.Logf("%d verifications, %d CAs, %d serving certificates, %d bundles published", checks, len(cas), len(leaves), len(history))
	if len(cas) < 3 {
		t.Errorf("%d CAs seen in 200 s, want at least 3 (two rolls)", len(cas))
	}
	if len(leaves) < 8 {
		t.Errorf("%d serving certificates seen in 200 s, want at least 8", len(leaves))
	}
}

func TestRotatorStartBecomesReadyAndStops(t *testing.T) {
	cl := newCluster(t, true)
	o := cl.opts
	o.CertDir = t.TempDir()
	o.SyncInterval = 100 * time.Millisecond
	o.TrustDelay = 200 * time.Millisecond
	o.RetireDelay = 200 * time.Millisecond
	r, err := newRotator(cl.client(), o, clock.RealClock{})
	if err != nil {
		t.Fatalf("newRotator: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for r.ReadyCheck(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10 s")
		}
		time.Sleep(10 * time.Millisecond) // polling ReadyCheck
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v after the context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Start did not return within 10 s of the context ending")
	}
}

// TestRotatorBehindTheIssuersClockWaits: a replica whose clock runs behind the one that issued
// the stored CA neither replaces it nor fails; it serves once the stored state is valid for it.
func TestRotatorBehindTheIssuersClockWaits(t *testing.T) {
	cl := newCluster(t, true)
	ahead := cl.mustRotator(t)
	ahead.clock = clocktesting.NewFakeClock(t0.Add(30 * time.Second))
	mustReconcile(t, ahead)
	stored := cl.mustSecret(t)

	behind := cl.mustRotator(t)
	wait := mustReconcile(t, behind)
	if got := cl.mustSecret(t); got.ResourceVersion != stored.ResourceVersion {
		t.Errorf("a replica 30 s behind rewrote the Secret")
	}
	if err := behind.ReadyCheck(nil); err != nil {
		t.Errorf("a replica behind the issuer serves the stored certificate (the apiserver checks validity by its own clock), but is not ready: %v", err)
	}
	if wait > cl.opts.SyncInterval {
		t.Errorf("next pass in %v, want at most the sync interval", wait)
	}
}
