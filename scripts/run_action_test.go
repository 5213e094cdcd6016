// Package scripts holds the tests of the shell entry points that users'
// workflows run: scripts/run-action, behind every composite action.
package scripts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// release serves /<repo>/releases/download/<tag>/... as GitHub does, with
// one archive holding a build-push that prints its inputs, and a
// checksums.txt that is right or wrong.
func release(t *testing.T, rightChecksum bool) *httptest.Server {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	script := "#!/bin/sh\necho \"released build-push ran with image=$INPUT_IMAGE\"\n"
	for _, name := range []string{"build-push", "rollback"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(script))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(script)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()
	sum := sha256.Sum256(archive)
	if !rightChecksum {
		sum[0] ^= 0xff
	}
	asset := "deploy-actions_linux_amd64.tar.gz"
	checksums := fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), asset)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fxplatform/deploy-actions/releases/download/v9.9.9/checksums.txt":
			fmt.Fprint(w, checksums)
		case "/fxplatform/deploy-actions/releases/download/v9.9.9/" + asset:
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runAction runs scripts/run-action as a composite step would, with env
// added to a clean environment; it returns the combined output and error.
func runAction(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "run-action")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOCACHE=" + goEnv(t, "GOCACHE"),
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOFLAGS=-buildvcs=false", "GOPROXY=" + goEnv(t, "GOPROXY")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestReleaseChecksum(t *testing.T) {
	if out, _ := exec.Command("uname", "-m").Output(); strings.TrimSpace(string(out)) != "x86_64" {
		t.Fatalf("this test serves a linux/amd64 release asset; machine is %s", out)
	}
	tests := []struct {
		name    string
		right   bool
		wantErr bool
		want    string
	}{
		{name: "verified archive runs", right: true, want: "released build-push ran with image=ghcr.io/acme/app"},
		{name: "mismatch stops the step", right: false, wantErr: true, want: "::error title=deploy-actions::checksum mismatch for deploy-actions_linux_amd64.tar.gz of release v9.9.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := release(t, tc.right)
			cache := t.TempDir()
			out, err := runAction(t, map[string]string{
				"DEPLOY_ACTIONS_BINARY": "build-push", "DEPLOY_ACTIONS_REF": "v9.9.9", "DEPLOY_ACTIONS_REPOSITORY": "fxplatform/deploy-actions",
				"GITHUB_SERVER_URL": srv.URL, "RUNNER_TOOL_CACHE": cache, "INPUT_IMAGE": "ghcr.io/acme/app",
			})
			if (err != nil) != tc.wantErr || !strings.Contains(out, tc.want) {
				t.Fatalf("err %v, output:\n%s\nwant %q", err, out, tc.want)
			}
			if tc.wantErr {
				// Nothing from the rejected archive is left to run later.
				if found, _ := filepath.Glob(filepath.Join(cache, "deploy-actions", "release", "*", "*", "build-push")); len(found) > 0 {
					t.Errorf("rejected binary kept in the tool cache: %v", found)
				}
			}
		})
	}
}

// TestInputsStayData builds build-push from source (no release for a
// branch ref) and gives it inputs a shell would run: they reach the binary
// as data, create nothing, and leave $GITHUB_OUTPUT unwritten.
func TestInputsStayData(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	output := filepath.Join(dir, "output")
	out, err := runAction(t, map[string]string{
		"DEPLOY_ACTIONS_BINARY": "build-push", "DEPLOY_ACTIONS_REF": "main", "RUNNER_TOOL_CACHE": filepath.Join(dir, "cache"),
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": output,
		"INPUT_IMAGE":   "$(touch " + pwned + ")",
		"INPUT_TAGS":    "\"; touch " + pwned + " #\nv1",
		"INPUT_CONTEXT": "`touch " + pwned + "`",
	})
	if err == nil {
		t.Fatalf("build-push accepted the inputs:\n%s", out)
	}
	if _, statErr := os.Stat(pwned); statErr == nil {
		t.Fatalf("an input was run by a shell: %s exists", pwned)
	}
	if !strings.Contains(out, `::error title=invalid input::input "image": "$(touch `) {
		t.Errorf("the image input did not reach the binary as data:\n%s", out)
	}
	if b, _ := os.ReadFile(output); len(b) != 0 {
		t.Errorf("GITHUB_OUTPUT written: %q", b)
	}
}

// TestReleaseBinariesServeRunAction: what scripts/release-binaries makes is
// what run-action downloads, checks and runs. A release of build-push for
// this machine is served as GitHub serves release assets; the real binary
// runs from it (it refuses the missing image input with its own ::error),
// and a second run finds it in the tool cache with the server gone.
func TestReleaseBinariesServeRunAction(t *testing.T) {
	goos, goarch := goEnv(t, "GOOS"), goEnv(t, "GOARCH")
	dist := t.TempDir()
	build := exec.Command("bash", "release-binaries", dist, goos+"/"+goarch)
	build.Env = append(os.Environ(), "RELEASE_BINARIES=build-push")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("release-binaries: %v\n%s", err, out)
	}
	srv := httptest.NewServer(http.StripPrefix("/fxplatform/deploy-actions/releases/download/v9.9.9/", http.FileServer(http.Dir(dist))))
	cache := t.TempDir()
	env := map[string]string{
		"DEPLOY_ACTIONS_BINARY": "build-push", "DEPLOY_ACTIONS_REF": "v9.9.9", "DEPLOY_ACTIONS_REPOSITORY": "fxplatform/deploy-actions",
		"GITHUB_SERVER_URL": srv.URL, "RUNNER_TOOL_CACHE": cache, "GITHUB_ACTIONS": "true",
	}
	want := `::error title=invalid input::input "image": is required`
	for _, round := range []string{"from the release", "from the tool cache"} {
		out, err := runAction(t, env)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("%s: err %v, output:\n%s\nwant %q", round, err, out, want)
		}
		if _, err := os.Stat(filepath.Join(cache, "deploy-actions", "source")); err == nil {
			t.Fatalf("%s: built from source instead of running the release", round)
		}
		srv.Close()
	}
	if _, err := os.Stat(filepath.Join(cache, "deploy-actions", "release", "v9.9.9", goos+"-"+goarch, "build-push")); err != nil {
		t.Errorf("the release binary is not in the tool cache: %v", err)
	}
}

// TestSetupPutsBinariesOnPath: the root action (DEPLOY_ACTIONS_BINARY=setup)
// unpacks the verified release and adds its directory to $GITHUB_PATH, where
// a later run: step finds the binaries; it runs none of them.
func TestSetupPutsBinariesOnPath(t *testing.T) {
	if out, _ := exec.Command("uname", "-m").Output(); strings.TrimSpace(string(out)) != "x86_64" {
		t.Fatalf("this test serves a linux/amd64 release asset; machine is %s", out)
	}
	srv := release(t, true)
	dir := t.TempDir()
	path := filepath.Join(dir, "github_path")
	out, err := runAction(t, map[string]string{
		"DEPLOY_ACTIONS_BINARY": "setup", "DEPLOY_ACTIONS_REF": "v9.9.9", "DEPLOY_ACTIONS_REPOSITORY": "fxplatform/deploy-actions",
		"GITHUB_SERVER_URL": srv.URL, "RUNNER_TOOL_CACHE": filepath.Join(dir, "cache"), "GITHUB_PATH": path,
	})
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	if strings.Contains(out, "released build-push ran") {
		t.Errorf("setup ran a binary:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimSpace(string(b))
	for _, name := range []string{"build-push", "rollback"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Errorf("%s is not in the directory added to PATH (%q): %v", name, bin, err)
		}
	}
}
