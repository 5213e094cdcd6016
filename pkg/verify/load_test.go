package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadRun(t *testing.T) {
	tests := []struct {
		name        string
		requests    int
		concurrency int
		rate        int
		errorEvery  int32 // every n-th request answers 500; 0: never
		wantErrors  int
	}{
		{name: "closed loop, all good", requests: 200, concurrency: 8},
		{name: "closed loop, 2% errors", requests: 500, concurrency: 4, errorEvery: 50, wantErrors: 10},
		{name: "fixed rate", requests: 20, concurrency: 2, rate: 200},
		{name: "one worker", requests: 10, concurrency: 1, errorEvery: 1, wantErrors: 10},
		// In the closed loop, fortio's runner would send one request per
		// worker beyond the count: the probe never asks it to. At a fixed
		// rate, it runs fewer workers for fewer than two requests each.
		{name: "fewer requests than workers", requests: 3, concurrency: 8},
		{name: "fixed rate, fewer requests than twice the workers", requests: 5, concurrency: 4, rate: 500},
		{name: "fixed rate, one request", requests: 1, concurrency: 4, rate: 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var mu sync.Mutex
			conns := map[string]bool{}
			base := serve(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				conns[r.RemoteAddr] = true
				mu.Unlock()
				if n := calls.Add(1); tc.errorEvery > 0 && n%tc.errorEvery == 0 {
					http.Error(w, "boom", http.StatusInternalServerError)
					return
				}
				w.Write([]byte(`{"status":"ok"}`))
			})
			target, _ := JoinURL(base, "/api/health")
			res, err := Load{URL: target, Requests: tc.requests, Concurrency: tc.concurrency, Rate: tc.rate}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := int(calls.Load()); got != tc.requests || res.Requests != tc.requests {
				t.Errorf("server saw %d requests, result counts %d; want %d", got, res.Requests, tc.requests)
			}
			if res.Errors != tc.wantErrors || res.StatusCodes["500"] != tc.wantErrors {
				t.Errorf("errors = %d (codes %v), want %d", res.Errors, res.StatusCodes, tc.wantErrors)
			}
			if want := float64(tc.wantErrors) / float64(tc.requests); res.ErrorRate != want {
				t.Errorf("error rate = %v, want %v", res.ErrorRate, want)
			}
			// net/http may dial one more connection while a worker's own
			// is being returned to the pool; without reuse there would be
			// one per request.
			if len(conns) > 2*tc.concurrency {
				t.Errorf("%d connections for %d workers and %d requests: connections are not reused", len(conns), tc.concurrency, tc.requests)
			}
			if res.Truncated || res.P95 <= 0 || res.P50 > res.P95 || res.P95 > res.P99 || (res.Throughput > 0) != (tc.wantErrors < tc.requests) {
				t.Errorf("implausible result %+v", res)
			}
			total := 0
			for _, b := range res.Histogram {
				total += b.Count
			}
			if total != tc.requests {
				t.Errorf("histogram holds %d requests, want %d", total, tc.requests)
			}
		})
	}
}

func TestLoadDeadlineCutsTheProbeShort(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select { // never answers before the probe's deadline
		case <-release:
		case <-r.Context().Done():
		}
	})
	res, err := Load{URL: base, Requests: 100, Concurrency: 4, Deadline: 100 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Requests != 0 {
		t.Errorf("result = %+v, want truncated with no answered requests", res)
	}
}

func TestLoadCancelled(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Load{URL: base, Requests: 10}).Run(ctx); err != context.Canceled {
		t.Fatalf("Run() error = %v, want context.Canceled", err)
	}
}

func TestLoadValidate(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	for name, l := range map[string]Load{
		"no URL":           {Requests: 1},
		"no requests":      {URL: base},
		"negative workers": {URL: base, Requests: 1, Concurrency: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := l.Run(context.Background()); err == nil {
				t.Error("Run() accepted it")
			}
		})
	}
}

func TestLoadRequestTimeout(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	res, err := Load{URL: base, Requests: 4, Concurrency: 2, RequestTimeout: 20 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated || res.Requests != 4 || res.Errors != 4 {
		t.Fatalf("result = %+v, want 4 requests, all errors", res)
	}
	if len(res.TopErrors) != 1 || !strings.Contains(res.TopErrors[0], "no answer within 20ms") {
		t.Errorf("top errors = %q, want one naming the timeout", res.TopErrors)
	}
}

func TestLoadConnectionDroppedIsAnError(t *testing.T) {
	var calls atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // no answer at all
		}
	})
	res, err := Load{URL: base, Requests: 6, Concurrency: 2}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 6 || res.Errors != 6 || res.Throughput != 0 {
		t.Errorf("result = %+v, want 6 requests, all errors", res)
	}
	// One retry each, as net/http retries a kept-alive connection the
	// server closed; not more.
	if got := calls.Load(); got != 12 {
		t.Errorf("server saw %d requests, want 12 (6 and one retry each)", got)
	}
}

func TestLoadRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	target, _ := JoinURL(base, "/api/quote%2Fusd?pair=EUR/USD")
	res, err := Load{URL: target, Requests: 3, Concurrency: 1}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.StatusCodes["302"] != 3 {
		t.Errorf("result = %+v, want 3 answers 302 (redirects not followed), no errors", res)
	}
	if len(seen) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(seen))
	}
	r := seen[0]
	if r.Method != http.MethodGet || r.URL.RequestURI() != target.RequestURI() || r.Host != target.Host ||
		r.Header.Get("User-Agent") != "deploy-actions-verify" || r.Header.Get("Accept-Encoding") != "" || r.ProtoMajor != 1 ||
		r.Header.Get("X-Vegeta-Seq") != "" {
		t.Errorf("request = %s %s (host %s, %s), headers %v", r.Method, r.URL.RequestURI(), r.Host, r.Proto, r.Header)
	}
}

func TestLoadHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	// The test server's certificate is not one the system trusts: every
	// request fails its handshake, and says so.
	res, err := Load{URL: u, Requests: 2, Concurrency: 1}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 2 || len(res.TopErrors) != 1 || !strings.Contains(res.TopErrors[0], "certificate") {
		t.Errorf("result = %+v, want 2 certificate errors", res)
	}
}

func TestLoadBadScheme(t *testing.T) {
	u, _ := url.Parse("ftp://127.0.0.1/x")
	if _, err := (Load{URL: u, Requests: 1}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Errorf("Run() error = %v, want one naming the scheme", err)
	}
}

func TestLoadCancelledInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(cancel)      // the run is cancelled while requests are in flight
		<-r.Context().Done() // and they end only when the probe drops them
	})
	// Neither a request's timeout nor the probe's deadline would end it
	// within the test's lifetime: only the cancellation does.
	_, err := Load{URL: base, Requests: 10, Concurrency: 2, RequestTimeout: time.Hour, Deadline: time.Hour}.Run(ctx)
	if err != context.Canceled {
		t.Fatalf("Run() error = %v, want context.Canceled", err)
	}
}

func TestLatencies(t *testing.T) {
	l := newLatencies(20 * time.Second)
	// 1 ms to 1000 ms, in two batches as two workers hand them over.
	var a, b []time.Duration
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Millisecond
		if i%2 == 0 {
			a = append(a, d)
		} else {
			b = append(b, d)
		}
	}
	l.add(a)
	l.add(b)
	for q, want := range map[float64]time.Duration{50: 500 * time.Millisecond, 95: 950 * time.Millisecond, 99: 990 * time.Millisecond} {
		got := l.percentile(q)
		if diff := got - want; diff < 0 || diff > want/1000 {
			t.Errorf("p%v = %s, want %s to 0.1%%", q, got, want)
		}
	}
	l.add([]time.Duration{time.Minute}) // beyond the histogram's range
	if l.n != 1001 || l.max != time.Minute || l.sum != 500500*time.Millisecond+time.Minute {
		t.Errorf("n %d, max %s, sum %s", l.n, l.max, l.sum)
	}
	if got := l.percentile(100); got < 20*time.Second || got > 20*time.Second+20*time.Millisecond {
		t.Errorf("p100 = %s, want the histogram's highest value, 20s", got)
	}
	// Buckets are [Low, High): 1 ms is in the second one, 2 ms in the third.
	want := []int{0, 1, 3, 5, 15, 25, 50, 150, 250, 500, 1, 0, 1}
	if !slices.Equal(l.buckets, want) {
		t.Errorf("buckets = %v, want %v", l.buckets, want)
	}
}
