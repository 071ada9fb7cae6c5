package dataplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/slogate/slogate/e2e/prom"
)

// TargetSetter receives the scrape targets of the running demo-apps (e2e/prom.Server is one).
type TargetSetter interface {
	SetTargets(targets []prom.Target) error
}

// Options of Start.
type Options struct {
	// Config reaches the API server. Required.
	Config *rest.Config
	// DemoApp is the demo-app binary. Required (see BuildDemoApp; `make build` puts it in bin/).
	DemoApp string
	// Namespaces are served from the start; Serve adds more.
	Namespaces []string
	// Prometheus is told the targets; optional.
	Prometheus TargetSetter
	// Rate is the requests per second sent on each HTTPRoute; default DefaultRate. SetRate
	// changes it per route.
	Rate float64
	// LogDir receives one log per demo-app process; default a temporary directory Stop removes.
	LogDir string
	// Resync is how often the plan is recomputed when no event came (and crashed processes are
	// restarted); default 2s.
	Resync time.Duration
	// SyncTimeout bounds the first sync of the watches; default 60s.
	SyncTimeout time.Duration
	// Logger; default discards.
	Logger logr.Logger
}

// DefaultRate is the default of Options.Rate.
const DefaultRate = 50

// Driver is a running data plane.
type Driver struct {
	opts      Options
	ownLogDir bool
	reader    client.Reader
	sender    *sender
	cancel    context.CancelFunc
	done      sync.WaitGroup
	nudge     chan struct{}

	mu         sync.Mutex
	namespaces map[string]bool
	plan       Plan
	apps       map[Group]*App
	targets    []prom.Target
	stopped    bool
}

// Start watches Pods, Services and HTTPRoutes, and runs the data plane until Stop.
func Start(ctx context.Context, opts Options) (*Driver, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("dataplane: building the scheme: %w", err)
	}
	if err := gatewayv1.Install(scheme); err != nil {
		return nil, fmt.Errorf("dataplane: building the scheme: %w", err)
	}
	c, err := cache.New(opts.Config, cache.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("dataplane: creating the cache: %w", err)
	}

	// The data plane lives until Stop, not until ctx (which only bounds the start).
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d := newDriver(opts, c, cancel)
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { d.poke() },
		UpdateFunc: func(any, any) { d.poke() },
		DeleteFunc: func(any) { d.poke() },
	}
	for _, obj := range []client.Object{&corev1.Pod{}, &corev1.Service{}, &gatewayv1.HTTPRoute{}} {
		inf, err := c.GetInformer(runCtx, obj)
		if err == nil {
			_, err = inf.AddEventHandler(handler)
		}
		if err != nil {
			cancel()
			return nil, fmt.Errorf("dataplane: watching %T: %w", obj, err)
		}
	}
	d.done.Go(func() {
		if err := c.Start(runCtx); err != nil {
			opts.Logger.Error(err, "cache stopped")
		}
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, opts.SyncTimeout)
	defer syncCancel()
	if !c.WaitForCacheSync(syncCtx) {
		cancel()
		d.done.Wait()
		return nil, fmt.Errorf("dataplane: the watches did not sync within %v (are the Gateway API CRDs installed?)", opts.SyncTimeout)
	}
	if err := d.makeLogDir(); err != nil {
		cancel()
		d.done.Wait()
		return nil, err
	}
	d.run(runCtx)
	return d, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Config == nil {
		return o, errors.New("dataplane: Options.Config is required")
	}
	if o.DemoApp == "" {
		return o, errors.New("dataplane: Options.DemoApp is required")
	}
	if _, err := os.Stat(o.DemoApp); err != nil {
		return o, fmt.Errorf("dataplane: Options.DemoApp: %w (run `make build`, or build it with BuildDemoApp)", err)
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Resync == 0 {
		o.Resync = 2 * time.Second
	}
	if o.SyncTimeout == 0 {
		o.SyncTimeout = 60 * time.Second
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	return o, nil
}

// newDriver builds a driver that reads the cluster through reader; run starts it.
func newDriver(opts Options, reader client.Reader, cancel context.CancelFunc) *Driver {
	d := &Driver{
		opts:       opts,
		reader:     reader,
		cancel:     cancel,
		nudge:      make(chan struct{}, 1),
		namespaces: map[string]bool{},
		apps:       map[Group]*App{},
		sender:     newSender(opts.Logger.WithName("traffic"), opts.Rate),
	}
	for _, ns := range opts.Namespaces {
		d.namespaces[ns] = true
	}
	return d
}

func (d *Driver) makeLogDir() error {
	if d.opts.LogDir != "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "slogate-dataplane-")
	if err != nil {
		return fmt.Errorf("dataplane: creating the log directory: %w", err)
	}
	d.opts.LogDir, d.ownLogDir = dir, true
	return nil
}

// run brings the data plane to the cluster's state once, then keeps it there and sends traffic.
func (d *Driver) run(ctx context.Context) {
	d.reconcile(ctx)
	d.done.Go(func() { d.loop(ctx) })
	d.done.Go(func() { d.sender.run(ctx) })
}

func (d *Driver) poke() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// debounce lets a burst of events (a Deployment's pods turning ready) settle into one recompute.
const debounce = 50 * time.Millisecond

func (d *Driver) loop(ctx context.Context) {
	resync := time.NewTicker(d.opts.Resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.nudge:
			select {
			case <-ctx.Done():
				return
			case <-time.After(debounce):
			}
		case <-resync.C:
		}
		d.reconcile(ctx)
	}
}

// Serve adds namespaces to those served.
func (d *Driver) Serve(namespaces ...string) {
	d.mu.Lock()
	for _, ns := range namespaces {
		d.namespaces[ns] = true
	}
	d.mu.Unlock()
	d.poke()
}

// Forget stops serving namespaces: their traffic stops and their processes end.
func (d *Driver) Forget(namespaces ...string) {
	d.mu.Lock()
	for _, ns := range namespaces {
		delete(d.namespaces, ns)
	}
	d.mu.Unlock()
	d.poke()
}

// SetRate sets the requests per second sent on one route (0 silences it).
func (d *Driver) SetRate(route types.NamespacedName, perSecond float64) {
	d.sender.setRate(route, perSecond)
}

// Stats is what was sent on a route so far.
func (d *Driver) Stats(route types.NamespacedName) RouteStats {
	return d.sender.routeStats(route)
}

// Plan is the plan in force.
func (d *Driver) Plan() Plan {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.plan
}

// AppInfo describes a running demo-app process.
type AppInfo struct {
	Group     Group
	Behaviour Behaviour
	Address   string
	LogPath   string
}

// Apps lists the running demo-app processes, sorted by group.
func (d *Driver) Apps() []AppInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []AppInfo
	for g, a := range d.apps {
		out = append(out, AppInfo{Group: g, Behaviour: a.spec.Behaviour, Address: a.addr, LogPath: a.spec.LogPath})
	}
	slices.SortFunc(out, func(a, b AppInfo) int { return compareGroups(a.Group, b.Group) })
	return out
}

// reconcile recomputes the plan from the cache and brings processes, targets and traffic to it.
// Order matters: new processes start before traffic is sent their way, and processes leave the
// plan before they are stopped.
func (d *Driver) reconcile(ctx context.Context) {
	log := d.opts.Logger
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	plan, err := d.resolve(ctx)
	if err != nil {
		log.Error(err, "reading the cluster")
		return
	}

	want := map[Group]Workload{}
	for _, w := range plan.Workloads {
		if w.Problem != "" {
			log.Info("workload cannot be served", "group", w.Group.String(), "problem", w.Problem)
			continue
		}
		want[w.Group] = w
	}
	var retire []*App
	for g, a := range d.apps {
		w, ok := want[g]
		exited := false
		select {
		case <-a.Exited():
			exited = true
			log.Info("demo-app exited; restarting it", "group", g.String(), "log", a.spec.LogPath)
		default:
		}
		if !ok || exited || w.Behaviour != a.spec.Behaviour {
			retire = append(retire, a)
			delete(d.apps, g)
		}
	}
	for g, w := range want {
		if _, ok := d.apps[g]; ok {
			continue
		}
		a, err := StartApp(ctx, AppSpec{
			Binary:    d.opts.DemoApp,
			Group:     g,
			Behaviour: w.Behaviour,
			LogPath:   filepath.Join(d.opts.LogDir, logName(g)),
		})
		if err != nil {
			log.Error(err, "starting demo-app", "group", g.String())
			continue
		}
		log.Info("demo-app started", "group", g.String(), "addr", a.Address(),
			"errorRate", w.Behaviour.ErrorRate, "latency", w.Behaviour.Latency)
		d.apps[g] = a
	}

	addrs := map[Group]string{}
	var targets []prom.Target
	for g, a := range d.apps {
		addrs[g] = a.Address()
		targets = append(targets, a.Target())
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Address < targets[j].Address })
	d.sender.update(plan, addrs)
	d.plan = plan
	if d.opts.Prometheus != nil && !sameTargets(targets, d.targets) {
		if err := d.opts.Prometheus.SetTargets(targets); err != nil {
			log.Error(err, "setting prometheus targets")
		} else {
			d.targets = targets
		}
	}
	for _, a := range retire {
		if err := a.Stop(); err != nil {
			log.Error(err, "stopping demo-app", "group", a.spec.Group.String())
		}
		log.Info("demo-app stopped", "group", a.spec.Group.String())
	}
}

func (d *Driver) resolve(ctx context.Context) (Plan, error) {
	var (
		routes   []gatewayv1.HTTPRoute
		services []corev1.Service
		pods     []corev1.Pod
	)
	for ns := range d.namespaces {
		var rl gatewayv1.HTTPRouteList
		if err := d.reader.List(ctx, &rl, client.InNamespace(ns)); err != nil {
			return Plan{}, fmt.Errorf("listing HTTPRoutes: %w", err)
		}
		routes = append(routes, rl.Items...)
		var sl corev1.ServiceList
		if err := d.reader.List(ctx, &sl, client.InNamespace(ns)); err != nil {
			return Plan{}, fmt.Errorf("listing Services: %w", err)
		}
		services = append(services, sl.Items...)
		var pl corev1.PodList
		if err := d.reader.List(ctx, &pl, client.InNamespace(ns)); err != nil {
			return Plan{}, fmt.Errorf("listing Pods: %w", err)
		}
		pods = append(pods, pl.Items...)
	}
	return Resolve(routes, services, pods), nil
}

func sameTargets(a, b []prom.Target) bool {
	return slices.EqualFunc(a, b, func(x, y prom.Target) bool {
		return x.Address == y.Address && maps.Equal(x.Labels, y.Labels)
	})
}

func logName(g Group) string {
	name := strings.Join([]string{g.Namespace, g.App, g.RevisionKey(), g.PodTemplateHash}, "_")
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator {
			return '-'
		}
		return r
	}, name) + ".log"
}

// Stop ends traffic, the watches and every process, and clears the Prometheus targets.
func (d *Driver) Stop() error {
	d.cancel()
	d.done.Wait()

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil
	}
	d.stopped = true
	var errs []error
	for g, a := range d.apps {
		if err := a.Stop(); err != nil {
			errs = append(errs, err)
		}
		delete(d.apps, g)
	}
	if d.opts.Prometheus != nil && len(d.targets) > 0 {
		if err := d.opts.Prometheus.SetTargets(nil); err != nil {
			errs = append(errs, fmt.Errorf("clearing prometheus targets: %w", err))
		}
	}
	if d.ownLogDir {
		if err := os.RemoveAll(d.opts.LogDir); err != nil {
			errs = append(errs, fmt.Errorf("removing the log directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
