// Package cluster starts and stops a whole local Kubernetes control plane for end-to-end tests and for
// the demo, with no Docker and no network: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok, run as child processes from the binaries `make e2e-tools` builds into bin/.
//
// What a started Cluster offers:
//
//   - kube-apiserver on a free loopback port with client-certificate authentication from a CA made for the
//     run, authorization Node,RBAC, ServiceAccount token signing (so `kubectl create token` works and the
//     tokens authenticate), and the admission plugins slogate relies on: mutating and validating webhooks,
//     ValidatingAdmissionPolicy, PodSecurity.
//   - kube-controller-manager with DefaultControllers (Deployments, ReplicaSets, garbage collection, node
//     lifecycle, namespaces, ServiceAccounts and their tokens, role aggregation, EndpointSlices, PDBs) and
//     kube-scheduler, both with --leader-elect=false --secure-port=0.
//   - kwok with the fast node and pod stages and the node heartbeat-with-lease stage, managing
//     Options.Nodes fake nodes (3 by default, 500 pods each): pods are scheduled, become Running and
//     Ready at once, and stay Ready for as long as the run lasts.
//   - The Gateway API standard CRDs of the gateway-api version in go.mod (and any Options.CRDDirs, such
//     as SlogateCRDDir), Established before Start returns.
//   - An admin kubeconfig (Kubeconfig) that the machine's kubectl uses as it is, a REST config, and a
//     controller-runtime client whose scheme knows client-go, apiextensions, Gateway API and slogate types.
//   - Helpers: Kubectl runs the real kubectl; ApplyYAML applies multi-document YAML server-side;
//     MustCreateNamespace; ServiceAccountKubeconfig writes a kubeconfig with a ServiceAccount token so a
//     process runs with exactly the RBAC it is given; StartProcess runs slogate's own binaries under the
//     same supervision as the control plane.
//
// Use one Cluster per test package: TestMain calls RunTests, and each test makes its own namespace. Start
// takes about 5 s on this project's 2-core machines (built binaries); see timeouts.go for every timeout.
//
// Isolation and cleanup. Every run has its own directory (under $SLOGATE_E2E_DIR or the system temp
// directory) and its own free ports, so runs never collide. Stop ends every process; RunTests stops the
// cluster after the tests; a SIGINT or SIGTERM handler stops every live cluster before the signal ends the
// process; and every child runs with Pdeathsig=SIGKILL, forked from a goroutine locked to a thread that
// lives as long as the process, so children die with the test binary even when it is SIGKILLed or panics.
// Each child runs in its own process group, and Stop signals the group.
//
// Logs. Each process writes stdout and stderr to <run dir>/logs/<name>.log. When Start fails, the error
// names the log directory and carries the end of the failing component's log (or of the API server's).
// When a test fails or the run is interrupted, the run directory is kept (marked KEEP, etcd data removed)
// and its log directory printed; otherwise Stop removes it. Set SLOGATE_E2E_KEEP=1 to keep it always.
// Run directories of processes that died without cleaning up are removed by the next Start.
//
// Choices where the design is silent:
//
//   - Components authenticate with their own client certificates (system:kube-controller-manager, ...)
//     in group system:masters; it keeps the run simple, and slogate's own processes are the ones whose
//     RBAC matters (ServiceAccountKubeconfig).
//   - The API server's endpoint reconciler is off (--endpoint-reconciler-type=none): it refuses the
//     loopback advertise address, and nothing runs in-cluster that would use the kubernetes Service.
//   - etcd runs with --unsafe-no-fsync: the data lives only as long as the run.
//   - The kwok stage files and Gateway API CRDs are copied out of the module cache into bin/ by
//     `make e2e-tools` (hack/tools/build.sh), so a test binary needs no Go toolchain or module lookup at run
//     time. kubectl is $KUBECTL, else bin/kubectl, else the one on PATH.
//   - A long-running program (the demo) calls Start with NoSignalHandler and its own signal handling, and
//     calls Stop on the way out.
//
// Not for: production clusters, or anything that needs real containers, networking or kubelets. kwok's pod
// IPs are not reachable and Services have no proxies; the e2e data plane resolves routes from the API.
package cluster
