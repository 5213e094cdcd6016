package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// countingRegistry is go-containerregistry's in-process registry with a
// count of the requests it got.
func countingRegistry(t *testing.T) (host string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), requests
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

// runner is a build-push step with the runner's context variables of a tag
// push, a fixed SOURCE_DATE_EPOCH and a private cache directory.
func runner(t *testing.T, inputs map[string]string) *actiontest.Runner {
	r := actiontest.New(t, inputs)
	r.Env["GITHUB_REF"] = "refs/tags/v1.2.3"
	r.Env["GITHUB_SHA"] = "0123456789abcdef0123456789abcdef01234567"
	r.Env["GITHUB_SERVER_URL"] = "https://github.com"
	r.Env["GITHUB_REPOSITORY"] = "acme/fx-platform"
	r.Env["SOURCE_DATE_EPOCH"] = "1764072000"
	r.Env["XDG_CACHE_HOME"] = t.TempDir()
	return r
}

func TestBadInputChangesNothing(t *testing.T) {
	ctxDir := appContext(t)
	tests := []struct {
		name   string
		inputs map[string]string
		input  string // the input the one error names
	}{
		{name: "unparsable image", inputs: map[string]string{"image": "Not An Image"}, input: "image"},
		{name: "image with tag", inputs: map[string]string{"image": "REG/app:v1"}, input: "image"},
		{name: "files outside context", inputs: map[string]string{"files": "../../etc/passwd:/etc/passwd"}, input: "files"},
		{name: "files missing source", inputs: map[string]string{"files": "nope.js:/app/nope.js"}, input: "files"},
		{name: "files naming the platform, no platforms", inputs: map[string]string{"files": "dist/{arch}/server:/app/server"}, input: "files"},
		{name: "unknown platform", inputs: map[string]string{"platforms": "linux/amd64,plan10/vax"}, input: "platforms"},
		{name: "illegal tag", inputs: map[string]string{"tags": "v1\nbad tag!"}, input: "tags"},
		{name: "bad port", inputs: map[string]string{"ports": "70000/tcp"}, input: "ports"},
		{name: "bad env", inputs: map[string]string{"env": "NOVALUE"}, input: "env"},
		{name: "bad push", inputs: map[string]string{"push": "maybe"}, input: "push"},
		{name: "layout without path", inputs: map[string]string{"push": "false"}, input: "oci-layout-path"},
		{name: "user without password", inputs: map[string]string{"registry-username": "bot"}, input: "registry-password"},
		{name: "missing context", inputs: map[string]string{"context": "/does/not/exist"}, input: "context"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, requests := countingRegistry(t)
			inputs := map[string]string{"image": host + "/acme/app", "context": ctxDir}
			for k, v := range tc.inputs {
				inputs[k] = strings.ReplaceAll(v, "REG", host)
			}
			r := runner(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit code %d, want 1; log:\n%s", code, r.Log.String())
			}
			errs := r.Annotations("error")
			if len(errs) != 1 || !strings.Contains(errs[0], `input "`+tc.input+`"`) {
				t.Fatalf("errors = %q, want one naming input %q", errs, tc.input)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("the registry got %d requests, want none", n)
			}
			if out := r.Outputs(); len(out) != 0 {
				t.Errorf("outputs written: %q", out)
			}
		})
	}
}

func TestPushOutputsAndTags(t *testing.T) {
	host, _ := countingRegistry(t)
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
