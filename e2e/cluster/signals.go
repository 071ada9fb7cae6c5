package cluster

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// The signal handler stops every live cluster on SIGINT or SIGTERM, then lets the signal end the process
// as it would have without the handler. Children would die anyway (Pdeathsig), but stopping them here
// keeps the logs whole and says where they are.
var (
	liveMu      sync.Mutex
	live        = map[*Cluster]struct{}{}
	handlerOnce sync.Once
)

func register(c *Cluster) {
	if c.opts.NoSignalHandler {
		return
	}
	handlerOnce.Do(installSignalHandler)
	liveMu.Lock()
	defer liveMu.Unlock()
	live[c] = struct{}{}
}

func unregister(c *Cluster) {
	liveMu.Lock()
	defer liveMu.Unlock()
	delete(live, c)
}

func installSignalHandler() {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigc
		liveMu.Lock()
		clusters := make([]*Cluster, 0, len(live))
		for c := range live {
			clusters = append(clusters, c)
		}
		liveMu.Unlock()
		var wg sync.WaitGroup
		for _, c := range clusters {
			c.KeepArtifacts()
			fmt.Fprintf(os.Stderr, "cluster: %v: stopping the control plane; logs in %s\n", sig, c.Logs())
			wg.Go(c.Stop)
		}
		wg.Wait()
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		time.Sleep(time.Second) // the signal ends the process; this is only a backstop
		os.Exit(1)
	}()
}
