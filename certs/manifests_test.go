package certs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The install manifests name the same things as this package's defaults: the cert-manager overlay
// issues what self-managed mode issues, and the self-managed overlay's RBAC names the Secret and
// the webhook configurations the Rotator writes.

func mustReadDocs(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "manifests", path))
	if err != nil {
		t.Fatalf("reading manifest: %v", err)
	}
	var docs [][]byte
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs
}

func TestCertManagerOverlayIssuesWhatSelfManagedIssues(t *testing.T) {
	o := DefaultOptions()
	byName := map[string]*cmapi.Certificate{}
	for _, doc := range mustReadDocs(t, "cert-manager/certificates.yaml") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if meta.Kind != "Certificate" {
			continue
		}
		var crt cmapi.Certificate
		if err := yaml.UnmarshalStrict(doc, &crt); err != nil {
			t.Fatalf("decoding Certificate: %v", err)
		}
		byName[crt.Name] = &crt
	}
	// What both modes must agree on; secret and issuer names differ by mode.
	essentials := func(c *cmapi.Certificate) cmapi.CertificateSpec {
		return cmapi.CertificateSpec{
			IsCA:       c.Spec.IsCA,
			CommonName: c.Spec.CommonName,
			DNSNames:   c.Spec.DNSNames,
			Duration:   c.Spec.Duration,
			PrivateKey: c.Spec.PrivateKey,
			Usages:     c.Spec.Usages,
		}
	}
	for name, want := range map[string]*cmapi.Certificate{
		"slogate-webhook-ca": o.CACertificate(),
		"slogate-webhook":    o.ServingCertificate(),
	} {
		got, ok := byName[name]
		if !ok {
			t.Errorf("cert-manager overlay has no Certificate %s", name)
			continue
		}
		if diff := cmp.Diff(essentials(want), essentials(got)); diff != "" {
			t.Errorf("Certificate %s differs from self-managed mode's (-self-managed +cert-manager):\n%s", name, diff)
		}
		if got.Namespace != o.Namespace {
			t.Errorf("Certificate %s in namespace %q, want %q", name, got.Namespace, o.Namespace)
		}
	}
}

func TestSelfManagedOverlayRBACNamesWhatTheRotatorWrites(t *testing.T) {
	o := DefaultOptions()
	type rule struct {
		Resource, Name string
		Verbs          []string
	}
	var got []rule
	for _, doc := range mustReadDocs(t, "self-managed/rbac-webhook.yaml") {
		var role rbacv1.ClusterRole // Role and ClusterRole share the rules' shape
		if err := yaml.Unmarshal(doc, &role); err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if role.Kind != "Role" && role.Kind != "ClusterRole" {
			continue
		}
		for _, r := range role.Rules {
			for _, res := range r.Resources {
				for _, n := range r.ResourceNames {
					got = append(got, rule{Resource: res, Name: n, Verbs: r.Verbs})
				}
			}
		}
	}
	want := []rule{
		{Resource: "secrets", Name: o.SecretName, Verbs: []string{"get", "update"}},
		{Resource: "mutatingwebhookconfigurations", Name: o.MutatingWebhookConfiguration, Verbs: []string{"get", "patch"}},
		{Resource: "validatingwebhookconfigurations", Name: o.ValidatingWebhookConfiguration, Verbs: []string{"get", "patch"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhook RBAC in self-managed mode (-want +got):\n%s", diff)
	}
}
