package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var (
		listen  = flag.String("listen", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
		appName = flag.String("app", "demo-app", "name of the app, echoed in answers")
		rev     = flag.String("revision", "", "revision served, echoed in answers")
		b       behaviour
	)
	flag.Float64Var(&b.ErrorRate, "error-rate", 0, "fraction of requests answered 500, in [0, 1]")
	flag.DurationVar(&b.BaseLatency, "base-latency", 50*time.Millisecond, "delay of a healthy request")
	flag.DurationVar(&b.Latency, "latency", 0, "delay added to every request, e.g. 300ms")
	flag.Float64Var(&b.Jitter, "jitter", 0.1, "each delay is stretched by up to this fraction, in [0, 1]")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*listen, newApp(*appName, *rev, b), log); err != nil {
		log.Error("demo-app failed", "err", err)
		os.Exit(1)
	}
}

func run(listen string, a *app, log *slog.Logger) error {
	if err := a.behaviour.validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	// The parent reads this line to learn the port.
	fmt.Printf("listening on %s\n", l.Addr())
	log.Info("serving", "addr", l.Addr().String(), "app", a.name, "revision", a.revision,
		"errorRate", a.behaviour.ErrorRate, "baseLatency", a.behaviour.BaseLatency,
		"latency", a.behaviour.Latency, "jitter", a.behaviour.Jitter)

	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
