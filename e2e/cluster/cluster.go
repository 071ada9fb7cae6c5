package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Environment variables read by Start.
const (
	// EnvDir sets the directory under which run directories are made (default: os.TempDir()).
	EnvDir = "SLOGATE_E2E_DIR"
	// EnvKeep, set to 1, keeps every run directory after Stop, as Options.KeepArtifacts does.
	EnvKeep = "SLOGATE_E2E_KEEP"
)

// SlogateCRDDir is the directory, relative to the repository root, of slogate's own CRDs; pass it in
// Options.CRDDirs to have them installed.
const SlogateCRDDir = "manifests/base/crds"

// Names the harness gives to what it creates.
const (
	// FakeNodeAnnotation marks the nodes kwok manages (kwok's own convention).
	FakeNodeAnnotation = "kwok.x-k8s.io/node"
	// NodeNamePrefix starts the name of every fake node: kwok-node-0, kwok-node-1, ...
	NodeNamePrefix = "kwok-node-"
	// FieldManager is the server-side apply field manager of ApplyYAML.
	FieldManager = "slogate-e2e"
	// PodCIDR is the range kwok takes pod IPs from; it does not overlap the Service range.
	PodCIDR = "10.244.0.0/16"
	// ServiceCIDR is the Service cluster IP range.
	ServiceCIDR = "10.96.0.0/16"
	// AdminUser is the user name of the admin kubeconfig's client certificate (group system:masters).
	AdminUser = "slogate-e2e-admin"
)

// DefaultControllers are the kube-controller-manager controllers a Cluster runs: what Deployments,
// namespaces, ServiceAccounts, garbage collection and node health need, plus the cheap ones that make the
// cluster behave like a real one for RBAC (role aggregation), Services (EndpointSlices) and PDBs.
var DefaultControllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"garbage-collector-controller",
	"node-lifecycle-controller",
	"taint-eviction-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"endpointslice-controller",
	"pod-garbage-collector-controller",
	"disruption-controller",
	"validatingadmissionpolicy-status-controller",
}

// Options configure Start. The zero value is a usable cluster.
type Options struct {
	// Nodes is the number of fake nodes kwok runs (default 3).
	Nodes int
	// NodeCapacity is each node's capacity and allocatable (default: 64 cpu, 256Gi memory, 500 pods).
	NodeCapacity corev1.ResourceList
	// CRDDirs are extra directories of CRD YAML (relative to the repository root or absolute) to install
	// and wait for, after the Gateway API CRDs; for example SlogateCRDDir.
	CRDDirs []string
	// Controllers overrides DefaultControllers.
	Controllers []string
	// APIServerArgs, ControllerManagerArgs and KwokArgs are appended to those components' flags.
	APIServerArgs, ControllerManagerArgs, KwokArgs []string
	// BaseDir is where the run directory is made (default $SLOGATE_E2E_DIR, else os.TempDir()).
	BaseDir string
	// KeepArtifacts keeps the run directory (logs, certificates, kubeconfigs) after Stop.
	KeepArtifacts bool
	// NoSignalHandler leaves SIGINT and SIGTERM to the caller, which must then call Stop itself (a long
	// running program that handles signals already). By default the first Start installs a handler that
	// stops every live cluster and then lets the signal end the process.
	NoSignalHandler bool
}

func (o *Options) setDefaults() {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.NodeCapacity == nil {
		o.NodeCapacity = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("64"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("500"),
		}
	}
	if len(o.Controllers) == 0 {
		o.Controllers = DefaultControllers
	}
	if o.BaseDir == "" {
		o.BaseDir = os.Getenv(EnvDir)
	}
	if os.Getenv(EnvKeep) == "1" {
		o.KeepArtifacts = true
	}
}

// Cluster is a running local control plane. Its methods are safe for concurrent use.
type Cluster struct {
	opts Options

	dir        string
	logDir     string
	kubeconfig string
	server     string
	pki        *pki
	kubectl    string
	restConfig *rest.Config
	scheme     *runtime.Scheme
	client     client.Client
	startup    time.Duration
	phases     []string

	mu       sync.Mutex
	procs    []*Process
	keep     bool
	stopped  bool
	stopDone chan struct{} // closed when the first Stop has finished
}

// Start starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from bin/, creates the
// fake nodes, installs the Gateway API standard CRDs (and Options.CRDDirs), and returns once a pod can be
// scheduled and become Ready. On error every process it started is stopped and the error names the log
// directory, with the end of the API server's log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	begin := time.Now()
	opts.setDefaults()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, StartTimeout)
		defer cancel()
	}

	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, kubectl: bins.kubectl, stopDone: make(chan struct{})}
	if err := c.makeRunDir(); err != nil {
		return nil, err
	}
	if opts.KeepArtifacts {
		c.KeepArtifacts()
	}
	register(c)
	defer func() {
		if err != nil {
			c.KeepArtifacts()
			c.Stop()
			apiserverLog := filepath.Join(c.logDir, "kube-apiserver.log")
			var exit *exitError
			if errors.As(err, &exit) && exit.p.Name() == "kube-apiserver" || !fileExists(apiserverLog) {
				err = fmt.Errorf("starting the control plane: %w\nlogs: %s", err, c.logDir)
			} else {
				err = fmt.Errorf("starting the control plane: %w\nlogs: %s\n--- end of %s ---\n%s", err, c.logDir,
					apiserverLog, tailFile(apiserverLog, 4000))
			}
		}
	}()

	if c.pki, err = newPKI(filepath.Join(c.dir, "pki")); err != nil {
		return nil, err
	}
	c.phase("pki", begin)
	etcdURL, err := c.startEtcd(ctx, bins.etcd)
	if err != nil {
		return nil, err
	}
	c.phase("etcd", begin)
	if err := c.startAPIServer(ctx, bins.apiserver, etcdURL); err != nil {
		return nil, err
	}
	c.phase("kube-apiserver", begin)
	if err := c.startComponents(bins); err != nil {
		return nil, err
	}
	if err := c.setUp(ctx, bins); err != nil {
		return nil, err
	}
	c.startup = time.Since(begin)
	return c, nil
}

type binaries struct {
	etcd, apiserver, controllerManager, scheduler, kwok, kubectl string
	stagesDir, gatewayCRDDir                                     string
}

// findBinaries resolves everything Start runs or reads, and names all that is missing at once.
func findBinaries() (binaries, error) {
	var b binaries
	var errs []error
	for _, bin := range []struct {
		name string
		dst  *string
	}{
		{"etcd", &b.etcd}, {"kube-apiserver", &b.apiserver}, {"kube-controller-manager", &b.controllerManager},
		{"kube-scheduler", &b.scheduler}, {"kwok", &b.kwok},
	} {
		path, err := Binary(bin.name)
		errs = append(errs, err)
		*bin.dst = path
	}
	var err error
	b.stagesDir, err = dataDir("kwok-stages")
	errs = append(errs, err)
	b.gatewayCRDDir, err = dataDir("gateway-api-crds")
	errs = append(errs, err)
	b.kubectl, err = KubectlPath()
	errs = append(errs, err)
	return b, errors.Join(errs...)
}

// makeRunDir makes this run's directory and removes those of earlier runs whose process died without
// cleaning up (SIGKILL) and that nobody asked to keep.
func (c *Cluster) makeRunDir() error {
	base := c.opts.BaseDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("making the run directory: %w", err)
	}
	removeStaleRunDirs(base)
	dir, err := os.MkdirTemp(base, runDirPrefix)
	if err != nil {
		return fmt.Errorf("making the run directory: %w", err)
	}
	c.dir = dir
	c.logDir = filepath.Join(dir, "logs")
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

const (
	runDirPrefix = "slogate-e2e-"
	ownerFile    = "owner.pid"
	keepFile     = "KEEP"
)

func removeStaleRunDirs(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, runDirPrefix+"*"))
	for _, dir := range dirs {
		if fileExists(filepath.Join(dir, keepFile)) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || fileExists(fmt.Sprintf("/proc/%d", pid)) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// portAttempts is how often a component is started with fresh ports after losing a port race.
const portAttempts = 3

// startWithPorts starts a process built by spec from nports fresh ports and waits for ready; when the
// process dies of a port clash it retries with other ports.
func (c *Cluster) startWithPorts(ctx context.Context, nports int, spec func(ports []int) ProcessSpec,
	ready func(ctx context.Context, ports []int) error) (ports []int, err error) {
	for attempt := 1; ; attempt++ {
		if ports, err = FreePorts(nports); err != nil {
			return nil, err
		}
		s := spec(ports)
		p, err := c.StartProcess(s)
		if err != nil {
			return nil, err
		}
		err = c.waitProcess(ctx, p, func(ctx context.Context) error { return ready(ctx, ports) })
		if err == nil {
			return ports, nil
		}
		if exited, _ := p.Exited(); exited && attempt < portAttempts && strings.Contains(p.Tail(8000), "address already in use") {
			continue
		}
		return nil, err
	}
}

// exitError says that a process exited when it should have run, with the end of its log.
type exitError struct {
	p    *Process
	when string
}

func (e *exitError) Error() string {
	_, err := e.p.Exited()
	return fmt.Sprintf("%s exited %s (%v); end of %s:\n%s", e.p.Name(), e.when, err, e.p.LogPath(), e.p.Tail(3000))
}

// waitProcess runs ready until it succeeds, the process exits, or ctx ends.
func (c *Cluster) waitProcess(ctx context.Context, p *Process, ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := ready(ctx)
	if exited, _ := p.Exited(); exited {
		return &exitError{p: p, when: "before it was ready"}
	}
	if err != nil {
		return fmt.Errorf("waiting for %s: %w (log: %s)", p.Name(), err, p.LogPath())
	}
	return nil
}

func (c *Cluster) startEtcd(ctx context.Context, etcd string) (string, error) {
	spec := func(ports []int) ProcessSpec {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		return ProcessSpec{Name: "etcd", Path: etcd, Args: []string{
			"--name=e2e",
			"--data-dir=" + filepath.Join(c.dir, "etcd"),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=e2e=" + peer,
			// The data lives as long as the run: no fsync makes writes an order of magnitude cheaper.
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}}
	}
	ready := func(ctx context.Context, ports []int) error {
		url := fmt.Sprintf("http://127.0.0.1:%d/health", ports[0])
		return poll(ctx, EtcdReadyTimeout, func(ctx context.Context) (bool, error) {
			return httpOK(ctx, http.DefaultClient, url), nil
		})
	}
	ports, err := c.startWithPorts(ctx, 2, spec, ready)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0]), nil
}

func (c *Cluster) startAPIServer(ctx context.Context, apiserver, etcdURL string) error {
	serving, err := c.pki.issue("apiserver", "kube-apiserver", nil, []string{
		"127.0.0.1", "localhost", "10.96.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	})
	if err != nil {
		return err
	}
	saKey, saPub, err := c.pki.serviceAccountKeys()
	if err != nil {
		return err
	}
	admin, err := c.pki.issue("admin", AdminUser, []string{"system:masters"}, nil)
	if err != nil {
		return err
	}
	spec := func(ports []int) ProcessSpec {
		args := []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			// The endpoint reconciler refuses a loopback address for the kubernetes Service; nothing runs
			// in-cluster that would use it.
			"--endpoint-reconciler-type=none",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + filepath.Join(c.dir, "pki", "apiserver"),
			"--tls-cert-file=" + serving.certFile,
			"--tls-private-key-file=" + serving.keyFile,
			"--client-ca-file=" + c.pki.caFile,
			"--authorization-mode=Node,RBAC",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + saPub,
			"--service-account-signing-key-file=" + saKey,
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--allow-privileged=true",
			// All of these are on by default; named so that nobody wonders whether webhooks are called.
			"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
			"--profiling=false",
		}
		return ProcessSpec{Name: "kube-apiserver", Path: apiserver, Args: append(args, c.opts.APIServerArgs...)}
	}
	var readyClient *http.Client
	ready := func(ctx context.Context, ports []int) error {
		c.server = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		if err := writeKubeconfig(c.kubeconfig, c.server, c.pki.caPEM, AdminUser, admin, "", ""); err != nil {
			return err
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
		if err != nil {
			return err
		}
		cfg.QPS, cfg.Burst = 200, 400
		c.restConfig = cfg
		if readyClient, err = rest.HTTPClientFor(cfg); err != nil {
			return err
		}
		return poll(ctx, APIServerReadyTimeout, func(ctx context.Context) (bool, error) {
			return httpOK(ctx, readyClient, c.server+"/readyz"), nil
		})
	}
	if _, err := c.startWithPorts(ctx, 1, spec, ready); err != nil {
		return err
	}
	c.scheme = runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, gatewayv1.Install, gatewayv1beta1.Install,
		slogatev1alpha1.AddToScheme,
	} {
		if err := add(c.scheme); err != nil {
			return err
		}
	}
	c.client, err = client.New(c.restConfig, client.Options{Scheme: c.scheme})
	return err
}

// componentKubeconfig writes a kubeconfig for a control-plane component with its own user name (so the
// API server's logs and audit tell them apart) in group system:masters.
func (c *Cluster) componentKubeconfig(name string) (string, error) {
	kp, err := c.pki.issue(name, "system:"+name, []string{"system:masters"}, nil)
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.dir, name+".kubeconfig")
	return path, writeKubeconfig(path, c.server, c.pki.caPEM, "system:"+name, kp, "", "")
}

func (c *Cluster) startComponents(b binaries) error {
	kcm, err := c.componentKubeconfig("kube-controller-manager")
	if err != nil {
		return err
	}
	sched, err := c.componentKubeconfig("kube-scheduler")
	if err != nil {
		return err
	}
	kwok, err := c.componentKubeconfig("kwok")
	if err != nil {
		return err
	}
	kcmArgs := []string{
		"--kubeconfig=" + kcm,
		"--authentication-kubeconfig=" + kcm,
		"--authorization-kubeconfig=" + kcm,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + strings.Join(c.opts.Controllers, ","),
		"--service-account-private-key-file=" + filepath.Join(c.dir, "pki", "sa.key"),
		"--root-ca-file=" + c.pki.caFile,
		// Defaults (20/30) make a ReplicaSet of a thousand pods take most of a minute to create.
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
	}
	if _, err := c.StartProcess(ProcessSpec{Name: "kube-controller-manager", Path: b.controllerManager,
		Args: append(kcmArgs, c.opts.ControllerManagerArgs...)}); err != nil {
		return err
	}
	if _, err := c.StartProcess(ProcessSpec{Name: "kube-scheduler", Path: b.scheduler, Args: []string{
		"--kubeconfig=" + sched,
		"--authentication-kubeconfig=" + sched,
		"--authorization-kubeconfig=" + sched,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
	}}); err != nil {
		return err
	}
	stages, err := filepath.Glob(filepath.Join(b.stagesDir, "*.yaml"))
	if err != nil {
		return err
	}
	kwokArgs := []string{
		"--kubeconfig=" + kwok,
		"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=fake",
		// With the heartbeat-with-lease stage, kwok renews each node's Lease; without it the
		// node-lifecycle controller marks every node NotReady about 50 s after start.
		"--node-lease-duration-seconds=40",
		"--cidr=" + PodCIDR,
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	_, err = c.StartProcess(ProcessSpec{Name: "kwok", Path: b.kwok, Args: append(kwokArgs, c.opts.KwokArgs...),
		// kwok reads ~/.kwok/kwok.yaml unless told otherwise; a HOME of its own keeps a developer's file out.
		Env: []string{"HOME=" + filepath.Join(c.dir, "kwok-home")}})
	return err
}

// setUp installs the CRDs, creates the nodes and waits until the cluster can run pods.
func (c *Cluster) setUp(ctx context.Context, b binaries) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, ComponentsReadyTimeout)
	defer cancel()

	// Nodes first: kwok and the node-lifecycle controller make them Ready while the CRDs go in.
	for i := range c.opts.Nodes {
		if err := c.client.Create(ctx, c.fakeNode(i)); err != nil {
			return fmt.Errorf("creating node %d: %w", i, err)
		}
	}
	crdDirs := []string{b.gatewayCRDDir}
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	for _, d := range c.opts.CRDDirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		crdDirs = append(crdDirs, d)
	}
	var crds []string
	for _, d := range crdDirs {
		names, err := c.applyDir(ctx, d)
		if err != nil {
			return err
		}
		crds = append(crds, names...)
	}

	if err := c.watchComponents(ctx, "CRDs Established", func(ctx context.Context) (bool, error) {
		return c.crdsEstablished(ctx, crds)
	}); err != nil {
		return err
	}
	c.phase("CRDs", start)
	if err := c.watchComponents(ctx, "nodes Ready and untainted (kwok, node-lifecycle controller)", c.nodesReady); err != nil {
		return err
	}
	c.phase("nodes", start)
	if err := c.watchComponents(ctx, "the default ServiceAccount (kube-controller-manager)", func(ctx context.Context) (bool, error) {
		return c.serviceAccountExists(ctx, metav1.NamespaceDefault, "default")
	}); err != nil {
		return err
	}
	c.phase("controllers", start)
	if err := c.probePod(ctx); err != nil {
		return err
	}
	c.phase("probe pod", start)
	return nil
}

// phase records the time since the previous phase (or since start) under name, for StartupPhases.
func (c *Cluster) phase(name string, start time.Time) {
	c.phases = append(c.phases, fmt.Sprintf("%s %.1fs", name, time.Since(start).Seconds()))
}

// watchComponents polls cond and, while it waits, fails at once if a component has exited.
func (c *Cluster) watchComponents(ctx context.Context, what string, cond func(ctx context.Context) (bool, error)) error {
	err := poll(ctx, ComponentsReadyTimeout, func(ctx context.Context) (bool, error) {
		for _, p := range c.processes() {
			if exited, _ := p.Exited(); exited {
				return false, &exitError{p: p, when: "during start"}
			}
		}
		return cond(ctx)
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

// applyDir applies every YAML file in dir, CRDs first (other objects, such as the ValidatingAdmissionPolicy
// among Gateway API's, may refer to them), and returns the names of the CRDs.
func (c *Cluster) applyDir(ctx context.Context, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		o, err := decodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		objs = append(objs, o...)
	}
	isCRD := func(o *unstructured.Unstructured) bool { return o.GetKind() == "CustomResourceDefinition" }
	var crds []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4) // each CRD costs the API server an OpenAPI rebuild; a few at a time halve the wait
	for _, o := range objs {
		if isCRD(o) {
			crds = append(crds, o.GetName())
			g.Go(func() error { return c.applyObjects(gctx, "", []*unstructured.Unstructured{o}) })
		}
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("applying %s: %w", dir, err)
	}
	rest := slices.DeleteFunc(slices.Clone(objs), isCRD)
	if err := c.applyObjects(ctx, "", rest); err != nil {
		return nil, fmt.Errorf("applying %s: %w", dir, err)
	}
	return crds, nil
}

func (c *Cluster) crdsEstablished(ctx context.Context, names []string) (bool, error) {
	for _, name := range names {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.client.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		established := false
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		if !established {
			return false, nil
		}
	}
	return true, nil
}

func (c *Cluster) fakeNode(i int) *corev1.Node {
	name := NodeNamePrefix + strconv.Itoa(i)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{FakeNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type":                   "kwok",
				corev1.LabelHostname:     name,
				corev1.LabelOSStable:     "linux",
				corev1.LabelArchStable:   "amd64",
				corev1.LabelTopologyZone: "zone-" + strconv.Itoa(i%3),
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    c.opts.NodeCapacity.DeepCopy(),
			Allocatable: c.opts.NodeCapacity.DeepCopy(),
		},
	}
}

func (c *Cluster) nodesReady(ctx context.Context) (bool, error) {
	var nodes corev1.NodeList
	if err := c.client.List(ctx, &nodes); err != nil {
		return false, err
	}
	if len(nodes.Items) < c.opts.Nodes {
		return false, nil
	}
	for _, n := range nodes.Items {
		if !NodeReady(&n) {
			return false, nil
		}
	}
	return true, nil
}

// NodeReady reports whether a node is Ready and carries no not-ready or unreachable taint, that is, whether
// the scheduler will place pods on it.
func NodeReady(n *corev1.Node) bool {
	ready := false
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return ready
}

func (c *Cluster) serviceAccountExists(ctx context.Context, namespace, name string) (bool, error) {
	var sa corev1.ServiceAccount
	err := c.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sa)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// probePod schedules one pod and waits until kwok reports it Ready: the proof that scheduler and kwok work.
func (c *Cluster) probePod(ctx context.Context) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "startup-probe", Namespace: metav1.NamespaceDefault},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if err := c.client.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating the probe pod: %w", err)
	}
	err := c.watchComponents(ctx, "a probe pod scheduled and Ready (kube-scheduler, kwok)", func(ctx context.Context) (bool, error) {
		if err := c.client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return false, err
		}
		return PodReady(pod), nil
	})
	if err != nil {
		return err
	}
	return c.client.Delete(ctx, pod, client.GracePeriodSeconds(0))
}

// PodReady reports whether a pod's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// StartProcess starts a process that the cluster owns: its output goes to Logs()/<name>.log, and Stop (or
// a signal, or the death of the test binary) ends it. Use it for slogate's own binaries in e2e tests.
func (c *Cluster) StartProcess(spec ProcessSpec) (*Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.New("cluster is stopped")
	}
	p, err := startProcess(spec, c.logDir, c.dir)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.procs)
}

// Stop stops every process the cluster started and removes the run directory unless artifacts are kept
// (then only etcd's data goes). It may be called more than once and from several goroutines; every call
// returns when the first has finished.
func (c *Cluster) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		<-c.stopDone
		return
	}
	c.stopped = true
	procs := slices.Clone(c.procs)
	c.mu.Unlock()
	defer close(c.stopDone)

	// Everything but the API server and etcd at once (they only talk to the API server), then the API
	// server, then etcd.
	var wg sync.WaitGroup
	var apiserver, etcd *Process
	for _, p := range procs {
		switch p.Name() {
		case "kube-apiserver":
			apiserver = p
		case "etcd":
			etcd = p
		default:
			wg.Go(func() { p.Stop(StopGrace) })
		}
	}
	wg.Wait()
	for _, p := range []*Process{apiserver, etcd} {
		if p != nil {
			p.Stop(StopGrace)
		}
	}
	unregister(c)

	c.mu.Lock()
	keep := c.keep
	c.mu.Unlock()
	if keep {
		_ = os.RemoveAll(filepath.Join(c.dir, "etcd"))
		return
	}
	_ = os.RemoveAll(c.dir)
}

// KeepArtifacts makes Stop keep the run directory: logs, certificates and kubeconfigs. It marks the
// directory at once, so that a later run does not clean it up as stale even if this process dies first.
func (c *Cluster) KeepArtifacts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.keep {
		c.keep = true
		_ = os.WriteFile(filepath.Join(c.dir, keepFile), nil, 0o644)
	}
}

// Kubeconfig returns the path of the admin kubeconfig (client certificate in group system:masters).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Server returns the API server's URL (https://127.0.0.1:PORT).
func (c *Cluster) Server() string { return c.server }

// CACertPEM returns the certificate of the CA that signed the API server's serving certificate and every
// client certificate of the run.
func (c *Cluster) CACertPEM() []byte { return slices.Clone(c.pki.caPEM) }

// RESTConfig returns a copy of the admin REST config.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Client returns an admin controller-runtime client whose scheme knows client-go's types, apiextensions,
// Gateway API v1 and v1beta1, and slogate's v1alpha1.
func (c *Cluster) Client() client.Client { return c.client }

// Scheme returns the scheme of Client.
func (c *Cluster) Scheme() *runtime.Scheme { return c.scheme }

// Dir returns the run directory.
func (c *Cluster) Dir() string { return c.dir }

// Logs returns the directory of the process logs (<name>.log per process).
func (c *Cluster) Logs() string { return c.logDir }

// StartupDuration returns how long Start took.
func (c *Cluster) StartupDuration() time.Duration { return c.startup }

// StartupPhases says when each phase of Start was done: pki, etcd and kube-apiserver counted from the
// start, the rest from the moment the API server was ready.
func (c *Cluster) StartupPhases() string { return strings.Join(c.phases, ", ") }

// poll runs cond every PollInterval until it returns true or an error, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, PollInterval, timeout, true, cond)
}

func httpOK(ctx context.Context, hc *http.Client, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
