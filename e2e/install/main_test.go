package install_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slogate/slogate/e2e/cluster"
)

// env is the control plane of this package; each test works in namespaces of its own, and the
// install (cluster-scoped: CRDs, RBAC, webhook configurations) is shared.
var env *cluster.Cluster

// root is the repository root: the overlays are applied from there, as a user would.
var root string

func TestMain(m *testing.M) {
	var err error
	root, err = cluster.RepoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "install: %v\n", err)
		os.Exit(1)
	}
	crds, err := certManagerCRDDir(root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "install: %v\n", err)
		os.Exit(1)
	}
	os.Exit(cluster.RunTests(m, cluster.Options{CRDDirs: []string{crds}}, func(c *cluster.Cluster) error {
		env = c
		return nil
	}))
}

// certManagerCRDDir is deploy/crds of the cert-manager module that go.mod requires: the CRDs the
// cert-manager overlay's Issuer and Certificate need. `go list -m` only answers inside the module,
// so it runs in the repository root.
func certManagerCRDDir(root string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("finding the cert-manager module (go list -m, needs the Go toolchain and the module cache: go mod download): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
	if _, err := os.Stat(filepath.Join(dir, "cert-manager.io_certificates.yaml")); err != nil {
		return "", fmt.Errorf("cert-manager CRDs not found: %w", err)
	}
	return dir, nil
}

// kubectlIn runs kubectl in the repository root (so that `-k manifests/...` reads the overlays).
func kubectlIn(ctx context.Context, args ...string) (string, error) {
	cmd := env.KubectlCommand(ctx, args...)
	cmd.Dir = root
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String() + stderr.String(), nil
}

// mustApplyCRDs applies slogate's CRDs as the README's first install step does: the overlays
// carry objects of these kinds (the built-in ClusterAnalysisTemplates), which kubectl can only map
// once the CRDs are served.
func mustApplyCRDs(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), applyTimeout)
	defer cancel()
	if out, err := kubectlIn(ctx, "apply", "-f", filepath.Join("manifests", "base", "crds")); err != nil {
		t.Fatalf("applying the CRDs: %v\n%s", err, out)
	}
	cluster.MustPoll(t, applyTimeout, "slogate's CRDs to be established", func(ctx context.Context) (bool, error) {
		out, err := kubectlIn(ctx, "wait", "--for=condition=Established", "--timeout=10s", "-f", filepath.Join("manifests", "base", "crds"))
		return err == nil && out != "", nil
	})
}

// mustApplyOverlay runs `kubectl apply -k manifests/<overlay>` with extra args, as a user would,
// and returns kubectl's output.
func mustApplyOverlay(t *testing.T, overlay string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), applyTimeout)
	defer cancel()
	args := append([]string{"apply", "-k", filepath.Join("manifests", overlay)}, extra...)
	out, err := kubectlIn(ctx, args...)
	if err != nil {
		t.Fatalf("apply of %s: %v\n%s", overlay, err, out)
	}
	return out
}
