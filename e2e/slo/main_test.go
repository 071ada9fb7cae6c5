package slo

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

// Timeouts of this package, in one place. A release under slo.yaml's policy takes about 40 s here
// (three pauses of 3 s; two analyses that need 100 canary requests in their window and two
// successful measurements 2 s apart; a promotion of 4 replicas on kwok); a rollback at the first
// analysis about 20 s.
const (
	// setupTimeout bounds TestMain's start of Prometheus, the data plane, the webhook and the
	// analyzer (a few seconds).
	setupTimeout = 3 * time.Minute
	// isolatedStartTimeout bounds starting a scenario's own Prometheus and data plane (a second).
	isolatedStartTimeout = time.Minute
	// appReadyTimeout bounds a Deployment applied by kubectl becoming available on kwok and the
	// data plane serving it (under 5 s).
	appReadyTimeout = time.Minute
	// holdTimeout bounds the webhook holding a Deployment after kubectl apply and the analyzer
	// creating its Release (under a second).
	holdTimeout = 30 * time.Second
	// weightTimeout bounds a release reaching a given weight (canary pods ready, then one route
	// write: a few seconds).
	weightTimeout = time.Minute
	// releaseTimeout bounds a whole release, from kubectl apply to a terminal, cleaned-up Release.
	// The seed's templates measure once a minute and their queries are grouped, answered at the
	// start of the minute: a release under them may wait one or two intervals for a first value.
	releaseTimeout = 4 * time.Minute
	// trafficRate is the requests per second the data plane sends on each route: 10 per second
	// reach a canary at 5 %, the 100 requests slo.yaml's minRequests asks for in 10 s.
	trafficRate = 200
)

var (
	// env is the control plane of this package; each scenario has its own namespace in it.
	env *cluster.Cluster
	// sharedProm is the Prometheus the analyzer queries by default and the shared data plane feeds.
	sharedProm *prom.Server
	// sharedPlane sends the routes' traffic to demo-apps standing in for the pods.
	sharedPlane *dataplane.Driver
	// analyzer is bin/analyzer, the only analyzer of the cluster.
	analyzer *slogate.Analyzer
	// demoApp is the demo-app binary the data planes run.
	demoApp string
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(slogate.RunScenarios(m, "slo", slogate.EnvironmentOptions{TrafficRate: trafficRate}, setupTimeout,
		func(c *cluster.Cluster, e *slogate.Environment) {
			env, sharedProm, sharedPlane, analyzer, demoApp = c, e.Prometheus, e.Plane, e.Analyzer, e.DemoApp
		}))
}
