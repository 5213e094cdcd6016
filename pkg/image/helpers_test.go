package image

import (
	"archive/tar"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// created is the fixed creation time tests build with.
var created = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fastBackoff keeps retries in tests short.
var fastBackoff = remote.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: 6}

// inProcessRegistry starts go-containerregistry's registry and returns its
// host:port.
func inProcessRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// writeTree creates files (name -> content) under a new directory; a name
// ending in "*" is made executable (without the star).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newTestBuilder(t *testing.T, opts ...Option) *Builder {
	t.Helper()
	opts = append([]Option{WithKeychain(authn.NewMultiKeychain()), WithRetryBackoff(fastBackoff)}, opts...)
	b, err := NewBuilder(opts...)
	if err != nil {
		t.Fatalf("NewBuilder: %v", err)
	}
	return b
}

// filesOf reads the flattened file system of an image: path -> content for
// regular files, "-> target" for links, "/" for directories.
func filesOf(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading image files: %v", err)
		}
		name := "/" + strings.TrimSuffix(hdr.Name, "/")
		switch hdr.Typeflag {
		case tar.TypeDir:
			out[name] = "/"
		case tar.TypeSymlink:
			out[name] = "-> " + hdr.Linkname
		default:
			b, _ := io.ReadAll(tr)
			out[name] = string(b)
		}
	}
}
