package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// exporter stands in for the canary pods of the scale section, which run no process: one
// /metrics endpoint with http_requests_total for every canary revision it is told of, counting
// exporterRate successful requests per second from when it was added. Prometheus scrapes it as
// it scrapes the demo-apps, so the analyzer's grouped queries find a sample per release.
type exporter struct {
	srv  *http.Server
	addr string

	mu     sync.Mutex
	series map[exportedRelease]time.Time
}

type exportedRelease struct{ namespace, app, revision string }

const exporterRate = 10

func startExporter() (*exporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	x := &exporter{addr: l.Addr().String(), series: map[exportedRelease]time.Time{}}
	x.srv = &http.Server{Handler: x, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = x.srv.Serve(l) }()
	return x, nil
}

func (x *exporter) add(namespace, app, revision string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := exportedRelease{namespace, app, revision}
	if _, ok := x.series[k]; !ok {
		x.series[k] = time.Now()
	}
}

func (x *exporter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	x.mu.Lock()
	keys := make([]exportedRelease, 0, len(x.series))
	starts := make(map[exportedRelease]time.Time, len(x.series))
	for k, t := range x.series {
		keys = append(keys, k)
		starts[k] = t
	}
	x.mu.Unlock()
	slices.SortFunc(keys, func(a, b exportedRelease) int {
		if a.namespace != b.namespace {
			return compare(a.namespace, b.namespace)
		}
		return compare(a.app, b.app)
	})
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "# TYPE http_requests_total counter")
	now := time.Now()
	for _, k := range keys {
		n := int64(now.Sub(starts[k]).Seconds() * exporterRate)
		fmt.Fprintf(b, "http_requests_total{namespace=%q,app=%q,slogate_io_revision=%q,status=\"200\"} %d\n", k.namespace, k.app, k.revision, n)
		fmt.Fprintf(b, "http_requests_total{namespace=%q,app=%q,slogate_io_revision=%q,status=\"500\"} 0\n", k.namespace, k.app, k.revision)
	}
	_ = b.Flush()
}

func (x *exporter) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = x.srv.Shutdown(ctx)
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
