package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// countingRegistry is go-containerregistry's in-process registry with a
// count of the requests it got.
func countingRegistry(t *testing.T) *actiontest.Server {
	t.Helper()
	return actiontest.NewServer(t, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
}

func appContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"server.js": "console.log('fx')\n", "public/index.html": "<h1>fx</h1>\n", "package.json": "{}\n"}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tagPush is what the runner sets on a tag push, with a fixed
// SOURCE_DATE_EPOCH.
var tagPush = map[string]string{
	"GITHUB_REF":        "refs/tags/v1.2.3",
	"GITHUB_SHA":        "0123456789abcdef0123456789abcdef01234567",
	"GITHUB_SERVER_URL": "https://github.com",
	"GITHUB_REPOSITORY": "acme/fx-platform",
	"SOURCE_DATE_EPOCH": "1764072000",
}

// runner is a build-push step of a tag push with a private cache directory.
func runner(t *testing.T, inputs map[string]string) *actiontest.Runner {
	r := actiontest.New(t, inputs)
	maps.Copy(r.Env, tagPush)
	r.Env["XDG_CACHE_HOME"] = t.TempDir()
	return r
}

func TestBadInputChangesNothing(t *testing.T) {
	reg := countingRegistry(t)
	host := reg.Host()
	env := maps.Clone(tagPush)
	env["XDG_CACHE_HOME"] = t.TempDir()
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"image": host + "/acme/app", "context": appContext(t)},
		Env:     env,
		Servers: []*actiontest.Server{reg},
	}.Test(t, []actiontest.BadInput{
		{Name: "unparsable image", Set: map[string]string{"image": "Not An Image"}, Input: "image"},
		{Name: "image with tag", Set: map[string]string{"image": host + "/app:v1"}, Input: "image"},
		{Name: "files outside context", Set: map[string]string{"files": "../../etc/passwd:/etc/passwd"}, Input: "files"},
		{Name: "files missing source", Set: map[string]string{"files": "nope.js:/app/nope.js"}, Input: "files"},
		{Name: "files naming the platform, no platforms", Set: map[string]string{"files": "dist/{arch}/server:/app/server"}, Input: "files"},
		{Name: "unknown platform", Set: map[string]string{"platforms": "linux/amd64,plan10/vax"}, Input: "platforms"},
		{Name: "illegal tag", Set: map[string]string{"tags": "v1\nbad tag!"}, Input: "tags"},
		{Name: "bad port", Set: map[string]string{"ports": "70000/tcp"}, Input: "ports"},
		{Name: "bad env", Set: map[string]string{"env": "NOVALUE"}, Input: "env"},
		{Name: "bad push", Set: map[string]string{"push": "maybe"}, Input: "push"},
		{Name: "layout without path", Set: map[string]string{"push": "false"}, Input: "oci-layout-path"},
		{Name: "user without password", Set: map[string]string{"registry-username": "bot"}, Input: "registry-password"},
		{Name: "missing context", Set: map[string]string{"context": "/does/not/exist"}, Input: "context"},
		{Name: "insecure registry not a host", Set: map[string]string{"insecure-registries": host + "\nbad host/x"}, Input: "insecure-registries"},
		{Name: "insecure registry given as a URL", Set: map[string]string{"insecure-registries": "http://127.0.0.1:5599/"}, Input: "insecure-registries"},
		{Name: "base image as a file URL", Set: map[string]string{"base": "file:///etc/passwd"}, Input: "base"},
		{Name: "base image with an empty path segment", Set: map[string]string{"base": "127.0.0.1:5599//x"}, Input: "base"},
		{Name: "image with an empty path segment", Set: map[string]string{"image": "127.0.0.1:5599//x"}, Input: "image"},
		{Name: "build args without a dockerfile", Set: map[string]string{"build-args": "GO_VERSION=1.26"}, Input: "build-args"},
		{Name: "a target without a dockerfile", Set: map[string]string{"target": "release"}, Input: "target"},
		{Name: "a build arg not an ARG name", Set: map[string]string{"dockerfile": stagesDockerfile(t), "build-args": "GO-VERSION=1.26"}, Input: "build-args"},
		{Name: "a target the Dockerfile lacks", Set: map[string]string{"dockerfile": stagesDockerfile(t), "target": "relase"}, Input: "target"},
	})
}

// stagesDockerfile is a multi-stage Dockerfile, with stages deps and
// release.
func stagesDockerfile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, []byte("FROM scratch AS deps\nFROM deps AS release\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPushOutputsAndTags(t *testing.T) {
	host := countingRegistry(t).Host()
	ctxDir := appContext(t)
	repo := host + "/acme/fx-platform"
	push := func() map[string]string {
		r := runner(t, map[string]string{
			"image": repo, "context": ctxDir, "entrypoint": "node,/app/server.js", "ports": "3000/tcp",
			"labels": "team=fx", "env": "NODE_ENV=production",
		})
		if code := r.Run(context.Background(), spec, run); code != 0 {
			t.Fatalf("exit code %d; log:\n%s", code, r.Log.String())
		}
		out := r.Outputs()
		if !strings.Contains(r.Summary(), out["digest"]) {
			t.Errorf("summary lacks the digest:\n%s", r.Summary())
		}
		return out
	}
	out := push()

	wantTags := []string{"1.2.3", "1.2", "1", "latest", "sha-0123456"}
	if got := strings.Split(out["tags"], "\n"); !slices.Equal(got, wantTags) {
		t.Errorf("tags output = %q, want %q", got, wantTags)
	}
	if out["image-ref"] != repo+"@"+out["digest"] {
		t.Errorf("image-ref = %q, digest = %q", out["image-ref"], out["digest"])
	}
	var md Metadata
	if err := json.Unmarshal([]byte(out["metadata"]), &md); err != nil {
		t.Fatalf("metadata %q: %v", out["metadata"], err)
	}
	if md.Digest != out["digest"] || !slices.Equal(md.Platforms, []string{"linux/amd64"}) || md.Size <= 0 {
		t.Errorf("metadata = %+v", md)
	}
	for _, tag := range wantTags {
		d, err := crane.Digest(repo + ":" + tag)
		if err != nil || d != out["digest"] {
			t.Errorf("tag %s -> %s (%v), want %s", tag, d, err, out["digest"])
		}
	}
	cfg, err := crane.Config(out["image-ref"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"org.opencontainers.image.revision":"0123456789abcdef0123456789abcdef01234567"`, `"org.opencontainers.image.version":"1.2.3"`,
		`"org.opencontainers.image.source":"https://github.com/acme/fx-platform"`, `"org.opencontainers.image.created":"2025-11-25T12:00:00Z"`,
		`"team":"fx"`, `"3000/tcp":{}`, `"NODE_ENV=production"`, `"Entrypoint":["node","/app/server.js"]`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}

	// The same inputs again, with a cold cache: the same digest.
	if again := push(); again["digest"] != out["digest"] {
		t.Errorf("rebuild digest %s, want %s", again["digest"], out["digest"])
	}
}

func TestWriteLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	r := runner(t, map[string]string{"image": "ghcr.io/acme/app", "context": appContext(t), "push": "false", "oci-layout-path": dir})
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, r.Log.String())
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) == 0 || m.Manifests[0].Digest.String() != r.Outputs()["digest"] {
		t.Errorf("layout index %+v, digest output %s", m.Manifests, r.Outputs()["digest"])
	}
}
