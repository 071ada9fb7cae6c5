package certs

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of the cert-manager objects of manifests/cert-manager; the self-managed descriptions use
// the same, so that both modes read alike.
const (
	caCertificateName      = "slogate-webhook-ca"
	servingCertificateName = "slogate-webhook"
	caIssuerName           = "slogate-webhook-ca"
)

// CACertificate describes the self-managed CA as a cert-manager Certificate.
func (o *Options) CACertificate() *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: caCertificateName, Namespace: o.Namespace},
		Spec: cmapi.CertificateSpec{
			IsCA:       true,
			CommonName: caCertificateName,
			Duration:   &metav1.Duration{Duration: o.CAValidity},
			SecretName: o.SecretName,
			PrivateKey: &cmapi.CertificatePrivateKey{
				Algorithm:      cmapi.ECDSAKeyAlgorithm,
				Size:           pki.ECCurve256,
				Encoding:       cmapi.PKCS8,
				RotationPolicy: cmapi.RotationPolicyAlways,
			},
			Usages:    []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageDigitalSignature},
			IssuerRef: cmmeta.IssuerReference{Name: "slogate-selfsigned", Kind: cmapi.IssuerKind},
		},
	}
}

// ServingCertificate describes the webhook's serving certificate as a cert-manager Certificate:
// the Service's names in every form a client may use, plus ExtraSANs.
func (o *Options) ServingCertificate() *cmapi.Certificate {
	dnsNames := ServiceDNSNames(o.ServiceName, o.Namespace)
	var ips []string
	for _, san := range o.ExtraSANs {
		if net.ParseIP(san) != nil {
			ips = append(ips, san)
		} else if !slices.Contains(dnsNames, san) {
			dnsNames = append(dnsNames, san)
		}
	}
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: servingCertificateName, Namespace: o.Namespace},
		Spec: cmapi.CertificateSpec{
			DNSNames:    dnsNames,
			IPAddresses: ips,
			Duration:    &metav1.Duration{Duration: o.LeafValidity},
			SecretName:  o.SecretName,
			PrivateKey: &cmapi.CertificatePrivateKey{
				Algorithm:      cmapi.ECDSAKeyAlgorithm,
				Size:           pki.ECCurve256,
				Encoding:       cmapi.PKCS8,
				RotationPolicy: cmapi.RotationPolicyAlways,
			},
			Usages:    []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageDigitalSignature},
			IssuerRef: cmmeta.IssuerReference{Name: caIssuerName, Kind: cmapi.IssuerKind},
		},
	}
}

// ServiceDNSNames are the names under which the apiserver and other clients reach a Service.
func ServiceDNSNames(service, namespace string) []string {
	return []string{
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
		service + "." + namespace,
		service,
	}
}

// keyPair is a certificate with its private key, parsed and as PEM.
type keyPair struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	keyPEM  []byte
}

// issue issues crt at now, self-signed when issuer is nil. The certificate never outlives its
// issuer.
func issue(crt *cmapi.Certificate, now time.Time, issuer *keyPair) (*keyPair, error) {
	key, err := pki.GeneratePrivateKeyForCertificate(crt)
	if err != nil {
		return nil, fmt.Errorf("generating the private key of %s: %w", crt.Name, err)
	}
	tmpl, err := pki.CertificateTemplateFromCertificate(crt)
	if err != nil {
		return nil, fmt.Errorf("building the certificate template of %s: %w", crt.Name, err)
	}
	validity := crt.Spec.Duration.Duration
	tmpl.NotBefore = now.Add(-backdate(validity))
	tmpl.NotAfter = now.Add(validity)
	parent, signer := tmpl, crypto.Signer(key)
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
		if tmpl.NotAfter.After(issuer.cert.NotAfter) {
			tmpl.NotAfter = issuer.cert.NotAfter
		}
	}
	certPEM, cert, err := pki.SignCertificate(tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", crt.Name, err)
	}
	keyPEM, err := pki.EncodePrivateKey(key, crt.Spec.PrivateKey.Encoding)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key of %s: %w", crt.Name, err)
	}
	return &keyPair{cert: cert, certPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// backdate is how far NotBefore lies before the moment of issue: 1 % of the validity, at most a
// minute, so that an apiserver whose clock runs a little behind already accepts the certificate.
func backdate(validity time.Duration) time.Duration {
	return min(validity/100, time.Minute)
}

// renewalTime is when a certificate is due for renewal: 2/3 through its life, as cert-manager
// renews by default.
func renewalTime(cert *x509.Certificate) time.Time {
	rt, err := pki.RenewalTime(cert.NotBefore, cert.NotAfter, nil, nil, nil)
	if err != nil || rt == nil {
		// Without a renewal spec RenewalTime cannot fail; renew now if it ever does.
		return cert.NotBefore
	}
	return rt.Time
}

// validAt reports whether cert is within its validity at t.
func validAt(cert *x509.Certificate, t time.Time) bool {
	return cert != nil && !t.Before(cert.NotBefore) && t.Before(cert.NotAfter)
}

// signedBy reports whether cert carries a valid signature of ca.
func signedBy(cert, ca *x509.Certificate) bool {
	return cert != nil && ca != nil && cert.CheckSignatureFrom(ca) == nil
}

// matchesKey reports whether key is the private key of cert.
func matchesKey(cert *x509.Certificate, key crypto.Signer) bool {
	if cert == nil || key == nil {
		return false
	}
	ok, err := pki.PublicKeyMatchesCertificate(key.Public(), cert)
	return err == nil && ok
}

// namesMatch reports whether cert carries exactly the SANs crt asks for.
func namesMatch(cert *x509.Certificate, crt *cmapi.Certificate) bool {
	want := slices.Clone(crt.Spec.DNSNames)
	got := slices.Clone(cert.DNSNames)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return false
	}
	var gotIPs []string
	for _, ip := range cert.IPAddresses {
		gotIPs = append(gotIPs, ip.String())
	}
	var wantIPs []string
	for _, ip := range crt.Spec.IPAddresses {
		wantIPs = append(wantIPs, net.ParseIP(ip).String())
	}
	slices.Sort(gotIPs)
	slices.Sort(wantIPs)
	return slices.Equal(wantIPs, gotIPs)
}
