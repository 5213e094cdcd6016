package image_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/image"
)

// throttled answers the first n requests with 429 and Retry-After: 0, as
// ghcr.io does under load, then serves a registry.
func throttled(t *testing.T, n int32) (host string, throttledCount *atomic.Int32) {
	t.Helper()
	reg := registry.New()
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &seen
}

// TestRemoteRetries429 checks that every client built on Remote (ggcr's,
// and the plain HTTP client Helm's chart pull gets) retries a 429.
func TestRemoteRetries429(t *testing.T) {
	ctx := context.Background()
	r := image.Remote{Backoff: remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 5}}
	host, seen := throttled(t, 2)
	ref, err := name.ParseReference(host+"/fx/app:v1", r.NameOptions(host)...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, r.Options(ctx)...); err != nil {
		t.Fatalf("a write throttled twice failed: %v", err)
	}
	if seen.Load() <= 2 {
		t.Fatalf("%d requests: the throttled ones were not retried", seen.Load())
	}

	host, seen = throttled(t, 2)
	resp, err := r.HTTPClient().Get("http://" + host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || seen.Load() != 3 {
		t.Errorf("HTTPClient: status %d after %d requests, want 200 after 3", resp.StatusCode, seen.Load())
	}
	if ua := resp.Request.Header.Get("User-Agent"); !strings.Contains(ua, "deploy-actions") {
		t.Errorf("User-Agent %q does not name deploy-actions", ua)
	}
}

func TestRemotePlainHTTP(t *testing.T) {
	r := image.Remote{Insecure: []string{"registry.internal:5000"}}
	for host, want := range map[string]bool{
		"registry.internal:5000": true, "localhost:5000": true, "127.0.0.1:5000": true, "[::1]:5000": true,
		"ghcr.io": false, "registry.internal": false, "10.0.0.1:5000": false,
	} {
		if got := r.PlainHTTP(host); got != want {
			t.Errorf("PlainHTTP(%q) = %v, want %v", host, got, want)
		}
		// ggcr treats loopback hosts as plain HTTP itself; only the
		// listed hosts need name.Insecure.
		if got, listed := len(r.NameOptions(host)) > 0, host == "registry.internal:5000"; got != listed {
			t.Errorf("NameOptions(%q) insecure = %v, want %v", host, got, listed)
		}
	}
}

// TestRemoteWaitsOnTheContext: a registry that keeps answering 503 with
// Retry-After: 60 holds a request for minutes, but an interrupted action
// (its context cancelled) stops waiting at once, for ggcr's clients and
// for the plain HTTP client alike.
func TestRemoteWaitsOnTheContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := image.Remote{MaxRetryAfter: time.Hour}
	ref, err := name.ParseReference(host + "/fx/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ggcr", func(ctx context.Context) error { _, err := remote.Get(ref, r.Options(ctx)...); return err }},
		{"http client", func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
			if err != nil {
				return err
			}
			resp, err := r.HTTPClient().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tc.call(ctx) }()
			time.Sleep(200 * time.Millisecond) // in the first wait
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want the cancellation", err)
				}
			case <-time.After(30 * time.Second): // half the Retry-After
				t.Fatal("still waiting long after the cancellation")
			}
		})
	}
}
