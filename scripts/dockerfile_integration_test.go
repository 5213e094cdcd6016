//go:build integration

package scripts

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// binaries are the suite's actions, each one binary in the image.
var binaries = []string{"build-push", "scan", "sign", "deploy", "verify", "promote", "rollback", "control", "monitoring", "migrate"}

// TestDockerfile builds the repository's Dockerfile with buildah, as a
// docker user would build it, and checks the image it makes: every binary
// in /usr/local/bin, the non-root user, and each binary running in the
// image.
//
// The real base images (golang:1.26 and gcr.io/distroless/static-debian12)
// live on registries this machine cannot reach, so the test builds local
// stand-ins and passes them as the Dockerfile's GO_IMAGE and BASE_IMAGE
// build arguments: the Go image is this machine's Go toolchain with a shell,
// the runtime image holds only /etc/passwd, /etc/group and /tmp (no libc, so
// a binary that is not static fails to start). Everything else is the real
// Dockerfile. The host's module and build caches are mounted into the build
// so it neither downloads nor recompiles what the host already has.
//
// buildah keeps all its state (images, containers) under the test's
// temporary directory: the user's own images are never touched.
func TestDockerfile(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah is not installed (scripts/install-deps installs it): %v", err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// The build in the image is offline (GOPROXY=off in the stand-in), so
	// every module it needs must be in the host's module cache first.
	download := exec.Command("go", "mod", "download")
	download.Dir = repo
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	b := newBuildah(t)

	goImage := b.standInGo()
	baseImage := b.standInBase()
	const image = "localhost/deploy-actions:dockerfile-test"
	b.run("bud", "--isolation", "chroot", "--pull=never",
		"--build-arg", "GO_IMAGE="+goImage, "--build-arg", "BASE_IMAGE="+baseImage,
		"-v", goEnv(t, "GOMODCACHE")+":/go/pkg/mod", "-v", goEnv(t, "GOCACHE")+":/root/.cache/go-build",
		"-t", image, "-f", filepath.Join(repo, "Dockerfile"), repo)

	var inspect struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
			}
		}
	}
	if err := json.Unmarshal([]byte(b.run("inspect", "--type", "image", image)), &inspect); err != nil {
		t.Fatal(err)
	}
	if got := inspect.OCIv1.Config.User; got != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532 (distroless nonroot)", got)
	}

	ctr := b.run("from", "--pull-never", image)
	root := b.run("mount", ctr)
	entries, err := os.ReadDir(filepath.Join(root, "usr/local/bin"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := slices.Sorted(slices.Values(binaries)); !slices.Equal(got, want) {
		t.Errorf("/usr/local/bin holds %v, want %v", got, want)
	}
	for _, name := range binaries {
		if out := inImage(t, root, inspect.OCIv1.Config.User, "/usr/local/bin/"+name, "--help"); !strings.HasPrefix(out, "Usage: "+name+" ") {
			t.Errorf("%s --help in the image printed:\n%s", name, out)
		}
	}
	// The image's default command, as `docker run IMAGE` runs it: a bare
	// name, which the distroless PATH finds in /usr/local/bin.
	cmd := inspect.OCIv1.Config.Cmd
	if len(cmd) == 0 || len(inspect.OCIv1.Config.Entrypoint) != 0 || !slices.Contains(binaries, cmd[0]) {
		t.Fatalf("image entrypoint %q, cmd %q: want no entrypoint and a command running one of %v", inspect.OCIv1.Config.Entrypoint, cmd, binaries)
	}
	if out := inImage(t, root, inspect.OCIv1.Config.User, append([]string{"/usr/local/bin/" + cmd[0]}, cmd[1:]...)...); !strings.HasPrefix(out, "Usage: ") {
		t.Errorf("default command %q printed:\n%s", cmd, out)
	}
}

// inImage runs a program of the image's root file system as the image's
// user ("uid:gid"), chrooted into it with an empty environment: what a
// container runtime does, less the namespaces. It returns the standard
// output and fails the test if the program fails.
func inImage(t *testing.T, root, user string, args ...string) string {
	t.Helper()
	var uid, gid uint32
	if _, err := fmt.Sscanf(user, "%d:%d", &uid, &gid); err != nil {
		t.Fatalf("image user %q: %v", user, err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Path = args[0] // a path in the image, not looked up on the host
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s in the image: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// buildah runs buildah with its storage in a directory of its own.
type buildah struct {
	t   *testing.T
	dir string
}

func newBuildah(t *testing.T) *buildah {
	// Not t.TempDir: the directory is removed only once nothing is mounted
	// under it (a failed build could leave the host's Go caches bind-mounted
	// there, and removing through them would empty them).
	dir, err := os.MkdirTemp("", "dockerfile-test-")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"root", "runroot", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	b := &buildah{t: t, dir: dir}
	t.Cleanup(func() {
		exec.Command("buildah", b.args("rm", "--all")...).Run()
		for _, m := range mountsUnder(t, dir) {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", m, err)
			}
		}
		if left := mountsUnder(t, dir); len(left) > 0 {
			t.Errorf("%s left in place: still mounted under it: %v", dir, left)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing buildah's storage: %v", err)
		}
	})
	return b
}

func (b *buildah) args(args ...string) []string {
	return append([]string{"--root", filepath.Join(b.dir, "root"), "--runroot", filepath.Join(b.dir, "runroot"), "--storage-driver", "vfs"}, args...)
}

// run runs buildah with args and returns its standard output, trimmed; it
// fails the test on an error.
func (b *buildah) run(args ...string) string {
	b.t.Helper()
	cmd := exec.Command("buildah", b.args(args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(b.dir, "tmp"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("buildah %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// standInGo builds the stand-in for golang:1.26: this machine's Go
// toolchain at /usr/local/go, /bin/sh (dash and the libraries it loads, for
// the Dockerfile's RUN lines), CA certificates, /tmp, root's /etc/passwd, and
// the environment the golang image sets. GOPROXY=off: the build may use only
// the mounted module cache, never the network.
func (b *buildah) standInGo() string {
	t := b.t
	t.Helper()
	fs := filepath.Join(b.dir, "go-fs")
	copyFile(t, "/bin/sh", filepath.Join(fs, "bin/sh"))
	ldd, err := exec.Command("ldd", "/bin/sh").Output()
	if err != nil {
		t.Fatalf("ldd /bin/sh: %v", err)
	}
	for _, lib := range regexp.MustCompile(`(?m)(/\S+) \(0x`).FindAllStringSubmatch(string(ldd), -1) {
		copyFile(t, lib[1], filepath.Join(fs, lib[1]))
	}
	copyFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(fs, "etc/ssl/certs/ca-certificates.crt"))
	writeFile(t, filepath.Join(fs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	writeFile(t, filepath.Join(fs, "etc/group"), "root:x:0:\n")
	for _, d := range []string{"tmp", "root", "go/pkg/mod"} {
		if err := os.MkdirAll(filepath.Join(fs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(fs, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}

	ctr := b.run("from", "scratch")
	b.run("copy", ctr, "/usr/local/go", "/usr/local/go")
	b.run("copy", ctr, fs, "/")
	b.run("config",
		"--env", "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--env", "GOPATH=/go", "--env", "HOME=/root", "--env", "GOTOOLCHAIN=local",
		"--env", "GOPROXY=off",
		"--workingdir", "/go", ctr)
	const name = "localhost/stand-in/golang:1.26"
	b.run("commit", "--quiet", "--disable-compression", "--rm", ctr, name)
	return name
}

// standInBase builds the stand-in for distroless/static-debian12:nonroot:
// its users and /tmp, and nothing to run but what the Dockerfile adds.
func (b *buildah) standInBase() string {
	t := b.t
	t.Helper()
	fs := filepath.Join(b.dir, "base-fs")
	writeFile(t, filepath.Join(fs, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
	writeFile(t, filepath.Join(fs, "etc/group"), "root:x:0:\nnonroot:x:65532:\n")
	for _, d := range []string{"tmp", "home/nonroot"} {
		if err := os.MkdirAll(filepath.Join(fs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctr := b.run("from", "scratch")
	b.run("copy", ctr, fs, "/")
	const name = "localhost/stand-in/distroless-static:nonroot"
	b.run("commit", "--quiet", "--disable-compression", "--rm", ctr, name)
	return name
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src) // follows symbolic links
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("reading mounts: %v", err)
		return nil
	}
	defer f.Close()
	var found []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			found = append([]string{fields[4]}, found...)
		}
	}
	return found
}
