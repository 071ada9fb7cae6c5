package certs

import (
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// step is one change of the serving Secret.
type step string

const (
	// stepNone: nothing is due.
	stepNone step = "None"
	// stepIssue: nothing usable is stored; issue a new CA and serving certificate.
	stepIssue step = "Issue"
	// stepRenewLeaf: issue a new serving certificate from the current CA (already trusted, or
	// nothing trusted is being served anyway).
	stepRenewLeaf step = "RenewLeaf"
	// stepStageCA: a new CA becomes current; the old one stays in the bundle as previous and the
	// served certificate (signed by the old one) is kept.
	stepStageCA step = "StageCA"
	// stepSwapLeaf: the bundle with the new CA has been trusted for TrustDelay; serve a
	// certificate of the new CA.
	stepSwapLeaf step = "SwapLeaf"
	// stepRetireCA: every replica has had RetireDelay to load the new certificate; drop the old CA.
	stepRetireCA step = "RetireCA"
	// stepReserial: the webhook configurations carry a higher bundle serial than the Secret (the
	// Secret was recreated or restored); raise the Secret's so that its bundle is published.
	stepReserial step = "Reserial"
)

// bundleStatus is what the two webhook configurations say about the CA bundle of a material.
type bundleStatus struct {
	// current: every webhook of both configurations carries exactly the material's bundle, and
	// both configurations its serial.
	current bool
	// publishedAt is the latest time either configuration was written with it (when current).
	publishedAt time.Time
	// maxSerial is the highest serial found on either configuration.
	maxSerial int64
}

// decision is what plan asks for.
type decision struct {
	step   step
	reason string
	// next is when something falls due if nothing changes (zero: nothing foreseen).
	next time.Time
}

// plan decides the next change of the serving Secret from what is stored (m), what the webhook
// configurations carry (b) and the time. It is pure. The order of the cases is the order of
// precedence: a stored state that cannot serve is repaired first; a CA roll in progress is
// finished before anything new starts.
func plan(m material, b bundleStatus, now time.Time, serving *cmapi.Certificate, trustDelay, retireDelay time.Duration) decision {
	if b.maxSerial > m.serial {
		return decision{step: stepReserial, reason: fmt.Sprintf("webhook configurations carry bundle serial %d, the Secret %d", b.maxSerial, m.serial)}
	}
	// A certificate that is not valid yet was issued by a replica whose clock runs ahead of this
	// one's by more than the backdating. Replacing it would throw away a good state; wait.
	for _, kp := range []*keyPair{m.ca, m.leaf} {
		if kp != nil && now.Before(kp.cert.NotBefore) {
			return decision{step: stepNone, reason: "a stored certificate is not valid yet: this replica's clock runs behind", next: kp.cert.NotBefore}
		}
	}
	ca := m.ca
	if ca == nil || !ca.cert.IsCA || !validAt(ca.cert, now) {
		return decision{step: stepIssue, reason: "no valid CA stored"}
	}
	caKeyOK := matchesKey(ca.cert, ca.key)
	prev := m.previousCA
	if prev != nil && !validAt(prev, now) {
		prev = nil
	}
	leaf := m.leaf
	leafOK := leaf != nil && matchesKey(leaf.cert, leaf.key) && validAt(leaf.cert, now) && namesMatch(leaf.cert, serving)
	byCurrent := leafOK && signedBy(leaf.cert, ca.cert)
	byPrevious := leafOK && !byCurrent && prev != nil && signedBy(leaf.cert, prev)

	switch {
	case !byCurrent && !byPrevious:
		if !caKeyOK {
			return decision{step: stepIssue, reason: "no valid serving certificate stored and the CA's key is unusable"}
		}
		return decision{step: stepRenewLeaf, reason: "no valid serving certificate of a trusted CA stored"}

	case byPrevious:
		// Rolling, before the swap.
		if !caKeyOK {
			// Stage another new CA; the previous one keeps the served certificate trusted.
			return decision{step: stepStageCA, reason: "the new CA's key is unusable"}
		}
		if !b.current {
			// The bundle with the new CA is being published; look again soon.
			return decision{step: stepNone, reason: "waiting for the CA bundle to be published"}
		}
		trustedAt := b.publishedAt.Add(trustDelay)
		if now.Before(trustedAt) {
			return decision{step: stepNone, reason: "waiting for the apiserver to trust the new CA", next: trustedAt}
		}
		return decision{step: stepSwapLeaf, reason: "the CA bundle with the new CA has been published for the trust delay"}

	case m.previousCA != nil:
		// Rolling, after the swap (or the previous CA expired).
		retireAt := m.leafIssuedAt.Add(retireDelay)
		if prev != nil && now.Before(retireAt) {
			return decision{step: stepNone, reason: "waiting for every replica to serve the new certificate", next: retireAt}
		}
		return decision{step: stepRetireCA, reason: "every replica has had the retire delay to load the new certificate"}

	case !caKeyOK:
		return decision{step: stepStageCA, reason: "the CA's key is unusable"}
	}

	caRenewal := renewalTime(ca.cert)
	if !now.Before(caRenewal) {
		return decision{step: stepStageCA, reason: "the CA is due for renewal"}
	}
	leafRenewal := renewalTime(leaf.cert)
	if !now.Before(leafRenewal) {
		return decision{step: stepRenewLeaf, reason: "the serving certificate is due for renewal"}
	}
	return decision{step: stepNone, reason: "nothing due", next: earliest(caRenewal, leafRenewal)}
}

// apply carries out d on m and returns the material to store. The times written are now.
func apply(d decision, m material, b bundleStatus, now time.Time, o *Options) (material, error) {
	next := m
	issueLeaf := func() error {
		leaf, err := issue(o.ServingCertificate(), now, next.ca)
		if err != nil {
			return err
		}
		next.leaf = leaf
		next.leafIssuedAt = now
		return nil
	}
	switch d.step {
	case stepIssue:
		ca, err := issue(o.CACertificate(), now, nil)
		if err != nil {
			return m, err
		}
		next.ca, next.previousCA = ca, nil
		next.serial = max(m.serial, b.maxSerial) + 1
		if err := issueLeaf(); err != nil {
			return m, err
		}
	case stepRenewLeaf, stepSwapLeaf:
		if err := issueLeaf(); err != nil {
			return m, err
		}
	case stepStageCA:
		ca, err := issue(o.CACertificate(), now, nil)
		if err != nil {
			return m, err
		}
		// The CA that signed the served certificate stays trusted as the previous one.
		if m.previousCA == nil || m.leaf == nil || !signedBy(m.leaf.cert, m.previousCA) {
			next.previousCA = m.ca.cert
		}
		next.ca = ca
		next.serial = m.serial + 1
	case stepRetireCA:
		next.previousCA = nil
		next.serial = m.serial + 1
	case stepReserial:
		next.serial = b.maxSerial + 1
	default:
		return m, fmt.Errorf("no change for step %q", d.step)
	}
	return next, nil
}

func earliest(ts ...time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}
