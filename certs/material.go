package certs

import (
	"bytes"
	"crypto/x509"
	"strconv"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Keys of the serving Secret.
const (
	// CACertKey is the CA that signs new serving certificates.
	CACertKey = "ca.crt"
	// CAKeyKey is its private key.
	CAKeyKey = "ca.key"
	// PreviousCACertKey is the CA being retired during a CA roll; it stays in the bundle until
	// every replica serves a certificate of the new CA.
	PreviousCACertKey = "ca-previous.crt"
	// TLSCertKey and TLSKeyKey are the served certificate and its key (the names of
	// kubernetes.io/tls Secrets and of the webhook server's files).
	TLSCertKey = corev1.TLSCertKey
	TLSKeyKey  = corev1.TLSPrivateKeyKey
)

// material is what the serving Secret holds, parsed. A part that is missing or does not parse is
// nil; plan decides what to do about it.
type material struct {
	ca         *keyPair // key may be nil
	previousCA *x509.Certificate
	leaf       *keyPair // key may be nil
	// serial counts changes of the CA bundle (CABundleSerialAnnotation).
	serial int64
	// leafIssuedAt is when the serving certificate was stored (ServingCertIssuedAtAnnotation).
	leafIssuedAt time.Time
}

// parseMaterial reads a Secret. It never fails: unusable parts are left out.
func parseMaterial(s *corev1.Secret) material {
	var m material
	if s == nil {
		return m
	}
	m.ca = parseKeyPair(s.Data[CACertKey], s.Data[CAKeyKey])
	if certs, err := pki.DecodeX509CertificateSetBytes(s.Data[PreviousCACertKey]); err == nil && len(certs) > 0 {
		m.previousCA = certs[0]
	}
	m.leaf = parseKeyPair(s.Data[TLSCertKey], s.Data[TLSKeyKey])
	if v, err := strconv.ParseInt(s.Annotations[slogatev1alpha1.CABundleSerialAnnotation], 10, 64); err == nil {
		m.serial = v
	}
	if t, err := time.Parse(time.RFC3339Nano, s.Annotations[slogatev1alpha1.ServingCertIssuedAtAnnotation]); err == nil {
		m.leafIssuedAt = t
	}
	return m
}

func parseKeyPair(certPEM, keyPEM []byte) *keyPair {
	cert, err := pki.DecodeX509CertificateBytes(certPEM)
	if err != nil {
		return nil
	}
	kp := &keyPair{cert: cert, certPEM: certPEM}
	if key, err := pki.DecodePrivateKeyBytes(keyPEM); err == nil && matchesKey(cert, key) {
		kp.key, kp.keyPEM = key, keyPEM
	}
	return kp
}

// bundle is the PEM of every CA the apiserver must trust: the current one, then the previous.
func (m *material) bundle() []byte {
	var b bytes.Buffer
	if m.ca != nil {
		b.Write(pemOf(m.ca.cert))
	}
	if m.previousCA != nil {
		b.Write(pemOf(m.previousCA))
	}
	return b.Bytes()
}

func pemOf(cert *x509.Certificate) []byte {
	// EncodeX509 writes to a bytes.Buffer, which cannot fail.
	p, _ := pki.EncodeX509(cert)
	return p
}

// applyTo writes m into s (data and annotations), leaving other keys and annotations alone.
func (m *material) applyTo(s *corev1.Secret) {
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	set := func(key string, v []byte) {
		if len(v) == 0 {
			delete(s.Data, key)
			return
		}
		s.Data[key] = v
	}
	var caCert, caKey, prev, leafCert, leafKey []byte
	if m.ca != nil {
		caCert, caKey = m.ca.certPEM, m.ca.keyPEM
	}
	if m.previousCA != nil {
		prev = pemOf(m.previousCA)
	}
	if m.leaf != nil {
		leafCert, leafKey = m.leaf.certPEM, m.leaf.keyPEM
	}
	set(CACertKey, caCert)
	set(CAKeyKey, caKey)
	set(PreviousCACertKey, prev)
	set(TLSCertKey, leafCert)
	set(TLSKeyKey, leafKey)
	s.Annotations[slogatev1alpha1.CABundleSerialAnnotation] = strconv.FormatInt(m.serial, 10)
	if m.leafIssuedAt.IsZero() {
		delete(s.Annotations, slogatev1alpha1.ServingCertIssuedAtAnnotation)
	} else {
		s.Annotations[slogatev1alpha1.ServingCertIssuedAtAnnotation] = m.leafIssuedAt.UTC().Format(time.RFC3339Nano)
	}
}
