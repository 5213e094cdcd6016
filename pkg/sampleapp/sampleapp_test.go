package sampleapp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeStore is a database that answers s, or fails with err.
type fakeStore struct {
	s   Strategy
	err error
}

func (f fakeStore) Ping(context.Context) error { return f.err }
func (f fakeStore) FirstStrategy(context.Context) (Strategy, error) {
	return f.s, f.err
}

// fakeClock advances only when Sleep is called.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time                           { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) { c.now = c.now.Add(d) }

func TestHandler(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		advance  time.Duration // clock moved after the handler is made
		random   float64       // what the random source returns
		path     string
		wantCode int
		wantBody string // substring of the body
	}{
		{name: "health ok", path: PathHealth, wantCode: 200, wantBody: `"status":"ok"`},
		{name: "database health ok", path: PathHealthDatabase, wantCode: 200},
		{name: "external health ok", path: PathHealthExternal, wantCode: 200},
		{name: "strategy", cfg: Config{Version: "v1.2.3", Colour: "green"}, path: PathStrategy, wantCode: 200, wantBody: `"version":"v1.2.3"`},
		{name: "unknown path", path: "/nope", wantCode: 404},
		{name: "failing database health", cfg: Config{FailHealth: PathHealthDatabase}, path: PathHealthDatabase, wantCode: 503, wantBody: "failing"},
		{name: "failing database health leaves main health", cfg: Config{FailHealth: PathHealthDatabase}, path: PathHealth, wantCode: 200},
		{name: "not ready yet", cfg: Config{ReadyAfter: 5 * time.Second}, advance: 4 * time.Second, path: PathHealth, wantCode: 503, wantBody: "starting"},
		{name: "ready after the delay", cfg: Config{ReadyAfter: 5 * time.Second}, advance: 5 * time.Second, path: PathHealth, wantCode: 200},
		{name: "injected error hits", cfg: Config{ErrorRate: 0.1}, random: 0.05, path: PathStrategy, wantCode: 500, wantBody: "injected"},
		{name: "injected error misses", cfg: Config{ErrorRate: 0.1}, random: 0.5, path: PathStrategy, wantCode: 200},
		{name: "database reachable", cfg: Config{Store: fakeStore{}}, path: PathHealthDatabase, wantCode: 200, wantBody: `"status":"ok"`},
		{name: "database down", cfg: Config{Store: fakeStore{err: errors.New("connection refused")}}, path: PathHealthDatabase, wantCode: 503, wantBody: "connection refused"},
		{name: "database down leaves main health", cfg: Config{Store: fakeStore{err: errors.New("connection refused")}}, path: PathHealth, wantCode: 200},
		{name: "strategy from the database", cfg: Config{Store: fakeStore{s: Strategy{Name: "carry", Pair: "AUDJPY", Signal: "buy"}}}, path: PathStrategy, wantCode: 200, wantBody: `"signal":"buy","strategy":"carry"`},
		{name: "a schema the release cannot read", cfg: Config{Store: fakeStore{err: errors.New(`column "signal" does not exist`)}}, path: PathStrategy, wantCode: 500, wantBody: "signal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
			cfg := tc.cfg
			cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
			cfg.Random = func() float64 { return tc.random }
			h, err := NewHandler(cfg, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			clock.now = clock.now.Add(tc.advance)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.wantCode {
				t.Errorf("GET %s: got %d, want %d (body %s)", tc.path, rec.Code, tc.wantCode, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("GET %s: body %s does not contain %s", tc.path, rec.Body, tc.wantBody)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	reg := prometheus.NewRegistry()
	calls := 0
	h, err := NewHandler(Config{
		Version: "v1", Colour: "blue", Latency: 300 * time.Millisecond, ErrorRate: 0.5,
		Now: clock.Now, Sleep: clock.Sleep,
		Random: func() float64 { calls++; return []float64{0.9, 0.1}[calls%2] }, // alternate miss, hit
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, PathStrategy, nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathMetrics, nil))
	body := rec.Body.String()
	for _, want := range []string{
		`http_requests_total{code="200",colour="blue",method="GET",path="/api/strategy",version="v1"} 2`,
		`http_requests_total{code="500",colour="blue",method="GET",path="/api/strategy",version="v1"} 2`,
		`http_request_duration_seconds_bucket{colour="blue",path="/api/strategy",version="v1",le="0.25"} 0`,
		`http_request_duration_seconds_bucket{colour="blue",path="/api/strategy",version="v1",le="0.5"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, body)
		}
	}
	if n := testutil.CollectAndCount(reg, "http_requests_total"); n != 2 {
		t.Errorf("got %d request series, want 2", n)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "error rate above 1", cfg: Config{ErrorRate: 1.5}},
		{name: "negative latency", cfg: Config{Latency: -time.Second}},
		{name: "unknown health path", cfg: Config{FailHealth: "/api/nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHandler(tc.cfg, prometheus.NewRegistry()); err == nil {
				t.Error("NewHandler succeeded, want an error")
			}
		})
	}
}

// TestBinary builds testdata/sample-app and runs it as a process, the way
// the sandbox tests stand it in for pods.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sample-app")
	if err := actiontest.Build(".", bin, "../../testdata/sample-app"); err != nil {
		t.Fatalf("building sample-app: %v", err)
	}
	tests := []struct {
		name     string
		args     []string
		path     string
		wantCode int
	}{
		{name: "healthy", args: nil, path: PathHealth, wantCode: 200},
		{name: "failing external check", args: []string{"-fail-health", PathHealthExternal}, path: PathHealthExternal, wantCode: 503},
		{name: "every request fails", args: []string{"-error-rate", "1"}, path: PathStrategy, wantCode: 500},
		{name: "metrics", args: nil, path: PathMetrics, wantCode: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-version", "v9"}, tc.args...)...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the address: %v", err)
			}
			addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
			resp, err := http.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("GET %s: got %d, want %d (%s)", tc.path, resp.StatusCode, tc.wantCode, body)
			}
			if tc.path != PathMetrics {
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil || m["version"] != "v9" {
					t.Errorf("body %s: want JSON with version v9 (%v)", body, err)
				}
			}
		})
	}
}

// Every answer names the release that gave it, errors and 404s included,
// so a probe through a Service can count answers by version.
func TestVersionHeader(t *testing.T) {
	h, err := NewHandler(Config{Version: "v2.0.0", Colour: "green", ErrorRate: 1}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{PathHealth, PathStrategy, "/nope", PathMetrics} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if got := rec.Header().Get(HeaderVersion); got != "v2.0.0" {
			t.Errorf("%s (%d): %s = %q, want v2.0.0", path, rec.Code, HeaderVersion, got)
		}
		if got := rec.Header().Get(HeaderColour); got != "green" {
			t.Errorf("%s: %s = %q, want green", path, HeaderColour, got)
		}
	}
}
