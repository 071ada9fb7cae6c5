// Package install holds the end-to-end tests of installing slogate on a real apiserver (a local
// control plane from e2e/cluster): the kustomize overlays apply and pass a server-side dry run,
// the RBAC is least privilege (proven with `kubectl auth can-i` and impersonated requests, not
// assumed), self-managed serving certificates are issued and rolled without a failed admission
// request by the real webhook binary running as its own ServiceAccount, a webhook that is down
// blocks Deployment updates in opted-in namespaces only, and whole releases run (webhook and
// analyzer on their own ServiceAccounts) where the cluster enforces Pod Security "restricted" and
// admission policies of its own, including one that refuses the canary.
//
// It is not for the release flow itself (e2e/scenarios) or for the webhook's decisions
// (e2e/webhook).
//
// Choices: kwok fakes the slogate pods, so nothing in slogate-system really runs; the webhook runs
// as a local process, and the tests that call it point both webhook configurations at it with a
// URL clientConfig (Services cannot route to loopback). The serving certificate still names
// 127.0.0.1 and the caBundle the process patched in is what the apiserver verifies it with, so the
// CA path is the real one.
package install
