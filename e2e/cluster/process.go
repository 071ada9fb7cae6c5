package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// ProcessSpec describes a process the cluster starts and owns.
type ProcessSpec struct {
	// Name names the process in errors and its log file, <Logs()>/<Name>.log. Must be unique in a cluster;
	// a second process with the same name gets a numbered log file.
	Name string
	// Path is the executable.
	Path string
	// Args are the arguments after the executable.
	Args []string
	// Env is added to the test binary's environment.
	Env []string
	// Dir is the working directory; empty means the cluster's run directory.
	Dir string
}

// Process is a child process started by a Cluster. Its stdout and stderr go to one log file. It runs in its
// own process group and gets SIGKILL when the process that started it dies, however it dies.
type Process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
}

// Name returns the name given in the ProcessSpec.
func (p *Process) Name() string { return p.name }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath returns the file that holds the process's stdout and stderr.
func (p *Process) LogPath() string { return p.logPath }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and with what error (nil for exit status 0).
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Kill sends SIGKILL to the process group and waits for the process to exit: a crash, as far as the
// process is concerned.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM to the process group, waits up to grace for the process to exit and then kills it.
// It returns once the process has exited. Stop may be called more than once.
func (p *Process) Stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	})
	<-p.done
}

func (p *Process) signal(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	// The negative pid addresses the process group (Setpgid below makes the group id the pid), so whatever
	// the process itself started goes too.
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Tail returns about the last n bytes of the process's log, starting at a line boundary.
func (p *Process) Tail(n int64) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	start := max(info.Size()-n, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, start, info.Size()-start))
	if err != nil {
		return fmt.Sprintf("(reading log: %v)", err)
	}
	if start > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// startProcess starts spec with its output in a log file under logDir.
func startProcess(spec ProcessSpec, logDir, defaultDir string) (*Process, error) {
	logPath := filepath.Join(logDir, spec.Name+".log")
	for i := 2; fileExists(logPath); i++ {
		logPath = filepath.Join(logDir, fmt.Sprintf("%s-%d.log", spec.Name, i))
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor

	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = defaultDir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C in the terminal reaches the test binary, which stops the cluster in
		// order, rather than every component at once; and Stop can signal the whole group.
		Setpgid: true,
		// The kernel sends SIGKILL when the thread that forked the child exits. startLocked forks from a
		// thread that never exits while the process lives, so this fires exactly when the test binary (or
		// the demo) dies, also by SIGKILL or a panic, where no deferred cleanup runs.
		Pdeathsig: syscall.SIGKILL,
	}
	fmt.Fprintf(logFile, "# %s %q\n", spec.Path, spec.Args)
	if err := startLocked(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	p := &Process{name: spec.Name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// The spawner goroutine is locked to its OS thread for the life of the process and does nothing but fork.
// Pdeathsig is tied to the forking thread, not the process: a child forked from an ordinary goroutine's
// thread would be killed whenever the Go runtime happens to retire that thread (it does so when a goroutine
// that locked it exits). A thread that never exits makes the signal mean "the parent process died".
type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

var (
	spawnOnce sync.Once
	spawnc    chan spawnRequest
)

func startLocked(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnc = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the goroutine and its thread live until the process ends
			for req := range spawnc {
				req.errc <- req.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnc <- spawnRequest{cmd: cmd, errc: errc}
	if err := <-errc; err != nil {
		return err
	}
	if cmd.Process == nil {
		return errors.New("process did not start")
	}
	return nil
}
