package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func serve(t *testing.T, h http.HandlerFunc) *url.URL {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

func TestHealthCheck(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		body        string
		header      map[string]string
		wantHealthy bool
		wantProblem string
	}{
		{name: "200 plain text", code: 200, body: "fine", wantHealthy: true},
		{name: "204 empty", code: 204, wantHealthy: true},
		{name: "JSON status ok", code: 200, body: `{"status":"ok"}`, wantHealthy: true},
		{name: "JSON status UP", code: 200, body: `{"status":"UP","checks":[]}`, wantHealthy: true},
		{name: "JSON status healthy", code: 200, body: `{"status":"healthy"}`, wantHealthy: true},
		{name: "JSON without status", code: 200, body: `{"uptime":3}`, wantHealthy: true},
		{name: "JSON array", code: 200, body: `["status"]`, wantHealthy: true},
		{name: "JSON status degraded", code: 200, body: `{"status":"degraded"}`, wantProblem: `"degraded"`},
		{name: "JSON status not a string", code: 200, body: `{"status":false}`, wantProblem: "not a string"},
		{name: "503", code: 503, body: `{"status":"ok"}`, wantProblem: "503"},
		{name: "404", code: 404, wantProblem: "404"},
		{name: "redirect is not followed", code: 302, header: map[string]string{"Location": "http://example.com/"}, wantProblem: "302"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := serve(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.code)
				fmt.Fprint(w, tc.body)
			})
			got := Health{}.Check(context.Background(), base, "/api/health")
			if got.Healthy != tc.wantHealthy {
				t.Fatalf("Healthy = %v (%s), want %v", got.Healthy, got.Problem, tc.wantHealthy)
			}
			if !strings.Contains(got.Problem, tc.wantProblem) {
				t.Errorf("Problem = %q, want it to contain %q", got.Problem, tc.wantProblem)
			}
		})
	}
}

func TestHealthWaitRetriesUntilHealthy(t *testing.T) {
	var calls atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			http.Error(w, `{"status":"starting"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	h := Health{Timeout: time.Minute, Interval: time.Millisecond}
	results, err := h.Wait(context.Background(), base, []string{"/api/health"})
	if err != nil {
		t.Fatalf("Wait() = %v", err)
	}
	if !results[0].Healthy || results[0].Attempts != 4 {
		t.Errorf("result = %+v, want healthy at the 4th attempt", results[0])
	}
}

func TestHealthWaitNamesTheFailingPath(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/svc/api/health/database" {
			http.Error(w, "db down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	base.Path = "/svc"
	h := Health{Timeout: 50 * time.Millisecond, Interval: 10 * time.Millisecond}
	results, err := h.Wait(context.Background(), base, []string{"/api/health", "/api/health/database", "/api/health/external"})
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), `"/api/health/database"`) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Wait() error = %v, want ErrUnhealthy naming /api/health/database", err)
	}
	if strings.Contains(err.Error(), `"/api/health"`) || strings.Contains(err.Error(), "external") {
		t.Errorf("Wait() error names healthy paths: %v", err)
	}
	if !results[0].Healthy || results[1].Healthy || !results[2].Healthy {
		t.Errorf("results = %+v", results)
	}
}

func TestHealthUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base, _ := url.Parse(srv.URL)
	srv.Close()
	_, err := Health{}.Wait(context.Background(), base, []string{"/api/health"})
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Wait() error = %v", err)
	}
}

func TestJoinURL(t *testing.T) {
	tests := []struct {
		name, base, path, want string
	}{
		{"root", "http://127.0.0.1:8080", "/api/health", "http://127.0.0.1:8080/api/health"},
		{"base with slash", "http://127.0.0.1:8080/", "/api/health", "http://127.0.0.1:8080/api/health"},
		{"base with prefix", "https://example.test/app/", "/api/health", "https://example.test/app/api/health"},
		{"query kept", "http://h", "/api/health?full=1", "http://h/api/health?full=1"},
		{"relative path refused", "http://h", "api/health", ""},
		{"another host refused", "http://h", "//evil.test/x", ""},
		{"absolute URL refused", "http://h", "http://evil.test/x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := url.Parse(tc.base)
			got, err := JoinURL(base, tc.path)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("JoinURL(%q) = %s, want an error", tc.path, got)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("JoinURL(%q, %q) = %v, %v; want %s", tc.base, tc.path, got, err, tc.want)
			}
		})
	}
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"http://127.0.0.1:8080", true},
		{"https://staging.example.test/app", true},
		{"127.0.0.1:8080", false},
		{"ftp://h", false},
		{"http://", false},
		{"http://h/?q=1", false},
		{"http://user:pw@h", false},
		{"http://h:port", false},
		{"::", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseBaseURL(tc.in)
			if (err == nil) != tc.want {
				t.Errorf("ParseBaseURL(%q) error = %v, want ok=%v", tc.in, err, tc.want)
			}
		})
	}
}
