package scenarios

import (
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/slogate/slogate/e2e/cluster"
	"github.com/slogate/slogate/e2e/dataplane"
	"github.com/slogate/slogate/e2e/prom"
	"github.com/slogate/slogate/e2e/slogate"
)

// Timeouts of this package, in one place. A release under the scenarios' policy (scenario.yaml)
// takes about 30 s here: three pauses of 3 s, two analyses that need two successful measurements
// 2 s apart after a 4 s delay, and a promotion of 4 replicas on kwok.
const (
	// setupTimeout bounds TestMain's start of Prometheus, the data plane, the webhook and the
	// analyzer (a few seconds).
	setupTimeout = 3 * time.Minute
	// appReadyTimeout bounds a Deployment applied by kubectl becoming available on kwok, and the data
	// plane serving its pods (under 5 s).
	appReadyTimeout = 60 * time.Second
	// releaseTimeout bounds a whole release, from kubectl apply to a terminal, cleaned-up Release.
	releaseTimeout = 4 * time.Minute
	// stepTimeout bounds reaching a given step or phase of a release (the longest is an analysis:
	// about 10 s, or up to the policy's analysis timeout of 1 m when Prometheus lacks samples).
	stepTimeout = 2 * time.Minute
	// quietPeriod is how long a scenario watches for something that must not happen (a release
	// started by re-applying a failed manifest). The analyzer reacts within a second.
	quietPeriod = 8 * time.Second
	// holdGrace bounds the time between the webhook holding a Deployment and the analyzer creating
	// its Release (under a second; more when the analyzer was just killed and waits for the lease).
	holdGrace = 20 * time.Second
	// trafficRate is the requests per second the data plane sends on each route.
	trafficRate = 100
	// trafficWindow is how many requests a check of who serves the route looks at (2 s of traffic).
	trafficWindow = 200
)

var (
	// env is the control plane of this package; each scenario has its own namespace in it.
	env *cluster.Cluster
	// promServer is the Prometheus the analyzer queries and the data plane feeds.
	promServer *prom.Server
	// plane sends the routes' traffic to demo-apps standing in for the pods.
	plane *dataplane.Driver
	// analyzer is bin/analyzer; restart scenarios kill and start it.
	analyzer *slogate.Analyzer
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(slogate.RunScenarios(m, "scenarios", slogate.EnvironmentOptions{TrafficRate: trafficRate}, setupTimeout,
		func(c *cluster.Cluster, e *slogate.Environment) {
			env, promServer, plane, analyzer = c, e.Prometheus, e.Plane, e.Analyzer
		}))
}
