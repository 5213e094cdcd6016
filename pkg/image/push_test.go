package image

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
