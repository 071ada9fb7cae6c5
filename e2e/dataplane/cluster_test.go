package dataplane

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/slogate/slogate/e2e/cluster"
)

// The package's unit tests need no control plane, so the one control plane of the package starts
// with the first test that asks for it and stops after the last test (TestMain).
var (
	clusterOnce sync.Once
	clusterEnv  *cluster.Cluster
	clusterErr  error
)

// mustCluster returns the package's control plane, starting it on first use.
func mustCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		// The control plane outlives the test that starts it: only the start is bounded.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), clusterTimeout)
		defer cancel()
		clusterEnv, clusterErr = cluster.Start(ctx, cluster.Options{})
		if clusterErr == nil {
			fmt.Fprintf(os.Stderr, "cluster: control plane up in %.1fs (kubeconfig %s)\n",
				clusterEnv.StartupDuration().Seconds(), clusterEnv.Kubeconfig())
		}
	})
	if clusterErr != nil {
		t.Fatalf("starting the control plane: %v", clusterErr)
	}
	return clusterEnv
}

// stopSharedCluster stops the control plane if a test started it, keeping its logs when a test
// failed.
func stopSharedCluster(failed bool) {
	if clusterEnv == nil {
		return
	}
	if failed {
		clusterEnv.KeepArtifacts()
		fmt.Fprintf(os.Stderr, "cluster: tests failed; control-plane logs kept in %s\n", clusterEnv.Logs())
	}
	clusterEnv.Stop()
}
