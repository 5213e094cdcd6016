package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Versions of the control plane the sandbox builds from source. The
// Kubernetes and etcd versions must match scripts/sandbox-build/*/go.mod.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
	KwokVersion       = "v0.8.0"
	GatewayAPIVersion = "v1.6.3"
)

// buildSpec is a set of binaries built together from Go source and cached
// together in one directory.
type buildSpec struct {
	name    string // cache directory prefix: "kube", "etcd", "kwok"
	version string
	// moduleDir is the directory whose go.mod the packages are built in;
	// empty means `go install pkg@version` outside any module.
	moduleDir string
	packages  []string
	binaries  []string
	estimate  string // cold build time, told to the user
	// ldflags are added to the linker flags (-X version stamps); env to the
	// build's environment (CGO_ENABLED=0 for a static binary).
	ldflags []string
	env     []string
}

func controlPlaneBuilds(repoRoot string) []buildSpec {
	const k = "k8s.io/kubernetes/cmd/"
	return []buildSpec{
		{name: "etcd", version: EtcdVersion, moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/etcd"),
			packages: []string{"."}, binaries: []string{"etcd"}, estimate: "about 30 s"},
		{name: "kube", version: KubernetesVersion, moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/kube"),
			packages: []string{k + "kube-apiserver", k + "kube-controller-manager", k + "kube-scheduler"},
			binaries: []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}, estimate: "about 6 min on 2 cores"},
		{name: "kwok", version: KwokVersion, packages: []string{"sigs.k8s.io/kwok/cmd/kwok@" + KwokVersion},
			binaries: []string{"kwok"}, estimate: "about 1 min"},
	}
}

// nodeBuilds are the real node's binaries: kubelet and kube-proxy from the
// control plane's Kubernetes source (stamped with its version, or the node
// reports v0.0.0-master), and the static pause program of its pod sandboxes.
func nodeBuilds(repoRoot string) []buildSpec {
	const k = "k8s.io/kubernetes/cmd/"
	const v = "k8s.io/component-base/version."
	major, minor, _ := strings.Cut(strings.TrimPrefix(KubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return []buildSpec{
		{name: "node", version: KubernetesVersion, moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/node"),
			packages: []string{k + "kubelet", k + "kube-proxy"}, binaries: []string{"kubelet", "kube-proxy"},
			ldflags:  []string{"-X " + v + "gitVersion=" + KubernetesVersion, "-X " + v + "gitMajor=" + major, "-X " + v + "gitMinor=" + minor, "-X " + v + "gitTreeState=clean"},
			estimate: "about 3 min on 2 cores"},
		{name: "pause", version: "v1", moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/pause"),
			packages: []string{"."}, binaries: []string{"pause"}, env: []string{"CGO_ENABLED=0"}, estimate: "a few seconds"},
	}
}

// KubectlPath returns kubectl from PATH, or else builds it (once, cached
// like the control plane; about 2 min the first time) and returns its path.
func KubectlPath(ctx context.Context, cacheDir, repoRoot string, progress io.Writer) (string, error) {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p, nil
	}
	b := buildSpec{name: "kubectl", version: KubernetesVersion, moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/kubectl"),
		packages: []string{"k8s.io/kubernetes/cmd/kubectl"}, binaries: []string{"kubectl"}, estimate: "about 2 min"}
	dir, err := ensureBuilt(ctx, cacheDir, b, progress)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubectl"), nil
}

// stamp is written last into a cache directory; a directory without a stamp
// matching its files is half-written (a killed build) and is rebuilt.
type stamp struct {
	Version string           `json:"version"`
	Sizes   map[string]int64 `json:"sizes"`
	Built   time.Time        `json:"built"`
}

const stampFile = "COMPLETE.json"

// key names the cache directory: version plus a hash of what determines the
// build (go.mod and go.sum of the build module, packages, flags).
func (b buildSpec) key() (string, error) {
	h := sha256.New()
	// Specs without an environment of their own hash as they always did, so
	// existing caches stay valid.
	if len(b.env) == 0 {
		fmt.Fprintln(h, b.version, strings.Join(b.packages, " "), strings.Join(b.flags(), " "))
	} else {
		fmt.Fprintln(h, b.version, strings.Join(b.packages, " "), strings.Join(b.flags(), " "), strings.Join(b.env, " "))
	}
	if b.moduleDir != "" {
		for _, f := range []string{"go.mod", "go.sum"} {
			data, err := os.ReadFile(filepath.Join(b.moduleDir, f))
			if err != nil && !(f == "go.sum" && os.IsNotExist(err)) {
				return "", fmt.Errorf("reading build module of %s: %w", b.name, err)
			}
			h.Write(data)
		}
	}
	return fmt.Sprintf("%s-%s-%s", b.name, b.version, hex.EncodeToString(h.Sum(nil))[:10]), nil
}

var buildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// flags are buildFlags with b's own linker flags added.
func (b buildSpec) flags() []string {
	if len(b.ldflags) == 0 {
		return buildFlags
	}
	return []string{"-trimpath", "-ldflags=-s -w " + strings.Join(b.ldflags, " ")}
}

// checkComplete returns nil if dir holds every binary with the stamp's size.
func (b buildSpec) checkComplete(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, stampFile))
	if err != nil {
		return fmt.Errorf("no completeness stamp: %w", err)
	}
	var s stamp
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("reading completeness stamp: %w", err)
	}
	for _, bin := range b.binaries {
		fi, err := os.Stat(filepath.Join(dir, bin))
		if err != nil {
			return err
		}
		if want, ok := s.Sizes[bin]; !ok || fi.Size() != want {
			return fmt.Errorf("%s is %d bytes, the stamp says %d", bin, fi.Size(), want)
		}
	}
	return nil
}

// ensureBuilt returns the cache directory holding b's binaries, building
// them first if missing or half-written. Builds are serialised by a lock on
// cacheRoot, written to a temporary directory, stamped, then renamed into
// place, so a killed build never leaves a directory that looks complete.
func ensureBuilt(ctx context.Context, cacheRoot string, b buildSpec, progress io.Writer) (string, error) {
	key, err := b.key()
	if err != nil {
		return "", err
	}
	final := filepath.Join(cacheRoot, key)
	if b.checkComplete(final) == nil {
		return final, nil
	}
	if err := os.MkdirAll(cacheRoot, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheRoot, "."+key+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	if b.checkComplete(final) == nil {
		return final, nil
	}
	if _, statErr := os.Stat(final); statErr == nil {
		fmt.Fprintf(progress, "sandbox: cached %s is incomplete (%v); rebuilding it\n", key, b.checkComplete(final))
		if err := os.RemoveAll(final); err != nil {
			return "", err
		}
	}
	removeStaleTemps(cacheRoot)
	tmp := filepath.Join(cacheRoot, fmt.Sprintf(".%s.tmp-%d", key, os.Getpid()))
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(progress, "sandbox: building %s %s from source (%s the first time; cached in %s)\n", strings.Join(b.binaries, ", "), b.version, b.estimate, cacheRoot)
	logPath := filepath.Join(cacheRoot, key+".build.log")
	if err := b.build(ctx, tmp, logPath); err != nil {
		return "", err
	}
	s := stamp{Version: b.version, Sizes: map[string]int64{}, Built: time.Now().UTC()}
	for _, bin := range b.binaries {
		fi, err := os.Stat(filepath.Join(tmp, bin))
		if err != nil {
			return "", fmt.Errorf("building %s: %s was not produced: %w", b.name, bin, err)
		}
		s.Sizes[bin] = fi.Size()
	}
	data, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(tmp, stampFile), data, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("moving built %s into the cache: %w", b.name, err)
	}
	return final, nil
}

func (b buildSpec) build(ctx context.Context, outDir, logPath string) error {
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(ctx, 40*time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if b.moduleDir == "" {
		cmd = exec.CommandContext(ctx, "go", append(append([]string{"install"}, b.flags()...), b.packages...)...)
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), "GOBIN="+outDir, "GO111MODULE=on", "GOFLAGS=-buildvcs=false")
	} else {
		out := outDir + string(filepath.Separator)
		if len(b.binaries) == 1 {
			out = filepath.Join(outDir, b.binaries[0])
		}
		cmd = exec.CommandContext(ctx, "go", append(append([]string{"build"}, b.flags()...), append([]string{"-o", out}, b.packages...)...)...)
		cmd.Dir = b.moduleDir
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	}
	cmd.Env = append(cmd.Env, b.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("gave up: %w (a cold build takes %s; the machine may be busy)", ctx.Err(), b.estimate)
		}
		return &ComponentError{Component: "building " + b.name, Err: err, LogPath: logPath, LogTail: logTail(logPath, 20)}
	}
	return nil
}

// ensureAllBuilt runs ensureBuilt for every spec at once (the downloads of
// one overlap the compiling of another) and returns each binary's path.
func ensureAllBuilt(ctx context.Context, cacheRoot string, specs []buildSpec, progress io.Writer) (map[string]string, error) {
	dirs := make([]string, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, b := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = ensureBuilt(ctx, cacheRoot, b, progress)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for i, b := range specs {
		for _, name := range b.binaries {
			bins[name] = filepath.Join(dirs[i], name)
		}
	}
	return bins, nil
}

// removeStaleTemps deletes temporary build directories whose builder died.
func removeStaleTemps(cacheRoot string) {
	entries, _ := os.ReadDir(cacheRoot)
	for _, e := range entries {
		i := strings.LastIndex(e.Name(), ".tmp-")
		if !strings.HasPrefix(e.Name(), ".") || i < 0 {
			continue
		}
		if pid, err := strconv.Atoi(e.Name()[i+len(".tmp-"):]); err == nil && !pidAlive(pid, "") {
			os.RemoveAll(filepath.Join(cacheRoot, e.Name()))
		}
	}
}

// lockFile takes an exclusive flock on path, waiting until ctx is done.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s (held by another sandbox command): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// DefaultCacheDir is where built control-plane binaries are kept:
// $XDG_CACHE_HOME or ~/.cache, then deploy-actions/sandbox.
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "deploy-actions", "sandbox"), nil
}
