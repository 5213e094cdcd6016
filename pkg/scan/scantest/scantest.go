// Package scantest builds the scan fixtures for tests: an image with a
// dpkg status file, an npm lockfile and a Go binary of known content, and
// the OSV records of testdata/scan as an offline database.
package scantest

import (
	"archive/zip"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/scan"
)

// Testdata is the repository's testdata/scan directory.
var Testdata = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "scan")
}()

// DB is the fixture OSV database as JSON records per ecosystem.
func DB() string { return filepath.Join(Testdata, "osv") }

// Now is the clock fixtures are built with and policies evaluated at.
var Now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// StartRegistry runs go-containerregistry's in-process registry.
func StartRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

var (
	goBinaryOnce sync.Once
	goBinary     string
	goBinaryErr  error
)

// buildGoBinary builds testdata/scan/gobin once per test binary: its build
// info names the Go release it was built with (the "stdlib" package) and
// golang.org/x/text at this module's version.
func buildGoBinary(t *testing.T) string {
	t.Helper()
	goBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scan-gobin")
		if err != nil {
			goBinaryErr = err
			return
		}
		goBinary = filepath.Join(dir, "server")
		cmd := exec.Command("go", "build", "-o", goBinary, ".")
		cmd.Dir = filepath.Join(Testdata, "gobin")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			goBinaryErr = err
			t.Logf("go build: %s", out)
		}
	})
	if goBinaryErr != nil {
		t.Fatalf("building the Go test binary: %v", goBinaryErr)
	}
	return goBinary
}

// PushImage builds the fixture image (testdata/scan/rootfs at /, plus
// a Go binary at /usr/local/bin/server) and pushes it by digest.
func PushImage(t *testing.T, host string) name.Digest {
	t.Helper()
	return PushImageWithLabel(t, host, "", "")
}

// PushImageWithLabel is PushImage with one config label (when key is set),
// which gives an image of the same content another digest.
func PushImageWithLabel(t *testing.T, host, key, value string) name.Digest {
	t.Helper()
	ctxDir := t.TempDir()
	if err := os.CopyFS(filepath.Join(ctxDir, "rootfs"), os.DirFS(filepath.Join(Testdata, "rootfs"))); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(buildGoBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ctxDir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "bin", "server"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := image.NewBuilder(image.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := b.Build(context.Background(), image.Spec{
		Context: ctxDir,
		Files:   []image.Mapping{{Src: "rootfs", Dest: "/"}, {Src: "bin", Dest: "/usr/local/bin"}},
		Created: Now,
		Labels:  labels(key, value),
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	res, err := b.Push(context.Background(), img, host+"/fx/app", nil)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	d, err := name.NewDigest(res.ImageRef)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ZipDB writes testdata/scan/osv as <ecosystem>/all.zip files.
func ZipDB(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	src := filepath.Join(Testdata, "osv")
	ecos, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, eco := range ecos {
		if err := os.MkdirAll(filepath.Join(out, eco.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(out, eco.Name(), "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		if err := zw.AddFS(os.DirFS(filepath.Join(src, eco.Name()))); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return out
}

// OpenImage pushes the fixture image to a new in-process registry and opens
// it by digest.
func OpenImage(t *testing.T) (v1.Image, name.Digest) {
	t.Helper()
	ref := PushImage(t, StartRegistry(t))
	img, err := scan.OpenRemote(context.Background(), ref, scan.DefaultPlatform)
	if err != nil {
		t.Fatal(err)
	}
	return img, ref
}

// GoVersion is the Go release the test binary is built with, as its build
// info records it ("1.26.8").
func GoVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
}

// ZipDBWithout is ZipDB less one ecosystem.
func ZipDBWithout(t *testing.T, eco string) string {
	t.Helper()
	dir := ZipDB(t)
	if err := os.RemoveAll(filepath.Join(dir, eco)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func labels(key, value string) map[string]string {
	if key == "" {
		return nil
	}
	return map[string]string{key: value}
}

// ModuleVersion is the version of a module this repository requires, as
// a Go binary built here records it.
func ModuleVersion(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module)
	cmd.Dir = Testdata
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out))
}
