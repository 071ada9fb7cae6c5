package certs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// t0 is the start of every test's fake time.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// testOptions use seconds: CA 90 s (rolled at 60 s), serving certificate 30 s (renewed at 20 s).
func testOptions(t *testing.T) Options {
	t.Helper()
	o := DefaultOptions()
	o.CertDir = t.TempDir()
	o.CAValidity = 90 * time.Second
	o.LeafValidity = 30 * time.Second
	o.TrustDelay = 2 * time.Second
	o.RetireDelay = 4 * time.Second
	o.SyncInterval = time.Second
	if err := o.Validate(); err != nil {
		t.Fatalf("test options: %v", err)
	}
	return o
}

func mustIssueCA(t *testing.T, o *Options, at time.Time) *keyPair {
	t.Helper()
	kp, err := issue(o.CACertificate(), at, nil)
	if err != nil {
		t.Fatalf("issuing CA: %v", err)
	}
	return kp
}

func mustIssueLeaf(t *testing.T, o *Options, at time.Time, ca *keyPair) *keyPair {
	t.Helper()
	kp, err := issue(o.ServingCertificate(), at, ca)
	if err != nil {
		t.Fatalf("issuing serving certificate: %v", err)
	}
	return kp
}

// withoutKey drops the private key, as parseMaterial does for a key that is missing or does not
// match.
func withoutKey(kp *keyPair) *keyPair {
	return &keyPair{cert: kp.cert, certPEM: kp.certPEM}
}

func TestPlan(t *testing.T) {
	o := testOptions(t)
	ca := mustIssueCA(t, &o, t0)
	leaf := mustIssueLeaf(t, &o, t0, ca)
	newCA := mustIssueCA(t, &o, t0.Add(60*time.Second))
	newLeaf := mustIssueLeaf(t, &o, t0.Add(63*time.Second), newCA)
	strangerCA := mustIssueCA(t, &o, t0)
	strangerLeaf := mustIssueLeaf(t, &o, t0, strangerCA)
	otherNames := o
	otherNames.ExtraSANs = []string{"127.0.0.1"}
	leafWithIP := mustIssueLeaf(t, &otherNames, t0, ca)
	mismatchedKey := &keyPair{cert: leaf.cert, certPEM: leaf.certPEM, key: strangerLeaf.key}

	steady := material{ca: ca, leaf: leaf, serial: 1, leafIssuedAt: t0}
	published := bundleStatus{current: true, publishedAt: t0, maxSerial: 1}
	// Staged at 60 s: the new CA is current, the old one previous, the old certificate served.
	staged := material{ca: newCA, previousCA: ca.cert, leaf: mustIssueLeaf(t, &o, t0.Add(50*time.Second), ca), serial: 2, leafIssuedAt: t0.Add(50 * time.Second)}
	stagedPublished := bundleStatus{current: true, publishedAt: t0.Add(61 * time.Second), maxSerial: 2}
	// Swapped at 63 s.
	swapped := material{ca: newCA, previousCA: ca.cert, leaf: newLeaf, serial: 2, leafIssuedAt: t0.Add(63 * time.Second)}

	type result struct {
		Step step
		Next time.Time
	}
	cases := map[string]struct {
		m       material
		b       bundleStatus
		now     time.Time
		serving func() *Options
		want    result
	}{
		"empty Secret: issue": {
			now:  t0,
			want: result{Step: stepIssue},
		},
		"CA without its key and no serving certificate: issue": {
			m:    material{ca: withoutKey(ca), serial: 1},
			now:  t0.Add(time.Second),
			want: result{Step: stepIssue},
		},
		"CA expired: issue": {
			m:    steady,
			b:    published,
			now:  t0.Add(91 * time.Second),
			want: result{Step: stepIssue},
		},
		"a serving certificate as CA: issue": {
			m:    material{ca: leaf, leaf: leaf, serial: 1},
			now:  t0.Add(time.Second),
			want: result{Step: stepIssue},
		},
		// NotBefore is backdated 0.3 s, which X.509 stores as t0-1s: 2/3 of 31 s from there is 19.67 s,
		// truncated to the second as cert-manager does.
		"fresh: nothing due until the serving certificate's renewal at 2/3": {
			m:    steady,
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepNone, Next: t0.Add(19 * time.Second)},
		},
		"bundle not yet published does not hold a steady state": {
			m:    steady,
			b:    bundleStatus{maxSerial: 0},
			now:  t0.Add(time.Second),
			want: result{Step: stepNone, Next: t0.Add(19 * time.Second)},
		},
		"serving certificate at 2/3 of its life: renew": {
			m:    steady,
			b:    published,
			now:  t0.Add(20 * time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"serving certificate expired: renew": {
			m:    steady,
			b:    published,
			now:  t0.Add(31 * time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"serving certificate without its key: renew": {
			m:    material{ca: ca, leaf: withoutKey(leaf), serial: 1},
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"serving certificate with a key that does not match: renew": {
			m:    material{ca: ca, leaf: mismatchedKey, serial: 1},
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"serving certificate of a CA not in the bundle: renew": {
			m:    material{ca: ca, leaf: strangerLeaf, serial: 1},
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"serving certificate names changed (extra SAN configured): renew": {
			m:       steady,
			b:       published,
			now:     t0.Add(time.Second),
			serving: func() *Options { return &otherNames },
			want:    result{Step: stepRenewLeaf},
		},
		"serving certificate with an extra SAN no longer configured: renew": {
			m:    material{ca: ca, leaf: leafWithIP, serial: 1},
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepRenewLeaf},
		},
		"CA at 2/3 of its life: stage a new CA": {
			m:    material{ca: ca, leaf: mustIssueLeaf(t, &o, t0.Add(50*time.Second), ca), serial: 1},
			b:    published,
			now:  t0.Add(60 * time.Second),
			want: result{Step: stepStageCA},
		},
		"CA key lost while its certificate still serves: stage a new CA, no outage": {
			m:    material{ca: withoutKey(ca), leaf: leaf, serial: 1},
			b:    published,
			now:  t0.Add(time.Second),
			want: result{Step: stepStageCA},
		},
		"staged, bundle not yet in the webhook configurations: wait": {
			m:    staged,
			b:    bundleStatus{current: false, publishedAt: t0, maxSerial: 1},
			now:  t0.Add(61 * time.Second),
			want: result{Step: stepNone},
		},
		"staged, bundle published less than the trust delay ago: wait for it": {
			m:    staged,
			b:    stagedPublished,
			now:  t0.Add(62 * time.Second),
			want: result{Step: stepNone, Next: t0.Add(63 * time.Second)},
		},
		"staged, bundle trusted: serve a certificate of the new CA": {
			m:    staged,
			b:    stagedPublished,
			now:  t0.Add(63 * time.Second),
			want: result{Step: stepSwapLeaf},
		},
		"staged, new CA's key lost: stage another, the served certificate stays trusted": {
			m:    material{ca: withoutKey(newCA), previousCA: ca.cert, leaf: staged.leaf, serial: 2},
			b:    stagedPublished,
			now:  t0.Add(63 * time.Second),
			want: result{Step: stepStageCA},
		},
		"swapped, within the retire delay: keep the old CA": {
			m:    swapped,
			b:    stagedPublished,
			now:  t0.Add(66 * time.Second),
			want: result{Step: stepNone, Next: t0.Add(67 * time.Second)},
		},
		"swapped, retire delay over: drop the old CA": {
			m:    swapped,
			b:    stagedPublished,
			now:  t0.Add(67 * time.Second),
			want: result{Step: stepRetireCA},
		},
		"previous CA expired: drop it": {
			m:    material{ca: newCA, previousCA: ca.cert, leaf: newLeaf, serial: 2, leafIssuedAt: t0.Add(150 * time.Second)},
			b:    stagedPublished,
			now:  t0.Add(91 * time.Second),
			want: result{Step: stepRetireCA},
		},
		"CA from a replica whose clock runs ahead: wait, do not replace": {
			m:    staged,
			b:    stagedPublished,
			now:  t0.Add(30 * time.Second),
			want: result{Step: stepNone, Next: newCA.cert.NotBefore},
		},
		"webhook configurations carry a newer serial than the Secret: reserial": {
			m:    steady,
			b:    bundleStatus{maxSerial: 7},
			now:  t0.Add(time.Second),
			want: result{Step: stepReserial},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			so := &o
			if tc.serving != nil {
				so = tc.serving()
			}
			d := plan(tc.m, tc.b, tc.now, so.ServingCertificate(), o.TrustDelay, o.RetireDelay)
			if d.reason == "" {
				t.Errorf("plan gave no reason")
			}
			got := result{Step: d.step, Next: d.next}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApply(t *testing.T) {
	o := testOptions(t)
	ca := mustIssueCA(t, &o, t0)
	leaf := mustIssueLeaf(t, &o, t0, ca)
	now := t0.Add(61 * time.Second)

	type summary struct {
		CAChanged, LeafChanged    bool
		LeafSignedByCA            bool
		PreviousIsOldCA, Previous bool
		Serial                    int64
		LeafIssuedAt              time.Time
	}
	cases := map[string]struct {
		m    material
		b    bundleStatus
		step step
		want summary
	}{
		"issue takes a serial above every one seen": {
			m:    material{serial: 3},
			b:    bundleStatus{maxSerial: 5},
			step: stepIssue,
			want: summary{CAChanged: true, LeafChanged: true, LeafSignedByCA: true, Serial: 6, LeafIssuedAt: now},
		},
		"renew keeps the CA and the serial": {
			m:    material{ca: ca, leaf: leaf, serial: 3, leafIssuedAt: t0},
			step: stepRenewLeaf,
			want: summary{LeafChanged: true, LeafSignedByCA: true, Serial: 3, LeafIssuedAt: now},
		},
		"stage keeps the served certificate and the old CA as previous": {
			m:    material{ca: ca, leaf: leaf, serial: 3, leafIssuedAt: t0},
			step: stepStageCA,
			want: summary{CAChanged: true, Previous: true, PreviousIsOldCA: true, Serial: 4, LeafIssuedAt: t0},
		},
		"retire drops the previous CA": {
			m:    material{ca: ca, previousCA: mustIssueCA(t, &o, t0).cert, leaf: leaf, serial: 4, leafIssuedAt: t0},
			step: stepRetireCA,
			want: summary{LeafSignedByCA: true, Serial: 5, LeafIssuedAt: t0},
		},
		"reserial raises the serial above the configurations'": {
			m:    material{ca: ca, leaf: leaf, serial: 1, leafIssuedAt: t0},
			b:    bundleStatus{maxSerial: 9},
			step: stepReserial,
			want: summary{LeafSignedByCA: true, Serial: 10, LeafIssuedAt: t0},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			next, err := apply(decision{step: tc.step}, tc.m, tc.b, now, &o)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			got := summary{
				CAChanged:      tc.m.ca == nil || next.ca.cert != tc.m.ca.cert,
				LeafChanged:    tc.m.leaf == nil || next.leaf.cert != tc.m.leaf.cert,
				LeafSignedByCA: signedBy(next.leaf.cert, next.ca.cert),
				Previous:       next.previousCA != nil,
				Serial:         next.serial,
				LeafIssuedAt:   next.leafIssuedAt,
			}
			if tc.m.ca != nil && next.previousCA != nil {
				got.PreviousIsOldCA = next.previousCA == tc.m.ca.cert
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("apply (-want +got):\n%s", diff)
			}
			// Whatever was stored parses back to the same thing.
			var s = secretOf(next)
			back := parseMaterial(s)
			if diff := cmp.Diff(next.serial, back.serial); diff != "" {
				t.Errorf("serial after a round trip (-want +got):\n%s", diff)
			}
			if back.ca == nil || back.ca.key == nil || back.leaf == nil || back.leaf.key == nil {
				t.Errorf("round trip lost the CA or the serving certificate or a key: %+v", back)
			}
		})
	}
}

func TestIssueClampsToTheCA(t *testing.T) {
	o := testOptions(t)
	ca := mustIssueCA(t, &o, t0)
	leaf := mustIssueLeaf(t, &o, t0.Add(80*time.Second), ca)
	if !leaf.cert.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("serving certificate issued 10 s before its CA expires ends %v, want the CA's end %v", leaf.cert.NotAfter, ca.cert.NotAfter)
	}
	// X.509 stores whole seconds.
	if want := t0.Add(80*time.Second - 300*time.Millisecond).Truncate(time.Second); !leaf.cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want backdated by 1 %% of 30 s to %v", leaf.cert.NotBefore, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := map[string]struct {
		mutate  func(*Options)
		wantErr string
	}{
		"defaults with a cert dir": {
			mutate: func(*Options) {},
		},
		"no cert dir": {
			mutate:  func(o *Options) { o.CertDir = "" },
			wantErr: "certDir: Required value",
		},
		"serving certificate too short for the trust wait": {
			mutate:  func(o *Options) { o.LeafValidity = 2 * time.Minute },
			wantErr: "leafValidity: Invalid value: \"2m0s\": must be at least 3×(trustDelay + 2×syncInterval) = 6m0s",
		},
		"retire before replicas sync": {
			mutate:  func(o *Options) { o.RetireDelay = 30 * time.Second },
			wantErr: "retireDelay: Invalid value: \"30s\": must be at least 2×syncInterval = 1m0s",
		},
		"negative duration": {
			mutate:  func(o *Options) { o.TrustDelay = -time.Second },
			wantErr: "trustDelay: Invalid value: \"-1s\": must be positive",
		},
		"URL as extra SAN": {
			mutate:  func(o *Options) { o.ExtraSANs = []string{"https://x"} },
			wantErr: "extraSANs[0]: Invalid value: \"https://x\": must be a DNS name or an IP address",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := DefaultOptions()
			o.CertDir = "/tmp/certs"
			tc.mutate(&o)
			got := ""
			if err := o.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func secretOf(m material) *corev1.Secret {
	s := &corev1.Secret{}
	m.applyTo(s)
	return s
}
