package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// KubectlCommand returns a kubectl command for args with the admin kubeconfig and a discovery cache of the
// run's own (so a port reused by a later run never meets a stale cache). When args name --kubeconfig
// themselves, that one is used instead. The caller may set Stdin, Env and the like before running it.
func (c *Cluster) KubectlCommand(ctx context.Context, args ...string) *exec.Cmd {
	base := []string{"--cache-dir=" + filepath.Join(c.dir, "kubectl-cache")}
	if !namesKubeconfig(args) {
		base = append(base, "--kubeconfig="+c.kubeconfig)
	}
	cmd := exec.CommandContext(ctx, c.kubectl, append(base, args...)...)
	// KUBECONFIG from the environment must not matter; the flag above decides.
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	return cmd
}

func namesKubeconfig(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}

// Kubectl runs the real kubectl with args against the cluster and returns its standard output. The error
// carries the command and kubectl's standard error.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.KubectlInput(ctx, nil, args...)
}

// KubectlInput is Kubectl with stdin as kubectl's standard input (for `apply -f -`).
func (c *Cluster) KubectlInput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, KubectlTimeout)
		defer cancel()
	}
	cmd := c.KubectlCommand(ctx, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// MustKubectl runs kubectl like Kubectl and fails the test on error.
func (c *Cluster) MustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.Kubectl(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MustKubectlInput runs kubectl like KubectlInput and fails the test on error.
func (c *Cluster) MustKubectlInput(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	out, err := c.KubectlInput(t.Context(), stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as ServiceAccount namespace/name with a
// token from `kubectl create token` (valid 24 h), and returns its path. The ServiceAccount must exist. Use it
// to run slogate's processes as their own ServiceAccounts, so RBAC is exercised as installed.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string) (string, error) {
	token, err := c.Kubectl(ctx, "create", "token", name, "--namespace", namespace, "--duration=24h")
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	dir := filepath.Join(c.dir, "kubeconfigs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, namespace+"-"+name+".kubeconfig")
	user := "system:serviceaccount:" + namespace + ":" + name
	if err := writeKubeconfig(path, c.server, c.pki.caPEM, user, nil, strings.TrimSpace(token), namespace); err != nil {
		return "", err
	}
	return path, nil
}

// MustServiceAccountKubeconfig is ServiceAccountKubeconfig that fails the test on error.
func (c *Cluster) MustServiceAccountKubeconfig(t testing.TB, namespace, name string) string {
	t.Helper()
	path, err := c.ServiceAccountKubeconfig(t.Context(), namespace, name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}
