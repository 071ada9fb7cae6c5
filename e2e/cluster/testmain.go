package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunTests is the body of an e2e package's TestMain: it starts one control plane with opts, calls setup
// (which may be nil; it typically stores the cluster in a package variable and starts the package's own
// processes with StartProcess), runs the tests and stops the cluster. It returns the exit code for os.Exit.
// When the start, setup or any test fails, the run directory is kept and its log directory printed.
//
//	var env *cluster.Cluster
//
//	func TestMain(m *testing.M) {
//		os.Exit(cluster.RunTests(m, cluster.Options{}, func(c *cluster.Cluster) error {
//			env = c
//			return nil
//		}))
//	}
func RunTests(m *testing.M, opts Options, setup func(*Cluster) error) int {
	c, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: control plane up in %.1fs (%s); kubeconfig %s\n", c.StartupDuration().Seconds(), c.StartupPhases(), c.Kubeconfig())
	if setup != nil {
		if err := setup(c); err != nil {
			c.KeepArtifacts()
			c.Stop()
			fmt.Fprintf(os.Stderr, "cluster: setup failed: %v\ncluster: logs kept in %s\n", err, c.Logs())
			return 1
		}
	}
	code := m.Run()
	if code != 0 {
		c.KeepArtifacts()
		fmt.Fprintf(os.Stderr, "cluster: tests failed; control-plane and process logs kept in %s\n", c.Logs())
	}
	stopping := time.Now()
	c.Stop()
	fmt.Fprintf(os.Stderr, "cluster: stopped in %.1fs\n", time.Since(stopping).Seconds())
	return code
}
