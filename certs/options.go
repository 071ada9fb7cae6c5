package certs

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Defaults of Options. The webhook configuration names are those of manifests/base/webhook.
const (
	DefaultNamespace                      = "slogate-system"
	DefaultSecretName                     = "slogate-webhook-tls"
	DefaultServiceName                    = "slogate-webhook"
	DefaultMutatingWebhookConfiguration   = "slogate"
	DefaultValidatingWebhookConfiguration = "slogate"
	DefaultCAValidity                     = 2 * 365 * 24 * time.Hour
	DefaultLeafValidity                   = 90 * 24 * time.Hour
	DefaultTrustDelay                     = time.Minute
	DefaultRetireDelay                    = 2 * time.Minute
	DefaultSyncInterval                   = 30 * time.Second
)

// Options configure a Rotator. Every duration is injectable so that tests run a whole CA roll in
// seconds.
type Options struct {
	// Namespace of the Secret and of the webhook Service.
	Namespace string
	// SecretName is the Secret holding CA, previous CA and serving certificate.
	SecretName string
	// ServiceName is the webhook Service; the serving certificate names it in every form.
	ServiceName string
	// ExtraSANs are further DNS names or IP addresses for the serving certificate (a local
	// webhook reached through a URL clientConfig, for example 127.0.0.1).
	ExtraSANs []string
	// MutatingWebhookConfiguration and ValidatingWebhookConfiguration get the CA bundle.
	MutatingWebhookConfiguration   string
	ValidatingWebhookConfiguration string
	// CertDir receives the served tls.crt and tls.key; it must be writable (an emptyDir in the pod).
	CertDir string

	// CAValidity and LeafValidity are the lifetimes of the CA and of the serving certificate.
	CAValidity   time.Duration
	LeafValidity time.Duration
	// TrustDelay is how long a CA bundle must have been in both webhook configurations before a
	// certificate signed by a CA new in it is served.
	TrustDelay time.Duration
	// RetireDelay is how long the serving certificate of a new CA must have been stored before the
	// old CA is dropped from the bundle. It must give every replica time to load it.
	RetireDelay time.Duration
	// SyncInterval is how often each replica reads the Secret when nothing is due.
	SyncInterval time.Duration
}

// DefaultOptions returns the options of an install from manifests/self-managed.
func DefaultOptions() Options {
	return Options{
		Namespace:                      DefaultNamespace,
		SecretName:                     DefaultSecretName,
		ServiceName:                    DefaultServiceName,
		MutatingWebhookConfiguration:   DefaultMutatingWebhookConfiguration,
		ValidatingWebhookConfiguration: DefaultValidatingWebhookConfiguration,
		CAValidity:                     DefaultCAValidity,
		LeafValidity:                   DefaultLeafValidity,
		TrustDelay:                     DefaultTrustDelay,
		RetireDelay:                    DefaultRetireDelay,
		SyncInterval:                   DefaultSyncInterval,
	}
}

// AddFlags binds the options to flags named --cert-*; call it on DefaultOptions before parsing.
// CertDir is left to the caller, which shares it with the webhook server.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "cert-namespace", o.Namespace, "namespace of the serving-certificate Secret and of the webhook Service (self-managed certificates)")
	fs.StringVar(&o.SecretName, "cert-secret", o.SecretName, "Secret holding the CA and the serving certificate (self-managed certificates)")
	fs.StringVar(&o.ServiceName, "cert-service", o.ServiceName, "webhook Service named by the serving certificate (self-managed certificates)")
	fs.Func("cert-extra-sans", "comma-separated DNS names or IP addresses added to the serving certificate (self-managed certificates)", func(s string) error {
		o.ExtraSANs = nil
		for _, san := range strings.Split(s, ",") {
			if san = strings.TrimSpace(san); san != "" {
				o.ExtraSANs = append(o.ExtraSANs, san)
			}
		}
		return nil
	})
	fs.StringVar(&o.MutatingWebhookConfiguration, "cert-mutating-webhook-configuration", o.MutatingWebhookConfiguration, "MutatingWebhookConfiguration that gets the CA bundle (self-managed certificates)")
	fs.StringVar(&o.ValidatingWebhookConfiguration, "cert-validating-webhook-configuration", o.ValidatingWebhookConfiguration, "ValidatingWebhookConfiguration that gets the CA bundle (self-managed certificates)")
	fs.DurationVar(&o.CAValidity, "cert-ca-validity", o.CAValidity, "lifetime of the self-managed CA; it is rolled at 2/3 of it")
	fs.DurationVar(&o.LeafValidity, "cert-validity", o.LeafValidity, "lifetime of the self-managed serving certificate; it is renewed at 2/3 of it")
	fs.DurationVar(&o.TrustDelay, "cert-trust-delay", o.TrustDelay, "how long a new CA bundle is in the webhook configurations before a certificate of the new CA is served")
	fs.DurationVar(&o.RetireDelay, "cert-retire-delay", o.RetireDelay, "how long the certificate of a new CA is stored before the old CA leaves the bundle")
	fs.DurationVar(&o.SyncInterval, "cert-sync-interval", o.SyncInterval, "how often each webhook replica reads the serving-certificate Secret")
}

// Validate reports every unusable option with its flag-like field path.
func (o *Options) Validate() error {
	var errs field.ErrorList
	for _, f := range []struct {
		path, value string
	}{
		{"namespace", o.Namespace},
		{"secretName", o.SecretName},
		{"serviceName", o.ServiceName},
		{"mutatingWebhookConfiguration", o.MutatingWebhookConfiguration},
		{"validatingWebhookConfiguration", o.ValidatingWebhookConfiguration},
		{"certDir", o.CertDir},
	} {
		if f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.path), ""))
		}
	}
	for i, san := range o.ExtraSANs {
		if strings.ContainsAny(san, " /:") && net.ParseIP(san) == nil {
			errs = append(errs, field.Invalid(field.NewPath("extraSANs").Index(i), san, "must be a DNS name or an IP address"))
		}
	}
	for _, d := range []struct {
		path  string
		value time.Duration
	}{
		{"caValidity", o.CAValidity},
		{"leafValidity", o.LeafValidity},
		{"trustDelay", o.TrustDelay},
		{"retireDelay", o.RetireDelay},
		{"syncInterval", o.SyncInterval},
	} {
		if d.value <= 0 {
			errs = append(errs, field.Invalid(field.NewPath(d.path), d.value.String(), "must be positive"))
		}
	}
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	// The serving certificate must outlive the wait for trust in a new CA: a CA roll can start just
	// before the certificate's own renewal, and it is not renewed again until the swap.
	if need := 3 * (o.TrustDelay + 2*o.SyncInterval); o.LeafValidity < need {
		errs = append(errs, field.Invalid(field.NewPath("leafValidity"), o.LeafValidity.String(),
			fmt.Sprintf("must be at least 3×(trustDelay + 2×syncInterval) = %s", need)))
	}
	// Every replica reads the Secret at least twice before the old CA leaves the bundle.
	if o.RetireDelay < 2*o.SyncInterval {
		errs = append(errs, field.Invalid(field.NewPath("retireDelay"), o.RetireDelay.String(),
			fmt.Sprintf("must be at least 2×syncInterval = %s", 2*o.SyncInterval)))
	}
	// The CA roll (publish, trust, swap, retire) fits in the last third of the CA's life, and the
	// CA outlives a serving certificate several times over.
	if need := 3 * (o.TrustDelay + o.RetireDelay + 2*o.SyncInterval); o.CAValidity < need {
		errs = append(errs, field.Invalid(field.NewPath("caValidity"), o.CAValidity.String(),
			fmt.Sprintf("must be at least 3×(trustDelay + retireDelay + 2×syncInterval) = %s", need)))
	}
	if o.CAValidity < o.LeafValidity {
		errs = append(errs, field.Invalid(field.NewPath("caValidity"), o.CAValidity.String(),
			"must be at least leafValidity"))
	}
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	return nil
}

var errNotIssued = errors.New("serving certificate not issued yet")
