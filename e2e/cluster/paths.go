package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// mainModule is the module path whose go.mod marks the repository root. The tool modules under hack/tools
// have go.mod files too; they are skipped on the way up.
const mainModule = "github.com/slogate/slogate"

// EnvRoot overrides where the repository root is (the directory holding go.mod and bin/).
const EnvRoot = "SLOGATE_ROOT"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// RepoRoot returns the repository root: $SLOGATE_ROOT, or the first directory above the working directory
// whose go.mod declares the main module. A test binary runs in its package directory, so walking up finds
// the root from any package.
func RepoRoot() (string, error) {
	rootOnce.Do(func() {
		if dir := os.Getenv(EnvRoot); dir != "" {
			rootDir, rootErr = filepath.Abs(dir)
			return
		}
		wd, err := os.Getwd()
		if err != nil {
			rootErr = fmt.Errorf("finding the repository root: %w", err)
			return
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if isMainModule(filepath.Join(dir, "go.mod")) {
				rootDir = dir
				return
			}
			if filepath.Dir(dir) == dir {
				rootErr = fmt.Errorf("no go.mod of module %s above %s (set %s)", mainModule, wd, EnvRoot)
				return
			}
		}
	})
	return rootDir, rootErr
}

func isMainModule(gomod string) bool {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == mainModule
		}
	}
	return false
}

// BinDir returns the repository's bin/ directory, where `make e2e-tools` and `make build` put binaries.
func BinDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// ErrMissingTool is wrapped by the errors about binaries or data files that `make e2e-tools` (or
// `make build`) provides.
var ErrMissingTool = errors.New("missing tool")

// Binary returns the path of bin/NAME, or an error that says how to build it.
func Binary(name string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is not there or not executable: run `make e2e-tools` (control plane) or `make build` (slogate's own binaries)", ErrMissingTool, path)
	}
	return path, nil
}

// dataDir returns bin/NAME, a directory of YAML files copied out of the module cache by `make e2e-tools`.
func dataDir(name string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	files, err := filepath.Glob(filepath.Join(path, "*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("%w: no YAML files in %s: run `make e2e-tools`", ErrMissingTool, path)
	}
	return path, nil
}

// KubectlPath returns the kubectl the harness runs: $KUBECTL, else bin/kubectl (built by `make e2e-tools` when
// the machine has none), else the kubectl on PATH.
func KubectlPath() (string, error) {
	if path := os.Getenv("KUBECTL"); path != "" {
		return path, nil
	}
	if path, err := Binary("kubectl"); err == nil {
		return path, nil
	}
	path, err := exec.LookPath("kubectl")
	if err != nil {
		return "", fmt.Errorf("%w: no kubectl on PATH and no bin/kubectl: run `make e2e-tools`", ErrMissingTool)
	}
	return path, nil
}
