package image

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutDigest builds spec and writes it to a fresh OCI layout, returning
// the digest.
func layoutDigest(t *testing.T, b *Builder, spec Spec) v1.Hash {
	t.Helper()
	ctx := context.Background()
	img, err := b.Build(ctx, spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	res, err := b.WriteLayout(ctx, img, t.TempDir(), []string{"t"})
	if err != nil {
		t.Fatalf("WriteLayout: %v", err)
	}
	return res.Digest
}

func TestReproducible(t *testing.T) {
	files := map[string]string{"server.js": "console.log('hi')\n", "lib/a.js": "a", "lib/b.js": "b", "run*": "#!/bin/sh\n"}
	base := Spec{Created: created, Layers: 2, Revision: "abc", Version: "1.2.3", Source: "https://example.com/r"}
	b := newTestBuilder(t)
	want := layoutDigest(t, b, Spec{Context: writeTree(t, files), Created: base.Created, Layers: 2, Revision: "abc", Version: "1.2.3", Source: base.Source})

	tests := []struct {
		name   string
		change func(t *testing.T, dir string, s *Spec)
		same   bool
	}{
		{"same inputs, new directory", func(*testing.T, string, *Spec) {}, true},
		{"file times differ on disk", func(t *testing.T, dir string, _ *Spec) {
			old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.Chtimes(filepath.Join(dir, "server.js"), old, old); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"permissions differ but normalise alike", func(t *testing.T, dir string, _ *Spec) {
			if err := os.Chmod(filepath.Join(dir, "lib/a.js"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"different SOURCE_DATE_EPOCH (created)", func(_ *testing.T, _ string, s *Spec) { s.Created = created.Add(time.Second) }, false},
		{"different file time", func(_ *testing.T, _ string, s *Spec) { s.FileTime = created }, false},
		{"different revision", func(_ *testing.T, _ string, s *Spec) { s.Revision = "def" }, false},
		{"file made executable", func(t *testing.T, dir string, _ *Spec) {
			if err := os.Chmod(filepath.Join(dir, "server.js"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"file content changed", func(t *testing.T, dir string, _ *Spec) {
			if err := os.WriteFile(filepath.Join(dir, "lib/b.js"), []byte("B"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, files)
			spec := base
			spec.Context = dir
			tc.change(t, dir, &spec)
			got := layoutDigest(t, newTestBuilder(t), spec)
			if (got == want) != tc.same {
				t.Errorf("digest %s, first build %s; want same=%v", got, want, tc.same)
			}
		})
	}
}

// TestCacheSeesSameSizeEdit guards the layer cache: an edit that keeps the
// size (and even the modification time) must still give a new digest.
func TestCacheSeesSameSizeEdit(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "one"})
	b := newTestBuilder(t, WithCacheDir(t.TempDir()))
	spec := Spec{Context: dir, Created: created}
	first := layoutDigest(t, b, spec)
	if again := layoutDigest(t, b, spec); again != first {
		t.Fatalf("rebuild with the cache: digest %s, want %s", again, first)
	}
	p := filepath.Join(dir, "a.txt")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := layoutDigest(t, b, spec); got == first {
		t.Errorf("after a same-size edit the digest is still %s", got)
	}
}

func TestConfig(t *testing.T) {
	dir := writeTree(t, map[string]string{"server.js": "x"})
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{
		Context: dir, Created: created,
		Entrypoint: []string{"node"}, Cmd: []string{"server.js"}, WorkingDir: "/app", User: "65532:65532",
		Env: []string{"NODE_ENV=production", "PORT=3000"}, Labels: map[string]string{"team": "fx", LabelVersion: "override"},
		Annotations: map[string]string{"com.example.note": "hi"}, Ports: []string{"3000/tcp", "9090"},
		Source: "https://github.com/acme/fx", Revision: "0123456", Version: "1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := b.WriteLayout(ctx, img, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := imageFromLayout(t, out, res.Digest)
	cfg, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"os", cfg.OS + "/" + cfg.Architecture, "linux/amd64"},
		{"created", cfg.Created.Time.UTC(), created},
		{"entrypoint", c.Entrypoint, []string{"node"}},
		{"cmd", c.Cmd, []string{"server.js"}},
		{"workdir", c.WorkingDir, "/app"},
		{"user", c.User, "65532:65532"},
		{"env", c.Env, []string{"NODE_ENV=production", "PORT=3000"}},
		{"label team", c.Labels["team"], "fx"},
		{"label source", c.Labels[LabelSource], "https://github.com/acme/fx"},
		{"label revision", c.Labels[LabelRevision], "0123456"},
		{"explicit label wins", c.Labels[LabelVersion], "override"},
		{"label created", c.Labels[LabelCreated], "2026-11-25T12:00:00Z"},
		{"ports", len(c.ExposedPorts), 2},
		{"history", len(cfg.History), 1},
		{"layers", len(cfg.RootFS.DiffIDs), 1},
	}
	for _, ck := range checks {
		if !equalAny(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if _, ok := c.ExposedPorts["9090/tcp"]; !ok {
		t.Errorf("ports = %v, want 9090/tcp among them", c.ExposedPorts)
	}
	m, _ := got.Manifest()
	if m.Annotations["com.example.note"] != "hi" {
		t.Errorf("manifest annotations = %v", m.Annotations)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("media types %s / %s, want OCI", m.MediaType, m.Layers[0].MediaType)
	}
}

func equalAny(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, _ := b.([]string)
		return slices.Equal(as, bs)
	}
	if at, ok := a.(time.Time); ok {
		return at.Equal(b.(time.Time))
	}
	return a == b
}

func imageFromLayout(t *testing.T, dir string, d v1.Hash) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushBaseIndex pushes a two-platform base index, with an attestation
// manifest as buildx makes, to an in-process registry.
func pushBaseIndex(t *testing.T, host string) string {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "unknown", Architecture: "unknown"}} {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		cfg.Config.Env = []string{"PATH=/usr/bin", "NODE_ENV=development"}
		cfg.Config.Cmd = []string{"node"}
		img, _ = mutate.ConfigFile(img, cfg)
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	ref := host + "/library/node:22"
	r, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestBase(t *testing.T) {
	host := inProcessRegistry(t)
	baseRef := pushBaseIndex(t, host)
	single, _ := random.Image(256, 1) // Docker media types, linux/amd64 config
	cfg, _ := single.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	single, _ = mutate.ConfigFile(single, cfg)
	sref, _ := name.ParseReference(host + "/library/busybox:1")
	if err := remote.Write(sref, single); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"app.js": "x"})
	plat := func(s string) []v1.Platform { ps, _ := ParsePlatforms(s); return ps }
	tests := []struct {
		name      string
		base      string
		platforms []v1.Platform
		want      []string // platforms of the result
		index     bool
		layerType types.MediaType
		wantErr   error
	}{
		{"scratch", "scratch", nil, []string{"linux/amd64"}, false, types.OCILayer, nil},
		{"scratch for two platforms", "", plat("linux/amd64,linux/arm64"), []string{"linux/amd64", "linux/arm64"}, true, types.OCILayer, nil},
		{"index base, every platform but attestations", baseRef, nil, []string{"linux/amd64", "linux/arm64/v8"}, true, types.OCILayer, nil},
		{"index base, one platform", baseRef, plat("linux/arm64"), []string{"linux/arm64/v8"}, false, types.OCILayer, nil},
		{"index base, platform it lacks", baseRef, plat("linux/s390x"), nil, false, "", ErrPlatformNotInBase},
		{"single docker image base", host + "/library/busybox:1", nil, []string{"linux/amd64"}, false, types.DockerLayer, nil},
		{"single image base, other platform", host + "/library/busybox:1", plat("linux/arm64"), nil, false, "", ErrPlatformNotInBase},
		{"missing base", host + "/library/nope:1", nil, nil, false, "", ErrNotFound},
	}
	b := newTestBuilder(t)
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := b.Build(ctx, Spec{Context: dir, Base: tc.base, Platforms: tc.platforms, Created: created, Env: []string{"NODE_ENV=production"}})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Build error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			res, err := b.Push(ctx, img, host+"/acme/app", []string{"t"})
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			var got []string
			for _, pi := range res.Images {
				got = append(got, pi.Platform)
				if l := pi.Layers[len(pi.Layers)-1]; l.MediaType != tc.layerType || l.FromBase {
					t.Errorf("%s: last layer %+v, want an own %s layer", pi.Platform, l, tc.layerType)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("platforms = %q, want %q", got, tc.want)
			}
			if res.MediaType.IsIndex() != tc.index {
				t.Errorf("media type %s, want index=%v", res.MediaType, tc.index)
			}
			if tc.base != "" && tc.base != "scratch" {
				ref, _ := name.ParseReference(res.ImageRef)
				desc, err := remote.Get(ref)
				if err != nil {
					t.Fatal(err)
				}
				var pushed v1.Image
				if tc.index {
					idx, _ := desc.ImageIndex()
					im, _ := idx.IndexManifest()
					pushed, _ = idx.Image(im.Manifests[0].Digest)
				} else {
					pushed, _ = desc.Image()
				}
				cfg, _ := pushed.ConfigFile()
				if tc.base == baseRef && !slices.Equal(cfg.Config.Env, []string{"PATH=/usr/bin", "NODE_ENV=production"}) {
					t.Errorf("env = %q: want the base's PATH and our NODE_ENV", cfg.Config.Env)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := writeTree(t, map[string]string{"a": "a", "Dockerfile.stages": "FROM scratch AS base\nfrom --platform=$BUILDPLATFORM base as Release\n"})
	for _, target := range []string{"base", "release", "RELEASE"} {
		if err := (&Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile.stages"), Target: target, BuildArgs: map[string]string{"GO_VERSION": "1.26"}}).Validate(); err != nil {
			t.Errorf("target %s: %v", target, err)
		}
	}
	tests := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"missing context", Spec{Context: filepath.Join(dir, "nope")}, "context"},
		{"context is a file", Spec{Context: filepath.Join(dir, "a")}, "context"},
		{"escaping source", Spec{Context: dir, Files: []Mapping{{"../x", "/app"}}}, "files"},
		{"missing source", Spec{Context: dir, Files: []Mapping{{"b", "/app"}}}, "files"},
		{"bad env", Spec{Context: dir, Env: []string{"NOEQUALS"}}, "env"},
		{"bad port", Spec{Context: dir, Ports: []string{"http"}}, "ports"},
		{"bad protocol", Spec{Context: dir, Ports: []string{"80/icmp"}}, "ports"},
		{"bad platform", Spec{Context: dir, Platforms: []v1.Platform{{OS: "linux", Architecture: "x86"}}}, "platforms"},
		{"dockerfile with files", Spec{Context: dir, Dockerfile: filepath.Join(dir, "a"), Files: []Mapping{{"a", "/a"}}}, "dockerfile"},
		{"missing dockerfile", Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}, "dockerfile"},
		{"platform in a source, no platforms", Spec{Context: dir, Files: []Mapping{{"dist/{arch}", "/app"}}}, "files"},
		{"build args without a dockerfile", Spec{Context: dir, BuildArgs: map[string]string{"V": "1"}}, "build-args"},
		{"a target without a dockerfile", Spec{Context: dir, Target: "release"}, "target"},
		{"a bad build arg name", Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile.stages"), BuildArgs: map[string]string{"GO-VERSION": "1"}}, "build-args"},
		{"a target the Dockerfile lacks", Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile.stages"), Target: "relase"}, "target"},
		{"a target of a Dockerfile without stages", Spec{Context: dir, Dockerfile: filepath.Join(dir, "a"), Target: "release"}, "target"},
		{"one platform's source missing", Spec{Context: dir, Files: []Mapping{{"{arch}", "/app"}}, Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}}}, "files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			var se *SpecError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Errorf("Validate() = %v, want a SpecError for %q", err, tc.field)
			}
		})
	}
}

func TestDockerfile(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah is needed (Debian package buildah): %v", err)
	}
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\nCMD [\"/hello\"]\n",
		"hello.txt":  "hello from a Dockerfile\n",
	})
	host := inProcessRegistry(t)
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Created: created, Revision: "abc", Labels: map[string]string{"team": "fx"}})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer img.Close()
	res, err := b.Push(ctx, img, host+"/acme/df", []string{"1"})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	ref, _ := name.ParseReference(res.ImageRef)
	pushed, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := filesOf(t, pushed)["/hello.txt"]; got != "hello from a Dockerfile\n" {
		t.Errorf("/hello.txt = %q", got)
	}
	cfg, _ := pushed.ConfigFile()
	if cfg.Config.Labels[LabelRevision] != "abc" || cfg.Config.Labels["team"] != "fx" {
		t.Errorf("labels = %v", cfg.Config.Labels)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"/hello"}) {
		t.Errorf("cmd = %q, want the Dockerfile's", cfg.Config.Cmd)
	}
}

// A multi-stage Dockerfile, as the strategy's: the build arguments reach
// its ARGs, and the target stage is built, not the last.
func TestDockerfileStagesAndArgs(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah is needed (Debian package buildah): %v", err)
	}
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM scratch AS deps\nARG SRC=missing.txt\nCOPY ${SRC} /hello.txt\n" +
			"FROM deps AS release\nCOPY release.txt /release.txt\n" +
			"FROM release AS debug\nCOPY debug.txt /debug.txt\n",
		"hello.txt":   "hello from a build argument\n",
		"release.txt": "release\n",
		"debug.txt":   "debug\n",
	})
	host := inProcessRegistry(t)
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Created: created,
		BuildArgs: map[string]string{"SRC": "hello.txt"}, Target: "release"})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer img.Close()
	res, err := b.Push(ctx, img, host+"/acme/stages", []string{"1"})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	ref, _ := name.ParseReference(res.ImageRef)
	pushed, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	files := filesOf(t, pushed)
	if files["/hello.txt"] != "hello from a build argument\n" || files["/release.txt"] != "release\n" {
		t.Errorf("files %q: want the build argument's file and the release stage's", slices.Collect(maps.Keys(files)))
	}
	if _, ok := files["/debug.txt"]; ok {
		t.Error("the debug stage, after the target, was built")
	}
}

// TestPerPlatformFiles: a source naming {os} and {arch} gives each image of
// the index its own build; a source they share is one layer, pushed once.
func TestPerPlatformFiles(t *testing.T) {
	host := inProcessRegistry(t)
	baseRef := pushBaseIndex(t, host)
	dir := writeTree(t, map[string]string{
		"dist/linux_amd64/app*": "amd64 build",
		"dist/linux_arm64/app*": "arm64 build",
		"config.yaml":           "shared",
	})
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{
		Context:   dir,
		Base:      baseRef,
		Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}},
		Files:     []Mapping{{"dist/{os}_{arch}/app", "/usr/local/bin/app"}},
		Created:   created,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Push(ctx, img, host+"/acme/app", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.MediaType.IsIndex() || len(res.Images) != 2 {
		t.Fatalf("got %s with %d images, want an index of 2", res.MediaType, len(res.Images))
	}
	ref, _ := name.ParseReference(res.ImageRef)
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		one, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		want := d.Platform.Architecture + " build"
		if got := filesOf(t, one)["/usr/local/bin/app"]; got != want {
			t.Errorf("%s: /usr/local/bin/app = %q, want %q", d.Platform.Architecture, got, want)
		}
	}

	// Per-platform sources that come out the same for both platforms (no
	// variant): the two images share one layer, made and pushed once.
	img, err = b.Build(ctx, Spec{
		Context:   dir,
		Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}},
		Files:     []Mapping{{"config{variant}.yaml", "/etc/app.yaml"}},
		Created:   created,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = b.Push(ctx, img, host+"/acme/config", []string{"t"}); err != nil {
		t.Fatal(err)
	}
	if len(res.Layers) != 1 {
		t.Errorf("%d own layers, want the one both platforms share", len(res.Layers))
	}
}

// staticKeychain has one registry's credentials.
type staticKeychain struct{ host, user, password string }

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.host {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

// A Dockerfile whose base is in a private registry over plain HTTP, as the
// sandbox's is: buildah pulls it with the Builder's own credentials and
// insecure registries, and without the credentials it cannot.
func TestDockerfileBaseFromAPrivateRegistry(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah is needed (Debian package buildah): %v", err)
	}
	reg := registry.New(registry.Logger(discardLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	keys := staticKeychain{host, "ci", "s3cret"}
	b := newTestBuilder(t, WithKeychain(keys), WithInsecureRegistries(host))
	ctx := context.Background()

	base, err := b.Build(ctx, Spec{Context: writeTree(t, map[string]string{"base.txt": "from the base\n"}), Files: []Mapping{{"base.txt", "/base.txt"}}, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if _, err := b.Push(ctx, base, host+"/acme/base", []string{"1"}); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"Dockerfile": "ARG BASE=" + host + "/acme/base:1\nFROM ${BASE} AS base\nCOPY hello.txt /hello.txt\n",
		"hello.txt":  "hello\n",
	})
	spec := Spec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Created: created}
	img, err := b.Build(ctx, spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer img.Close()
	res, err := b.Push(ctx, img, host+"/acme/app", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(res.ImageRef, name.Insecure)
	pushed, err := remote.Image(ref, remote.WithAuthFromKeychain(keys))
	if err != nil {
		t.Fatal(err)
	}
	if files := filesOf(t, pushed); files["/base.txt"] != "from the base\n" || files["/hello.txt"] != "hello\n" {
		t.Errorf("files %v: want the base's and the Dockerfile's", slices.Collect(maps.Keys(files)))
	}

	// A base buildah has not pulled yet (it keeps what it pulled).
	if _, err := b.Push(ctx, base, host+"/acme/base", []string{"2"}); err != nil {
		t.Fatal(err)
	}
	anonymous := newTestBuilder(t, WithInsecureRegistries(host))
	spec.BuildArgs = map[string]string{"BASE": host + "/acme/base:2"}
	if img, err := anonymous.Build(ctx, spec); err == nil {
		img.Close()
		t.Error("buildah pulled the private base without credentials: the test proves nothing")
	}
}

// A build argument's value never reaches an error message.
func TestHideBuildArgs(t *testing.T) {
	got := strings.Join(hideBuildArgs([]string{"bud", "--build-arg", "NPM_TOKEN=s3cret", "--build-arg", "FLAG", "-t", "x", "--target", "a=b"}), " ")
	if want := "bud --build-arg NPM_TOKEN=*** --build-arg FLAG -t x --target a=b"; got != want {
		t.Errorf("hideBuildArgs = %q, want %q", got, want)
	}
}
