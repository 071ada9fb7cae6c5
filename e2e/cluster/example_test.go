package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slogate/slogate/e2e/cluster"
)

// A long-running program (the demo) starts a cluster, prints how to reach it and stops it on Ctrl-C.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c, err := cluster.Start(ctx, cluster.Options{
		CRDDirs:         []string{cluster.SlogateCRDDir},
		NoSignalHandler: true, // this program handles the signals and calls Stop
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Stop()

	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
	<-ctx.Done()
}
