package verify

import (
	"context"
	"net/http"
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
