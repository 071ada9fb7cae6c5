package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/slogate/slogate/webhook"
)

// serveWebhookCommand is the hidden sub-command that runs slogate's Deployment admission handlers
// on controller-runtime's TLS webhook server, in a process of its own so that its CPU time can be
// read apart from the load generator's.
const serveWebhookCommand = "serve-webhook"

// serveWebhook runs the server until SIGTERM: the handlers of package webhook registered as
// webhook.Setup registers them, with its metrics, and controller-runtime's production logger
// (JSON, info level) to stderr, as cmd/webhook runs them.
func serveWebhook(args []string) error {
	fs := flag.NewFlagSet(serveWebhookCommand, flag.ContinueOnError)
	port := fs.Int("port", 0, "port on 127.0.0.1")
	certDir := fs.String("cert-dir", "", "directory holding tls.crt and tls.key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(zap.New())
	m, err := webhook.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	opts := webhook.Options{AnalyzerUsername: webhook.DefaultAnalyzerUsername, Metrics: m}
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{Host: "127.0.0.1", Port: *port, CertDir: *certDir})
	srv.Register(webhook.MutateDeploymentPath, &admission.Webhook{Handler: webhook.NewDeploymentMutator(opts)})
	srv.Register(webhook.ValidateDeploymentPath, &admission.Webhook{Handler: webhook.NewDeploymentValidator(opts)})
	srv.Register(webhook.ValidateManagedPath, &admission.Webhook{Handler: webhook.NewManagedValidator(opts)})
	return srv.Start(ctrl.SetupSignalHandler())
}

// webhookServer is a running serve-webhook child process.
type webhookServer struct {
	cmd     *exec.Cmd
	done    chan struct{}
	addr    string
	certs   *servingCerts
	logPath string
}

// startWebhookServer re-executes this program as serve-webhook on a free port and waits until it
// answers TLS handshakes.
func startWebhookServer(ctx context.Context, dir string) (*webhookServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	certs, err := makeServingCerts(filepath.Join(dir, "certs"))
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "webhook.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(self, serveWebhookCommand, "--port="+strconv.Itoa(port), "--cert-dir="+certs.Dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the webhook server: %w", err)
	}
	s := &webhookServer{cmd: cmd, done: make(chan struct{}), addr: "127.0.0.1:" + strconv.Itoa(port), certs: certs, logPath: logPath}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("the webhook server exited at start; log %s:\n%s", logPath, tail(logPath, 2000))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		default:
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.addr, certs.clientTLS())
		if err == nil {
			conn.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the webhook server did not answer within 30s: %w; log %s", err, logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *webhookServer) pid() int { return s.cmd.Process.Pid }

func (s *webhookServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string, n int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(data)) > n {
		data = data[int64(len(data))-n:]
	}
	return string(data)
}
