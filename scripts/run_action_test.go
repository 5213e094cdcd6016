// Package scripts holds the tests of the shell entry points that users'
// workflows run: scripts/run-action, behind every composite action.
package scripts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// releaseFiles are the assets of a fake release: the archive, checksums.txt
// and its Sigstore bundle.
type releaseFiles struct {
	archive, checksums, bundle []byte
}

// the binaries of a fake release: each a script that says which it is.
var releaseNames = []string{"build-push", "scan", "sign", "deploy", "verify", "promote", "rollback", "control", "monitoring", "migrate"}

func binaryScript(name string) []byte {
	return []byte("#!/bin/sh\necho \"released " + name + " ran with image=$INPUT_IMAGE\"\n")
}

// release serves v9.9.9 of fxplatform/deploy-actions as GitHub serves
// release assets: an archive of the nine binaries for linux/amd64,
// checksums.txt with the archive's and each binary's SHA-256, and the
// bundle of checksums.txt signed keyless by signer (given the server's URL;
// nil: the repository's release workflow at v9.9.9), through Sigstore
// stand-ins. change, if not nil, alters the files after signing. It
// returns the server and the trusted root of the stand-ins, as a file.
func release(t *testing.T, signer func(server string) string, change func(*releaseFiles)) (*httptest.Server, string) {
	t.Helper()
	const asset = "deploy-actions_linux_amd64.tar.gz"
	files := &releaseFiles{}
	files.archive, files.checksums = archive(t, binaryScript)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/fxplatform/deploy-actions/releases/download/v9.9.9/checksums.txt":
			w.Write(files.checksums)
		case "/fxplatform/deploy-actions/releases/download/v9.9.9/checksums.txt.sigstore.json":
			if files.bundle == nil {
				http.NotFound(w, r)
				return
			}
			w.Write(files.bundle)
		case "/fxplatform/deploy-actions/releases/download/v9.9.9/" + asset:
			w.Write(files.archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	id := releaseIdentity(srv.URL)
	if signer != nil {
		id = signer(srv.URL)
	}
	mu.Lock()
	defer mu.Unlock()
	path := filepath.Join(t.TempDir(), "checksums.txt")
	if err := os.WriteFile(path, files.checksums, 0o644); err != nil {
		t.Fatal(err)
	}
	var root string
	files.bundle, root = signRelease(t, path, id)
	if change != nil {
		change(files)
	}
	return srv, root
}

// archive makes the linux/amd64 archive of the nine binaries, each with
// the content script gives it, and the checksums.txt that lists it and them.
func archive(t *testing.T, script func(name string) []byte) (archive, checksums []byte) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var sums strings.Builder
	for _, name := range releaseNames {
		b := script(name)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%s  deploy-actions_linux_amd64/%s\n", sha(b), name)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), []byte(sha(buf.Bytes()) + "  deploy-actions_linux_amd64.tar.gz\n" + sums.String())
}

// releaseIdentity is the certificate identity of this repository's release
// workflow at v9.9.9, on a GitHub at server.
func releaseIdentity(server string) string {
	return server + "/fxplatform/deploy-actions/.github/workflows/release.yml@refs/tags/v9.9.9"
}

// signRelease signs checksums.txt at path keyless as identity, through
// Sigstore stand-ins; it returns the bundle and the stand-ins' trusted root
// written to a file, for DEPLOY_ACTIONS_TRUSTED_ROOT.
func signRelease(t *testing.T, path, identity string) ([]byte, string) {
	t.Helper()
	ctx := context.Background()
	ss := sigstoretest.Start(t, identity)
	signer, err := sign.Keyless(ctx, ss.FulcioURL, ss.Token())
	if err != nil {
		t.Fatal(err)
	}
	res, err := sign.SignBlob(ctx, path, signer, sign.Options{Log: &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, ss.TrustedRootJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return res.Bundle, root
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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

// releaseEnv is the environment of a step that runs build-push from
// release v9.9.9 on srv, trusting the stand-ins' trusted root.
func releaseEnv(srv *httptest.Server, root, cache string) map[string]string {
	return map[string]string{
		"DEPLOY_ACTIONS_BINARY": "build-push", "DEPLOY_ACTIONS_REF": "v9.9.9", "DEPLOY_ACTIONS_REPOSITORY": "fxplatform/deploy-actions",
		"GITHUB_SERVER_URL": srv.URL, "RUNNER_TOOL_CACHE": cache, "INPUT_IMAGE": "ghcr.io/acme/app",
		"DEPLOY_ACTIONS_TRUSTED_ROOT": root,
	}
}

func requireAMD64(t *testing.T) {
	t.Helper()
	if out, _ := exec.Command("uname", "-m").Output(); strings.TrimSpace(string(out)) != "x86_64" {
		t.Fatalf("this test serves a linux/amd64 release asset; machine is %s", out)
	}
}

// TestReleaseVerification: a release runs only when its checksums.txt is
// signed by this repository's release workflow at the tag and the archive
// matches it. Every refusal is one ::error, runs nothing and leaves
// nothing in the tool cache.
func TestReleaseVerification(t *testing.T) {
	requireAMD64(t)
	evil := func(name string) []byte { return []byte("#!/bin/sh\necho \"evil " + name + " ran\"\n") }
	tests := []struct {
		name   string
		signer func(server string) string
		change func(t *testing.T, f *releaseFiles)
		want   string
	}{
		{name: "a signed release runs", want: "released build-push ran with image=ghcr.io/acme/app"},
		{
			name:   "an archive that does not match checksums.txt is refused",
			change: func(_ *testing.T, f *releaseFiles) { f.archive = append(f.archive, 0) },
			want:   "::error title=deploy-actions::checksum mismatch for deploy-actions_linux_amd64.tar.gz of release v9.9.9",
		},
		{
			name:   "a tampered release with a matching checksums.txt is refused",
			change: func(t *testing.T, f *releaseFiles) { f.archive, f.checksums = archive(t, evil) },
			want:   "::error title=deploy-actions::checksums.txt of release v9.9.9 is not signed by ",
		},
		{
			name: "a release signed by another repository's workflow is refused",
			signer: func(server string) string {
				return server + "/evil/deploy-actions/.github/workflows/release.yml@refs/tags/v9.9.9"
			},
			want: "::error title=deploy-actions::checksums.txt of release v9.9.9 is not signed by ",
		},
		{
			name:   "a release signed at another tag is refused",
			signer: func(server string) string { return strings.Replace(releaseIdentity(server), "v9.9.9", "v9.9.8", 1) },
			want:   "::error title=deploy-actions::checksums.txt of release v9.9.9 is not signed by ",
		},
		{
			name:   "a release without a bundle is refused",
			change: func(_ *testing.T, f *releaseFiles) { f.bundle = nil },
			want:   "::error title=deploy-actions::release v9.9.9 has no checksums.txt.sigstore.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var change func(*releaseFiles)
			if tc.change != nil {
				change = func(f *releaseFiles) { tc.change(t, f) }
			}
			srv, root := release(t, tc.signer, change)
			cache := t.TempDir()
			out, err := runAction(t, releaseEnv(srv, root, cache))
			refused := !strings.Contains(tc.want, " ran ")
			if (err != nil) != refused || !strings.Contains(out, tc.want) {
				t.Fatalf("err %v, output:\n%s\nwant %q", err, out, tc.want)
			}
			if !refused {
				return
			}
			if strings.Contains(out, " ran") || strings.Count(out, "::error") != 1 {
				t.Errorf("want one ::error and nothing run:\n%s", out)
			}
			// Nothing from the rejected release is left to run later.
			if found, _ := filepath.Glob(filepath.Join(cache, "deploy-actions", "release", "*", "*", "build-push")); len(found) > 0 {
				t.Errorf("rejected binary kept in the tool cache: %v", found)
			}
		})
	}
}

// TestCachedBinaryIsCheckedBeforeEachRun: a binary planted in the tool
// cache (a self-hosted runner's cache outlives the job) never runs; nor
// does one with checksums.txt rewritten to match it. An intact cache runs
// with the release server gone.
func TestCachedBinaryIsCheckedBeforeEachRun(t *testing.T) {
	requireAMD64(t)
	srv, root := release(t, nil, nil)
	cache := t.TempDir()
	env := releaseEnv(srv, root, cache)
	if out, err := runAction(t, env); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	srv.Close()
	dir := filepath.Join(cache, "deploy-actions", "release", "v9.9.9", "linux-amd64")
	if out, err := runAction(t, env); err != nil || !strings.Contains(out, "released build-push ran") {
		t.Fatalf("from the tool cache: %v\n%s", err, out)
	}
	planted := []byte("#!/bin/sh\necho planted build-push ran\n")
	sums, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// In a job, the signature is verified once: the step that verified it
	// says so to the job's later steps through $GITHUB_ENV, which only
	// this job writes (as the runner does, the test passes it on). The
	// binary's SHA-256 is still checked on every run.
	job := maps.Clone(env)
	job["RUNNER_TEMP"] = t.TempDir()
	job["GITHUB_ENV"] = filepath.Join(t.TempDir(), "github_env")
	if out, err := runAction(t, job); err != nil || !strings.Contains(out, "released build-push ran") {
		t.Fatalf("in a job: %v\n%s", err, out)
	}
	b, err := os.ReadFile(job["GITHUB_ENV"])
	verified, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "DEPLOY_ACTIONS_VERIFIED=")
	if err != nil || !ok || len(verified) != 32 {
		t.Fatalf("GITHUB_ENV after the first step: %q, %v; want DEPLOY_ACTIONS_VERIFIED=<key>", b, err)
	}
	job["DEPLOY_ACTIONS_VERIFIED"] = verified
	// The next step finds the key and does not verify again: a verifier
	// that fails proves it.
	failing := t.TempDir()
	if err := os.WriteFile(filepath.Join(failing, "cosign"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	job["PATH"] = failing + ":" + os.Getenv("PATH")
	if out, err := runAction(t, job); err != nil || !strings.Contains(out, "released build-push ran") {
		t.Fatalf("a later step of the job: %v\n%s", err, out)
	}
	delete(job, "PATH")
	// A link in the cache, even to the genuine bytes, is refused: what it
	// leads to can change after the check.
	genuine := filepath.Join(t.TempDir(), "build-push")
	if err := os.WriteFile(genuine, binaryScript("build-push"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "build-push")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(genuine, filepath.Join(dir, "build-push")); err != nil {
		t.Fatal(err)
	}
	if out, err := runAction(t, env); err == nil || !strings.Contains(out, "build-push of release v9.9.9 in the tool cache is not a regular file") {
		t.Fatalf("a link in the cache: err %v, output:\n%s", err, out)
	}
	os.Remove(filepath.Join(dir, "build-push"))
	for _, tc := range []struct {
		name string
		sums []byte
		want string
	}{
		{"a planted binary", sums, "::error title=deploy-actions::build-push of release v9.9.9 in the tool cache is not the binary the release signed"},
		{"a planted binary with checksums.txt to match", []byte(strings.Replace(string(sums), sha(binaryScript("build-push")), sha(planted), 1)),
			"::error title=deploy-actions::checksums.txt of release v9.9.9 is not signed by "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "build-push"), planted, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), tc.sums, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, e := range []map[string]string{env, job} {
				out, err := runAction(t, e)
				if err == nil || !strings.Contains(out, tc.want) || strings.Contains(out, "planted build-push ran") {
					t.Fatalf("RUNNER_TEMP=%q: err %v, output:\n%s\nwant %q and nothing run", e["RUNNER_TEMP"], err, out, tc.want)
				}
			}
		})
	}
}

// TestCacheSwappedDuringVerification: files swapped into the tool cache
// while checksums.txt is being verified (a forged checksums.txt and a
// planted binary that match each other) are not what runs: run-action
// verifies, hashes and runs copies it made first. A cosign on PATH that
// swaps the files, then verifies with the real verifier, makes the race
// certain.
func TestCacheSwappedDuringVerification(t *testing.T) {
	requireAMD64(t)
	srv, root := release(t, nil, nil)
	cache := t.TempDir()
	env := releaseEnv(srv, root, cache)
	if out, err := runAction(t, env); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	dir := filepath.Join(cache, "deploy-actions", "release", "v9.9.9", "linux-amd64")
	planted := []byte("#!/bin/sh\necho planted build-push ran\n")
	sums, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(sums), sha(binaryScript("build-push")), sha(planted), 1)
	bin := t.TempDir()
	for name, content := range map[string]string{"planted": string(planted), "forged": forged} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wd, _ := os.Getwd()
	cosign := fmt.Sprintf(`#!/bin/sh
# swaps the cache's files, then verifies as the real verifier would
cp %[1]q/planted %[2]q/build-push.new && chmod +x %[2]q/build-push.new && mv -f %[2]q/build-push.new %[2]q/build-push
cp %[1]q/forged %[2]q/checksums.txt.new && mv -f %[2]q/checksums.txt.new %[2]q/checksums.txt
[ "$1" = verify-blob ] && shift
[ "$1" = --new-bundle-format ] && shift
cd %[3]q/.. && exec go run ./cmd/internal/verify-blob "$@"
`, bin, dir, wd)
	if err := os.WriteFile(filepath.Join(bin, "cosign"), []byte(cosign), 0o755); err != nil {
		t.Fatal(err)
	}
	env["PATH"] = bin + ":" + os.Getenv("PATH")
	out, err := runAction(t, env)
	if err != nil || !strings.Contains(out, "released build-push ran") || strings.Contains(out, "planted") {
		t.Fatalf("err %v, output:\n%s\nwant the released binary to run, not the planted one", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "build-push")); string(b) != string(planted) {
		t.Fatal("the swap did not happen: the test proves nothing")
	}
	// The next run finds the planted binary and refuses it.
	delete(env, "PATH")
	if out, err := runAction(t, env); err == nil || strings.Contains(out, "planted build-push ran") {
		t.Fatalf("after the swap: err %v, output:\n%s", err, out)
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
	bundle, root := signRelease(t, filepath.Join(dist, "checksums.txt"), releaseIdentity(srv.URL))
	if err := os.WriteFile(filepath.Join(dist, "checksums.txt.sigstore.json"), bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	env := releaseEnv(srv, root, cache)
	env["GITHUB_ACTIONS"] = "true"
	delete(env, "INPUT_IMAGE")
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
	requireAMD64(t)
	srv, root := release(t, nil, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "github_path")
	env := releaseEnv(srv, root, filepath.Join(dir, "cache"))
	env["DEPLOY_ACTIONS_BINARY"], env["GITHUB_PATH"] = "setup", path
	out, err := runAction(t, env)
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	if strings.Contains(out, " ran ") {
		t.Errorf("setup ran a binary:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimSpace(string(b))
	if strings.HasPrefix(bin, filepath.Join(dir, "cache")) {
		t.Errorf("setup put the tool cache on PATH (%s): later steps would run whatever is in it, unchecked", bin)
	}
	// The directory holds copies: a write into the cache's file, in place,
	// does not reach what later steps run.
	cached := filepath.Join(dir, "cache", "deploy-actions", "release", "v9.9.9", "linux-amd64", "rollback")
	f, err := os.OpenFile(cached, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("#!/bin/sh\necho planted\n")
	f.Close()
	if got, _ := os.ReadFile(filepath.Join(bin, "rollback")); string(got) != string(binaryScript("rollback")) {
		t.Errorf("a write into the tool cache reached the binary on PATH: %q", got)
	}
	for _, name := range releaseNames {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Errorf("%s is not in the directory added to PATH (%q): %v", name, bin, err)
		}
	}
}
