// Package certs gives the admission webhook its serving certificate when cert-manager is not
// installed ("self-managed" mode, `--cert-mode=self-managed` on cmd/webhook).
//
// A Rotator runs in every webhook replica (manager.Runnable, no leader election). It keeps a CA and
// a serving certificate in one Secret (slogate-webhook-tls in slogate-system), writes the served
// pair into the webhook's cert dir and reloads it with controller-runtime's certwatcher, and patches
// the CA bundle into every webhook of both webhook configurations. Both certificates are described
// as cert-manager Certificates (CACertificate, ServingCertificate) and issued with cert-manager's
// pkg/util/pki, so the names and usages are the same in both modes.
//
// It is not for cert-manager mode: there cert-manager issues the Secret, cainjector fills caBundle,
// and the webhook server's own certwatcher reloads the mounted files. Nothing here runs then.
//
// Choices made where DESIGN.md is silent:
//
//   - The decision of what to do next is a pure function (plan) of the Secret, the two webhook
//     configurations and the time; Rotator only reads and writes.
//   - Renewal at 2/3 of a certificate's life (cert-manager's default, pki.RenewalTime), for the
//     serving certificate and for the CA alike.
//   - A CA roll never fails a request: the new CA is first published beside the old one (both in
//     caBundle); the serving certificate signed by the new CA is stored only TrustDelay after both
//     configurations carry that bundle (the apiserver picks a changed caBundle up from its informer
//     in about a second; the delay covers every apiserver of an HA control plane and clock skew);
//     the old CA leaves the bundle only RetireDelay after that, when every replica has had several
//     SyncIntervals to load the new certificate.
//   - Replicas race through optimistic concurrency: every Secret write carries the resourceVersion
//     it was planned from, so exactly one replica issues and the other adopts what it reads back.
//     Webhook configurations are patched with an optimistic lock too, and carry the bundle serial
//     (CABundleSerialAnnotation): a replica never writes a bundle older than the one in place.
//   - The webhook's RBAC cannot create Secrets (create cannot be limited to one name, and a
//     created Secret of type service-account-token would mint tokens), so the self-managed
//     overlay ships the Secret empty and the Rotator only gets and updates it. If the Secret is
//     missing the Rotator tries to create it and, when forbidden, says which manifest makes it.
//   - NotBefore is backdated by 1 % of the validity (at most a minute) so that a certificate
//     issued a moment ago is already valid on an apiserver whose clock runs slightly behind.
//   - The CA's private key lives in the Secret (ca.key): it is needed to renew the serving
//     certificate without a CA roll.
package certs
