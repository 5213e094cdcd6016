package image

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushTagsAndNoChangeRebuild(t *testing.T) {
	host := inProcessRegistry(t)
	dir := writeTree(t, map[string]string{"server.js": "console.log(1)\n", "bin/run*": "#!/bin/sh\n", "public/index.html": "<p>hi</p>"})
	b := newTestBuilder(t, WithCacheDir(t.TempDir()))
	ctx := context.Background()
	spec := Spec{Context: dir, Created: created, Layers: 2}
	tags := []string{"1.2.3", "1.2", "1", "latest", "sha-0123456"}
	push := func() *Result {
		t.Helper()
		img, err := b.Build(ctx, spec)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		res, err := b.Push(ctx, img, host+"/acme/app", tags)
		if err != nil {
			t.Fatalf("Push: %v", err)
		}
		return res
	}
	first := push()
	repo, _ := name.NewRepository(host + "/acme/app")
	listed, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(tags))
	if !slices.Equal(listed, want) {
		t.Errorf("registry tags = %q, want %q", listed, want)
	}
	for _, tag := range tags {
		ref, _ := name.ParseReference(host + "/acme/app:" + tag)
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d != first.Digest {
			t.Errorf("tag %s has digest %s, want %s", tag, d, first.Digest)
		}
	}
	ref, _ := name.ParseReference(first.ImageRef)
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	files := filesOf(t, pulled)
	if files["/app/server.js"] != "console.log(1)\n" || files["/app/public/index.html"] != "<p>hi</p>" {
		t.Errorf("files = %v", files)
	}
	if len(first.Layers) != 2 || !first.Layers[0].Uploaded || first.BytesUploaded == 0 {
		t.Errorf("first push: layers %+v, uploaded %d bytes; want 2 uploaded layers", first.Layers, first.BytesUploaded)
	}

	again := push()
	if again.Digest != first.Digest {
		t.Errorf("rebuild digest %s, want %s", again.Digest, first.Digest)
	}
	if again.BytesUploaded != 0 {
		t.Errorf("rebuild with no change uploaded %d bytes, want 0", again.BytesUploaded)
	}
	for _, l := range again.Layers {
		if l.Uploaded {
			t.Errorf("rebuild uploaded layer %s", l.Digest)
		}
	}
}

func TestPushErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   error
	}{
		{"401 is ErrUnauthorized", http.StatusUnauthorized, ErrUnauthorized},
		{"403 is ErrForbidden", http.StatusForbidden, ErrForbidden},
		{"404 is ErrNotFound", http.StatusNotFound, ErrNotFound},
	}
	dir := writeTree(t, map[string]string{"a": "a"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					w.WriteHeader(http.StatusOK) // no auth needed to ping
					return
				}
				requests.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"errors":[{"code":"DENIED","message":"no"}]}`))
			}))
			defer srv.Close()
			b := newTestBuilder(t)
			ctx := context.Background()
			img, err := b.Build(ctx, Spec{Context: dir, Created: created})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Push(ctx, img, strings.TrimPrefix(srv.URL, "http://")+"/acme/app", []string{"t"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Push error = %v, want %v", err, tc.want)
			}
			// One request per layer or manifest at most: never retried.
			if n := requests.Load(); n > 2 {
				t.Errorf("%d requests reached the registry; a %d must not be retried", n, tc.status)
			}
		})
	}
}

func TestPushRejectsBadInput(t *testing.T) {
	dir := writeTree(t, map[string]string{"a": "a"})
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{Context: dir, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	var called atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Store(true) }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, repo string
		tags       []string
		field      string
	}{
		{"bad tag", host + "/acme/app", []string{"ok", "not/ok"}, "tags"},
		{"repository with a tag", host + "/acme/app:v1", []string{"t"}, "image"},
		{"unparsable repository", host + "/Acme/App", []string{"t"}, "image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Push(ctx, img, tc.repo, tc.tags)
			var se *SpecError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Errorf("Push error = %v, want a SpecError for %q", err, tc.field)
			}
		})
	}
	if called.Load() {
		t.Error("the registry was contacted despite bad input")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"Wed, 25 Nov 2026 12:00:05 GMT", 5 * time.Second, true},
		{"Wed, 25 Nov 2026 11:59:00 GMT", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "Wed, 25 Nov 2026 12:00:05 GMT", "-5", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, time.Unix(0, 0))
		if d < 0 || (!ok && d != 0) || d > 24*time.Hour && !strings.Contains(s, ",") && !strings.Contains(s, " ") {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"3000/tcp", "53/udp", "8080", "0", "65536/tcp", "80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePort(s)
		if err != nil {
			return
		}
		again, err := ParsePort(p)
		if err != nil || again != p {
			t.Fatalf("ParsePort(%q) = %q, which reparses as %q, %v", s, p, again, err)
		}
	})
}

// blobCounter stands in front of a registry and counts the bytes of blob
// upload bodies it receives (POST, PATCH and PUT under /blobs/uploads/).
type blobCounter struct {
	h http.Handler
	n atomic.Int64
}

func (c *blobCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, n: &c.n}
	}
	c.h.ServeHTTP(w, r)
}

// TestPushSkipsBlobsTheRegistryHas pushes an image, then pushes the same
// inputs again from a second builder: whatever its layer cache holds, the
// registry's blobs are not uploaded again. On GitHub every runner starts
// with an empty cache, so "fresh machine" is the case that matters there.
func TestPushSkipsBlobsTheRegistryHas(t *testing.T) {
	big := make([]byte, 512<<10)
	rand.NewChaCha8([32]byte{}).Read(big)
	dir := writeTree(t, map[string]string{"server.js": "console.log(1)\n", "assets/blob.bin": string(big), "assets/app.css": strings.Repeat("body{}\n", 5000)})
	firstCache := t.TempDir()
	tests := []struct {
		name  string
		cache string
	}{
		{"rebuild with the same cache", firstCache},
		{"fresh machine: empty cache", t.TempDir()},
		{"no cache", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counter := &blobCounter{h: registry.New(registry.Logger(discardLogger()))}
			srv := httptest.NewServer(counter)
			defer srv.Close()
			repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/app"
			spec := Spec{Context: dir, Created: created, Layers: 3}
			ctx := context.Background()
			push := func(b *Builder) *Result {
				t.Helper()
				img, err := b.Build(ctx, spec)
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				res, err := b.Push(ctx, img, repo, []string{"v1"})
				if err != nil {
					t.Fatalf("Push: %v", err)
				}
				return res
			}
			first := push(newTestBuilder(t, WithCacheDir(firstCache)))
			var layerBytes int64
			for _, l := range first.Layers {
				layerBytes += l.Size
			}
			if got := counter.n.Load(); got < layerBytes {
				t.Fatalf("first push: registry received %d blob bytes, want at least the %d bytes of its layers", got, layerBytes)
			}

			counter.n.Store(0)
			tmp := t.TempDir()
			again := push(newTestBuilder(t, WithCacheDir(tc.cache), WithTempDir(tmp)))
			if again.Digest != first.Digest {
				t.Errorf("second push digest %s, want %s", again.Digest, first.Digest)
			}
			if got := counter.n.Load(); got != 0 {
				t.Errorf("second push: registry received %d blob bytes, want 0", got)
			}
			if again.BytesUploaded != 0 {
				t.Errorf("second push: BytesUploaded = %d, want 0", again.BytesUploaded)
			}
			for _, l := range again.Layers {
				if l.Uploaded {
					t.Errorf("second push: layer %s marked uploaded", l.Digest)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}
