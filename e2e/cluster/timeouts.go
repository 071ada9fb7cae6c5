package cluster

import "time"

// Every timeout of the harness, in one place. Each is far above what was measured here (2 shared cores,
// sometimes with a Kubernetes build running beside the tests) so that a slow machine does not fail a run,
// and far below CI's budget so that a real hang fails fast enough to read its logs.
const (
	// StartTimeout bounds all of Start when the caller's context has no deadline (RunTests uses it).
	// Measured: about 6 s from nothing to a usable cluster.
	StartTimeout = 3 * time.Minute

	// EtcdReadyTimeout bounds etcd answering /health. Measured: under 1 s.
	EtcdReadyTimeout = 30 * time.Second

	// APIServerReadyTimeout bounds kube-apiserver answering /readyz, which waits for all post-start hooks
	// (RBAC bootstrap roles, priority-and-fairness configuration). Measured: about 4 s.
	APIServerReadyTimeout = 90 * time.Second

	// ComponentsReadyTimeout bounds the rest of Start: CRDs Established, every node Ready without the
	// not-ready taint, the default ServiceAccount created, and a probe pod scheduled and Ready through kwok.
	// Measured: about 1 s.
	ComponentsReadyTimeout = 90 * time.Second

	// StopGrace is how long a process gets after SIGTERM before it is killed.
	StopGrace = 5 * time.Second

	// KubectlTimeout bounds one kubectl run through Kubectl when the context has no earlier deadline.
	KubectlTimeout = 60 * time.Second

	// NamespaceReadyTimeout bounds the default ServiceAccount appearing in a namespace created by
	// MustCreateNamespace. Measured: tens of milliseconds.
	NamespaceReadyTimeout = 30 * time.Second

	// DeploymentReadyTimeout bounds a Deployment rollout on kwok's fake nodes (all replicas updated and
	// available, old ReplicaSets scaled down). Measured: under 1 s for 3 replicas.
	DeploymentReadyTimeout = 60 * time.Second

	// LeaseRenewTimeout bounds kwok renewing a node Lease: every 10 s (a quarter of
	// --node-lease-duration-seconds=40).
	LeaseRenewTimeout = 30 * time.Second

	// PolicyActiveTimeout bounds a new ValidatingAdmissionPolicy and its binding taking effect (the API
	// server's policy informers sync them). Measured: about 1 s.
	PolicyActiveTimeout = 30 * time.Second

	// PollInterval is how often the harness polls a condition.
	PollInterval = 100 * time.Millisecond
)
