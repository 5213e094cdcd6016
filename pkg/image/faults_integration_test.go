//go:build integration

package image

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// faultyProxy stands in front of a registry and misbehaves once of each
// kind: 503 to the first two upload starts, a connection reset in the
// middle of the first blob body, and 429 with Retry-After: 1 to the first
// manifest PUT. It records when each request arrived.
type faultyProxy struct {
	proxy *httputil.ReverseProxy

	mu         sync.Mutex
	unavailble int // 503s left
	resetDone  bool
	limitDone  bool
	log        []proxyEvent
}

type proxyEvent struct {
	at     time.Time
	method string
	path   string
	fault  string // what the proxy did instead of forwarding, if anything
}

func (p *faultyProxy) record(r *http.Request, fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, proxyEvent{at: time.Now(), method: r.Method, path: r.URL.Path, fault: fault})
}

func (p *faultyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	isUploadStart := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/")
	isBlobBody := r.Method == http.MethodPatch
	isManifestPut := r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
	var fault string
	switch {
	case isUploadStart && p.unavailble > 0:
		p.unavailble--
		fault = "503"
	case isBlobBody && !p.resetDone:
		p.resetDone = true
		fault = "reset"
	case isManifestPut && !p.limitDone:
		p.limitDone = true
		fault = "429"
	}
	p.mu.Unlock()

	switch fault {
	case "503":
		p.record(r, fault)
		http.Error(w, "try later", http.StatusServiceUnavailable)
	case "reset":
		p.record(r, fault)
		io.CopyN(io.Discard, r.Body, 32<<10) // take part of the blob, then drop the line
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case "429":
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		p.record(r, fault) // after the response is on its way
	default:
		p.record(r, "")
		p.proxy.ServeHTTP(w, r)
	}
}

// TestFaultsPushStillSucceeds pushes through the faulty proxy and checks
// that the push succeeds with the digest of an undisturbed push, and that
// the retry after the 429 waited at least the advertised second.
func TestFaultsPushStillSucceeds(t *testing.T) {
	reg := sandbox.NewTestRegistry(t, sandbox.RegistryOptions{})
	target, _ := url.Parse(reg.URL())
	fp := &faultyProxy{proxy: httputil.NewSingleHostReverseProxy(target), unavailble: 2}
	srv := httptest.NewServer(fp)
	defer srv.Close()
	proxyHost := strings.TrimPrefix(srv.URL, "http://")

	dir := t.TempDir()
	big := make([]byte, 1<<20) // incompressible, so the blob body is long
	rand.Read(big)
	for name, content := range map[string][]byte{"a/big.bin": big, "b/app.js": []byte("console.log(1)\n")} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	spec := Spec{Context: dir, Created: created, Layers: 2}

	b := newTestBuilder(t)
	img, err := b.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Push(ctx, img, reg.Addr+"/acme/direct", []string{"1"})
	if err != nil {
		t.Fatalf("undisturbed push: %v", err)
	}

	img, err = b.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Push(ctx, img, proxyHost+"/acme/faulty", []string{"1", "latest"})
	if err != nil {
		t.Fatalf("push through the faulty proxy: %v", err)
	}
	if got.Digest != want.Digest {
		t.Errorf("digest through the faults %s, undisturbed %s", got.Digest, want.Digest)
	}

	fp.mu.Lock()
	events := append([]proxyEvent(nil), fp.log...)
	fp.mu.Unlock()
	faults := map[string]int{}
	var limited *proxyEvent
	var retryAfterLimit *proxyEvent
	for i, e := range events {
		faults[e.fault]++
		if e.fault == "429" {
			limited = &events[i]
			continue
		}
		if limited != nil && retryAfterLimit == nil && e.method == http.MethodPut && e.path == limited.path {
			retryAfterLimit = &events[i]
		}
	}
	for _, f := range []string{"503", "reset", "429"} {
		if want := map[string]int{"503": 2, "reset": 1, "429": 1}[f]; faults[f] != want {
			t.Errorf("proxy answered %q %d times, want %d", f, faults[f], want)
		}
	}
	if limited == nil || retryAfterLimit == nil {
		t.Fatalf("no retry of the manifest PUT after the 429: %+v", events)
	}
	if gap := retryAfterLimit.at.Sub(limited.at); gap < time.Second {
		t.Errorf("manifest PUT retried %v after a 429 with Retry-After: 1; want at least 1s", gap)
	}

	// The registry behind the proxy has the complete image.
	ref, _ := name.ParseReference(reg.Addr + "/acme/faulty:latest")
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	files := filesOf(t, pulled)
	if files["/app/a/big.bin"] != string(big) || files["/app/b/app.js"] != "console.log(1)\n" {
		t.Errorf("pulled image lacks the files (have %d entries)", len(files))
	}
}
