package verify

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(ms int, v string) Sample { return Sample{At: at(ms), Status: 200, Version: v} }
	bad := func(ms int, why string) Sample { return Sample{At: at(ms), Err: why} }
	tests := []struct {
		name       string
		samples    []Sample
		failed     int
		gap        time.Duration
		versions   map[string]int
		avail      float64
		wantReason string
	}{
		{name: "none", avail: 1, versions: map[string]int{}},
		{name: "all ok", samples: []Sample{ok(0, "v1"), ok(5, "v1"), ok(10, "v2")}, avail: 1, versions: map[string]int{"v1": 2, "v2": 1}},
		{name: "a run of failures between answers", samples: []Sample{ok(0, "v1"), bad(5, "connection refused"), bad(10, "connection refused"), ok(20, "v2")},
			failed: 2, gap: 20 * time.Millisecond, avail: 0.5, versions: map[string]int{"v1": 1, "v2": 1}, wantReason: "connection refused"},
		{name: "the longest of two runs", samples: []Sample{ok(0, "v1"), bad(5, "timeout"), ok(10, "v1"), bad(15, "timeout"), bad(40, "timeout"), ok(50, "v1")},
			failed: 3, gap: 40 * time.Millisecond, avail: 0.5, versions: map[string]int{"v1": 3}, wantReason: "timeout"},
		{name: "failing at the end", samples: []Sample{ok(0, "v1"), bad(10, "status 503"), bad(30, "status 503")},
			failed: 2, gap: 30 * time.Millisecond, avail: 1.0 / 3, versions: map[string]int{"v1": 1}, wantReason: "status 503"},
		{name: "failing from the start", samples: []Sample{bad(0, "status 503"), bad(10, "status 503"), ok(25, "v1")},
			failed: 2, gap: 25 * time.Millisecond, avail: 1.0 / 3, versions: map[string]int{"v1": 1}, wantReason: "status 503"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Summarize(tc.samples)
			if r.Requests != len(tc.samples) || r.Failed != tc.failed {
				t.Errorf("requests, failed = %d, %d; want %d, %d", r.Requests, r.Failed, len(tc.samples), tc.failed)
			}
			if r.LongestGap != tc.gap {
				t.Errorf("longest gap = %s, want %s", r.LongestGap, tc.gap)
			}
			if d := r.Availability - tc.avail; d > 1e-9 || d < -1e-9 {
				t.Errorf("availability = %v, want %v", r.Availability, tc.avail)
			}
			if len(r.Versions) != len(tc.versions) {
				t.Errorf("versions = %v, want %v", r.Versions, tc.versions)
			}
			for v, n := range tc.versions {
				if r.Versions[v] != n {
					t.Errorf("versions[%q] = %d, want %d", v, r.Versions[v], n)
				}
			}
			if tc.wantReason != "" && r.Failures[tc.wantReason] != tc.failed {
				t.Errorf("failures = %v, want %d of %q", r.Failures, tc.failed, tc.wantReason)
			}
		})
	}
}

// versionServer answers 200 with the version in its header; fail makes
// every n-th request answer 503.
func versionServer(t *testing.T, version *atomic.Value, failEvery int64) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version.Load().(string))
		if failEvery > 0 && n.Add(1)%failEvery == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMonitorCountsVersionsAndFailures(t *testing.T) {
	var version atomic.Value
	version.Store("v1")
	srv := versionServer(t, &version, 10)
	m, err := StartAvailability(context.Background(), AvailabilityOptions{URL: srv.URL, Rate: 500, MaxRequests: 200, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Switch halfway through, as a Service switch would.
	var switched time.Time
	for len(m.Samples()) < 100 {
		time.Sleep(time.Millisecond)
	}
	switched = time.Now()
	version.Store("v2")
	<-m.Done()
	r := m.Stop()
	if r.Requests != 200 {
		t.Fatalf("requests = %d, want 200 (MaxRequests)", r.Requests)
	}
	if r.Failed != 20 || r.Failures["status 503"] != 20 {
		t.Errorf("failed = %d (%v), want 20 answers of status 503", r.Failed, r.Failures)
	}
	if r.FailedVersions["v1"]+r.FailedVersions["v2"] != 20 {
		t.Errorf("failed answers by version = %v, want the 20 503s", r.FailedVersions)
	}
	if r.Versions["v1"]+r.Versions["v2"] != 180 || r.Versions["v1"] == 0 || r.Versions["v2"] == 0 {
		t.Errorf("versions = %v, want 180 answers from v1 and v2", r.Versions)
	}
	after := m.Since(switched.Add(50 * time.Millisecond))
	if after.Versions["v1"] != 0 {
		t.Errorf("after the switch: %v, want only v2", after)
	}
	if !strings.Contains(r.String(), "200 requests, 20 failed") {
		t.Errorf("String() = %q", r.String())
	}
}

func TestMonitorSendsHost(t *testing.T) {
	var hosts sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts.Store(r.Host, true) }))
	defer srv.Close()
	m, err := StartAvailability(context.Background(), AvailabilityOptions{URL: srv.URL, Host: "app.sandbox.test", Rate: 100, MaxRequests: 5, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	if r := m.Stop(); r.Failed != 0 {
		t.Fatalf("report %v", r)
	}
	n := 0
	hosts.Range(func(k, _ any) bool {
		n++
		if k != "app.sandbox.test" {
			t.Errorf("Host %q, want app.sandbox.test", k)
		}
		return true
	})
	if n != 1 {
		t.Errorf("%d distinct Host headers, want 1", n)
	}
}

func TestMonitorConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, err := StartAvailability(context.Background(), AvailabilityOptions{URL: "http://" + addr + "/", Rate: 200, MaxRequests: 20, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	r := m.Stop()
	if r.Requests != 20 || r.Failed != 20 || r.Failures["connection refused"] != 20 {
		t.Errorf("report = %v, want 20 requests refused", r)
	}
	if r.Availability != 0 || r.LongestGap <= 0 {
		t.Errorf("availability %v, gap %s; want 0 and a gap", r.Availability, r.LongestGap)
	}
}

func TestMonitorStopsAtItsBounds(t *testing.T) {
	var version atomic.Value
	version.Store("v1")
	srv := versionServer(t, &version, 0)
	m, err := StartAvailability(context.Background(), AvailabilityOptions{URL: srv.URL, Rate: 100, MaxRequests: 1_000_000, MaxDuration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(time.Minute):
		t.Fatal("the probe did not stop at MaxDuration")
	}
	if r := m.Stop(); r.Requests == 0 || r.Requests > 100 || r.Failed != 0 {
		t.Errorf("report = %v; want a few requests in 300 ms at 100/s, none failed", r)
	}
}

func TestAvailabilityOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts AvailabilityOptions
		want string
	}{
		{"no scheme", AvailabilityOptions{URL: "127.0.0.1/x", Rate: 1, MaxRequests: 1, MaxDuration: time.Second}, "not an http(s) URL"},
		{"file URL", AvailabilityOptions{URL: "file:///etc/passwd", Rate: 1, MaxRequests: 1, MaxDuration: time.Second}, "not an http(s) URL"},
		{"zero rate", AvailabilityOptions{URL: "http://127.0.0.1/", MaxRequests: 1, MaxDuration: time.Second}, "rate"},
		{"unbounded", AvailabilityOptions{URL: "http://127.0.0.1/", Rate: 1}, "bounded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StartAvailability(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestMeetsAtTheBoundary(t *testing.T) {
	samples := make([]Sample, 1000)
	for i := range samples {
		samples[i] = Sample{Status: 200}
	}
	samples[0] = Sample{Err: "status 500", Status: 500}
	r := Summarize(samples) // 999 of 1000: exactly 99.9 %
	if min := 99.9 / 100; !r.Meets(min) {
		t.Errorf("%v does not meet %v", r.Availability, min)
	}
	samples[1] = samples[0]
	if r := Summarize(samples); r.Meets(0.999) {
		t.Errorf("998 of 1000 meets 99.9 %%")
	}
}

func TestRequire(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	mk := func(n, failed int, from time.Time) []Sample {
		out := make([]Sample, n)
		for i := range out {
			out[i] = Sample{At: from.Add(time.Duration(i) * time.Millisecond), Status: 200}
			if i < failed {
				out[i] = Sample{At: out[i].At, Status: 500, Err: "status 500"}
			}
		}
		return out
	}
	tests := []struct {
		name    string
		samples []Sample
		min     float64
		since   time.Time
		wantErr bool
	}{
		{name: "too few requests to judge", samples: mk(999, 5, t0), min: 0.999, since: t0},
		{name: "enough requests, below", samples: mk(1000, 2, t0), min: 0.999, since: t0, wantErr: true},
		{name: "enough requests, exactly the minimum", samples: mk(1000, 1, t0), min: 0.999, since: t0},
		{name: "failures before since do not count", samples: append(mk(500, 500, t0.Add(-time.Hour)), mk(1000, 0, t0)...), min: 0.999, since: t0},
		{name: "100 % wants every request", samples: mk(1, 1, t0), min: 1, since: t0, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Monitor{opts: AvailabilityOptions{URL: "http://127.0.0.1/"}, samples: tc.samples}
			err := m.Require(tc.min, tc.since)
			if (err != nil) != tc.wantErr {
				t.Errorf("Require = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestMaxInFlightHoldsASlowService(t *testing.T) {
	o := AvailabilityOptions{URL: "http://127.0.0.1/", Rate: 1000, MaxRequests: 1, MaxDuration: time.Second}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if o.MaxInFlight < 2000 {
		t.Errorf("MaxInFlight = %d at 1000 req/s with a 2 s timeout, want room for 2000 in flight", o.MaxInFlight)
	}
}
