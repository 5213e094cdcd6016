package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procSpec describes one server process the sandbox starts.
type procSpec struct {
	name    string // component name used in messages ("etcd", "registry")
	path    string
	args    []string
	logPath string
	// detach lets the process outlive this one (scripts/sandbox up). Otherwise
	// the kernel kills it when its parent dies, so a killed test leaks nothing.
	detach bool
	// cred runs it as another user (PostgreSQL refuses root); nil: ours.
	cred *syscall.Credential
}

// process is a server process started by the sandbox, or adopted from a
// state file by pid (then cmd is nil).
type process struct {
	name    string
	pid     int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when a started process has exited
	waitErr error
}

// serverNice is the niceness of the sandbox's servers: ahead of the
// tests (0), behind nothing the machine needs.
const serverNice = "-10"

func startProcess(spec procSpec) (*process, error) {
	logFile, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", spec.name, err)
	}
	defer logFile.Close()
	cmd := exec.Command(spec.path, spec.args...)
	if nice, err := exec.LookPath("nice"); err == nil && os.Geteuid() == 0 && spec.cred == nil {
		// The sandbox's servers run ahead of the tests' own load (test
		// binaries compiling and probing on the same cores): a kube-proxy
		// or endpoint controller starved of CPU leaves a deleted pod's
		// endpoint in force for seconds, and a probe's connection then
		// finds its network gone. nice execs the server, so the pid is
		// the server's and every thread it starts inherits the priority.
		cmd = exec.Command(nice, append([]string{"-n", serverNice, spec.path}, spec.args...)...)
	}
	cmd.Env = processEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if spec.detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.SysProcAttr.Credential = spec.cred
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", spec.name, spec.path, err)
	}
	p := &process{name: spec.name, pid: cmd.Process.Pid, logPath: spec.logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the process is gone. For an adopted process it
// looks at /proc, where a zombie counts as gone.
func (p *process) hasExited() bool {
	if p.cmd != nil {
		select {
		case <-p.exited:
			return true
		default:
			return false
		}
	}
	return !pidAlive(p.pid, "")
}

// stop ends the process: SIGTERM, then SIGKILL after grace. PostgreSQL
// gets SIGINT, its fast shutdown: on SIGTERM it would wait for every
// client (a pod's pool) to leave.
func (p *process) stop(grace time.Duration) error {
	if p.hasExited() {
		return nil
	}
	sig := syscall.SIGTERM
	if p.name == "postgres" {
		sig = syscall.SIGINT
	}
	_ = syscall.Kill(p.pid, sig)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if p.hasExited() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if p.hasExited() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("stopping %s (pid %d): still running after SIGKILL", p.name, p.pid)
}

// pidAlive reports whether pid is a live (not zombie) process whose command
// line contains marker (when marker is not empty). The marker guards against
// a recycled pid: every sandbox process has its state directory in its args.
func pidAlive(pid int, marker string) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state letter follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return false
	}
	if marker == "" {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte(marker))
}

// waitReady polls check until it succeeds, the process exits or timeout
// passes. Errors name the component and carry the tail of its log.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p.hasExited() {
			return &ComponentError{Component: p.name, Err: fmt.Errorf("exited before becoming ready (%v)", p.waitErr), LogPath: p.logPath, LogTail: logTail(p.logPath, 20)}
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return &ComponentError{Component: p.name, Err: fmt.Errorf("not ready after %s: %w", timeout, last), LogPath: p.logPath, LogTail: logTail(p.logPath, 20)}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ComponentError says which sandbox component failed, and shows the end of
// its log so the cause is visible without opening files.
type ComponentError struct {
	Component string
	Err       error
	LogPath   string
	LogTail   string
}

func (e *ComponentError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Component, e.Err)
	if e.LogTail != "" {
		msg += fmt.Sprintf("\n--- last lines of %s ---\n%s", e.LogPath, e.LogTail)
	}
	return msg
}

func (e *ComponentError) Unwrap() error { return e.Err }

// logTail returns the last n lines of the file at path, or "" if unreadable.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errAddrInUse matches the messages servers print when their port is taken.
func logSaysAddrInUse(path string) bool {
	return strings.Contains(logTail(path, 50), "address already in use")
}

// ProcessRunning reports whether pid is a live process of the sandbox whose
// state directory is dir.
func ProcessRunning(pid int, dir string) bool { return pidAlive(pid, dir) }
