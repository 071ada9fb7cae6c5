package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slogate/slogate/e2e/cluster"
)

func main() {
	nodes := flag.Int("nodes", 3, "number of fake nodes")
	keep := flag.Bool("keep", false, "keep the run directory (logs, kubeconfig) after exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, cluster.Options{
		Nodes:           *nodes,
		CRDDirs:         []string{cluster.SlogateCRDDir},
		KeepArtifacts:   *keep,
		NoSignalHandler: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("control plane up in %.1fs; logs in %s\n\n  export KUBECONFIG=%s\n\nCtrl-C stops it.\n",
		c.StartupDuration().Seconds(), c.Logs(), c.Kubeconfig())
	<-ctx.Done()
	fmt.Println("stopping")
	c.Stop()
}
