package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Rotator keeps the webhook's serving certificate issued, trusted and fresh. Run one in every
// webhook replica: add it to the manager, put TLSOpt into the webhook server's TLSOpts and
// ReadyCheck among the readiness checks.
type Rotator struct {
	opts  Options
	c     client.Client
	clock clock.Clock

	mu      sync.Mutex
	watcher *certwatcher.CertWatcher
	served  []byte // tls.crt last written to CertDir
	ready   bool
}

var _ manager.Runnable = (*Rotator)(nil)
var _ manager.LeaderElectionRunnable = (*Rotator)(nil)

// New returns a Rotator that talks to the apiserver of cfg with a client of its own: it reads one
// Secret and two webhook configurations by name, never through an informer (which would need
// list and watch on every Secret).
func New(cfg *rest.Config, o Options) (*Rotator, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("building the certificate client: %w", err)
	}
	return newRotator(c, o, clock.RealClock{})
}

func newRotator(c client.Client, o Options, clk clock.Clock) (*Rotator, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("self-managed certificate options: %w", err)
	}
	return &Rotator{opts: o, c: c, clock: clk}, nil
}

// NeedLeaderElection is false: every replica serves, so every replica keeps its certificate.
func (r *Rotator) NeedLeaderElection() bool { return false }

// TLSOpt makes a TLS server serve the certificate the Rotator loaded. Put it into
// webhook.Options.TLSOpts: the webhook server then does not open CertDir itself, which matters
// because the files do not exist before the Rotator's first pass.
func (r *Rotator) TLSOpt(cfg *tls.Config) {
	cfg.GetCertificate = r.getCertificate
}

func (r *Rotator) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	w := r.watcher
	r.mu.Unlock()
	if w == nil {
		return nil, errNotIssued
	}
	cert, err := w.GetCertificate(hello)
	if err == nil && cert == nil {
		return nil, errNotIssued
	}
	return cert, err
}

// ReadyCheck is a healthz.Checker: ready once a certificate is served and its CA bundle is in
// both webhook configurations.
func (r *Rotator) ReadyCheck(_ *http.Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return errNotIssued
	}
	return nil
}

// Start runs until ctx ends: a pass whenever something falls due, at least every SyncInterval,
// and with a growing delay (up to SyncInterval) after a failed pass.
func (r *Rotator) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("certs")
	ctx = ctrl.LoggerInto(ctx, log)
	log.Info("starting serving-certificate rotator", "secret", klog.KRef(r.opts.Namespace, r.opts.SecretName))
	backoff := 100 * time.Millisecond
	for {
		wait, err := r.reconcile(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error(err, "serving-certificate pass failed", "retryIn", backoff)
			wait = backoff
			backoff = min(2*backoff, r.opts.SyncInterval)
		} else {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.clock.After(wait):
		}
	}
}

// errRetry asks for another pass at once: an optimistic-concurrency conflict, or a newer state
// written by the other replica.
var errRetry = errors.New("retry")

// reconcile makes one pass and returns when the next one is due. Conflicts are retried within the
// pass.
func (r *Rotator) reconcile(ctx context.Context) (time.Duration, error) {
	for range 10 {
		wait, err := r.pass(ctx)
		if errors.Is(err, errRetry) {
			continue
		}
		return wait, err
	}
	return 0, fmt.Errorf("serving certificate still contended after 10 attempts")
}

func (r *Rotator) pass(ctx context.Context) (time.Duration, error) {
	log := ctrl.LoggerFrom(ctx)
	secret, err := r.getSecret(ctx)
	if err != nil {
		return 0, err
	}
	m := parseMaterial(secret)
	b, err := r.bundleStatus(ctx, m)
	if err != nil {
		return 0, err
	}
	now := r.clock.Now()
	d := plan(m, b, now, r.opts.ServingCertificate(), r.opts.TrustDelay, r.opts.RetireDelay)
	if d.step != stepNone {
		next, err := apply(d, m, b, now, &r.opts)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", d.step, err)
		}
		updated := secret.DeepCopy()
		next.applyTo(updated)
		// The resourceVersion read above travels with the update: if the other replica wrote in
		// between, this fails with a conflict and the next attempt adopts what it wrote.
		if err := r.c.Update(ctx, updated); err != nil {
			if apierrors.IsConflict(err) {
				log.V(1).Info("serving Secret changed concurrently, adopting", "step", d.step)
				return 0, errRetry
			}
			return 0, fmt.Errorf("storing %s in Secret %s/%s: %w", d.step, r.opts.Namespace, r.opts.SecretName, err)
		}
		log.Info("serving Secret changed", "step", d.step, "reason", d.reason, "bundleSerial", next.serial)
		return 0, errRetry
	}
	if err := r.publishBundle(ctx, m, now); err != nil {
		return 0, err
	}
	// Nothing to serve only while this replica waits out a clock behind the issuer's (plan).
	if m.leaf != nil && m.leaf.key != nil {
		if err := r.serve(m.leaf); err != nil {
			return 0, err
		}
		r.mu.Lock()
		r.ready = true
		r.mu.Unlock()
	}

	wait := r.opts.SyncInterval
	if !d.next.IsZero() {
		wait = min(wait, max(d.next.Sub(now), 10*time.Millisecond))
	}
	if !b.current {
		// Just published: the trust clock starts now; look again when it may have run out.
		wait = min(wait, r.opts.TrustDelay)
	}
	return wait, nil
}

// getSecret reads the serving Secret, creating it empty if it is missing and the webhook may.
func (r *Rotator) getSecret(ctx context.Context) (*corev1.Secret, error) {
	key := types.NamespacedName{Namespace: r.opts.Namespace, Name: r.opts.SecretName}
	secret := &corev1.Secret{}
	err := r.c.Get(ctx, key, secret)
	if err == nil {
		return secret, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Type: corev1.SecretTypeOpaque}
	switch err := r.c.Create(ctx, secret); {
	case err == nil:
		return secret, nil
	case apierrors.IsAlreadyExists(err):
		return nil, errRetry
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("the serving Secret %s is missing and the webhook may not create it (manifests/self-managed creates it empty): %w", key, err)
	default:
		return nil, fmt.Errorf("creating Secret %s: %w", key, err)
	}
}

// webhookConfigurations returns both configurations, empty, for a Get.
func (r *Rotator) webhookConfigurations() []client.Object {
	return []client.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: r.opts.MutatingWebhookConfiguration}},
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: r.opts.ValidatingWebhookConfiguration}},
	}
}

func (r *Rotator) getWebhookConfigurations(ctx context.Context) ([]client.Object, error) {
	objs := r.webhookConfigurations()
	for _, obj := range objs {
		if err := r.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil, fmt.Errorf("reading %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return objs, nil
}

// bundleStatus reads what both webhook configurations carry.
func (r *Rotator) bundleStatus(ctx context.Context, m material) (bundleStatus, error) {
	objs, err := r.getWebhookConfigurations(ctx)
	if err != nil {
		return bundleStatus{}, err
	}
	want := m.bundle()
	b := bundleStatus{current: len(want) > 0}
	for _, obj := range objs {
		serial, publishedAt := bundleAnnotations(obj)
		b.maxSerial = max(b.maxSerial, serial)
		if serial != m.serial || !bundlesEqual(obj, want) {
			b.current = false
		}
		if publishedAt.After(b.publishedAt) {
			b.publishedAt = publishedAt
		}
	}
	return b, nil
}

// publishBundle writes m's CA bundle into every webhook of both configurations, unless they
// carry it already, or a newer one (then the Secret read in this pass is outdated: retry).
func (r *Rotator) publishBundle(ctx context.Context, m material, now time.Time) error {
	want := m.bundle()
	objs, err := r.getWebhookConfigurations(ctx)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		serial, _ := bundleAnnotations(obj)
		if serial > m.serial {
			return errRetry
		}
		if serial == m.serial && bundlesEqual(obj, want) {
			continue
		}
		if err := r.c.Patch(ctx, obj, bundlePatch(obj, want, m.serial, now)); err != nil {
			if apierrors.IsConflict(err) {
				return errRetry
			}
			return fmt.Errorf("patching the CA bundle into %T %s: %w", obj, obj.GetName(), err)
		}
		ctrl.LoggerFrom(ctx).Info("CA bundle published", "webhookConfiguration", obj.GetName(), "bundleSerial", m.serial)
	}
	return nil
}

// serve writes the certificate into CertDir and makes the certwatcher load it.
func (r *Rotator) serve(leaf *keyPair) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watcher != nil && bytes.Equal(r.served, leaf.certPEM) {
		return nil
	}
	// The key goes first: a reader that sees the new certificate finds its key.
	if err := writeFileAtomic(r.opts.CertDir, TLSKeyKey, leaf.keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(r.opts.CertDir, TLSCertKey, leaf.certPEM, 0o644); err != nil {
		return err
	}
	if r.watcher == nil {
		w, err := certwatcher.New(filepath.Join(r.opts.CertDir, TLSCertKey), filepath.Join(r.opts.CertDir, TLSKeyKey))
		if err != nil {
			return fmt.Errorf("loading the serving certificate: %w", err)
		}
		r.watcher = w
	} else if err := r.watcher.ReadCertificate(); err != nil {
		return fmt.Errorf("reloading the serving certificate: %w", err)
	}
	r.served = leaf.certPEM
	return nil
}

// writeFileAtomic replaces dir/name by a rename, so no reader sees half a file.
func writeFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating cert dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
