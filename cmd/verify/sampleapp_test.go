package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := testMain(m)
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// sampleAppBinary builds testdata/sample-app once per test binary.
func sampleAppBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "verify-sample-app-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "sample-app")
		// The test runs in cmd/verify; the sample app is at the module root.
		if err := actiontest.Build(".", binPath, "../../testdata/sample-app"); err != nil {
			buildErr = err
		}
	})
	if buildErr != nil {
		t.Fatalf("building sample-app: %v", buildErr)
	}
	return binPath
}

// startSampleApp runs the sample app as a local process with the given
// fault flags and returns its address (127.0.0.1:port).
func startSampleApp(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(sampleAppBinary(t), append([]string{"-listen", "127.0.0.1:0", "-version", "v1"}, args...)...)
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
		t.Fatalf("reading the sample app's address: %v", err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
}

// TestAgainstSampleApp runs verify against the sample app with faults far
// from the thresholds, so the outcome never depends on timing: 2 % errors
// against a 0.1 % target, 800 ms latency against 500 ms, a health path that
// always answers 503, and health that turns ready after 3 s within a 60 s
// health-timeout.
func TestAgainstSampleApp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		inputs   map[string]string
		wantPass bool
		wantErr  []string // in the one error annotation
		notErr   []string
	}{
		{name: "healthy", wantPass: true},
		{
			name: "2% errors fail on error rate", args: []string{"-error-rate", "0.02"},
			inputs:  map[string]string{"load-requests": "2000"},
			wantErr: []string{"Error Rate is", "target < 0.1%"}, notErr: []string{"health path", "Response Time"},
		},
		{
			name: "800ms latency fails on p95", args: []string{"-latency", "800ms"},
			inputs:  map[string]string{"load-requests": "40", "min-throughput": "1/min"},
			wantErr: []string{"Response Time (p95) is", "target < 500 ms"}, notErr: []string{"Error Rate", "health path"},
		},
		{
			name: "a failing health path is named", args: []string{"-fail-health", "/api/health/database"},
			inputs:  map[string]string{"health-timeout": "3s"},
			wantErr: []string{`health path "/api/health/database"`, "503"}, notErr: []string{`"/api/health"`, "external"},
		},
		{
			name: "ready after 3s passes within health-timeout", args: []string{"-ready-after", "3s"},
			inputs: map[string]string{"health-timeout": "60s"}, wantPass: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"url": "http://" + startSampleApp(t, tc.args...), "load-path": "/api/strategy"}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			r := actiontest.New(t, inputs)
			code := r.Run(context.Background(), spec, run)
			out := r.Outputs()
			t.Logf("outputs: %v", out)
			if tc.wantPass {
				if code != 0 || out["passed"] != "true" {
					t.Fatalf("exit %d, passed=%q; errors %q\n%s", code, out["passed"], r.Annotations("error"), r.Summary())
				}
				return
			}
			errs := r.Annotations("error")
			if code != 1 || out["passed"] != "false" || len(errs) != 1 {
				t.Fatalf("exit %d, passed=%q, errors %q; want a failure", code, out["passed"], errs)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errs[0], w) {
					t.Errorf("error %q lacks %q", errs[0], w)
				}
			}
			for _, w := range tc.notErr {
				if strings.Contains(errs[0], w) {
					t.Errorf("error %q should not mention %q", errs[0], w)
				}
			}
			if !strings.Contains(r.Summary(), "❌") {
				t.Errorf("summary has no ❌:\n%s", r.Summary())
			}
		})
	}
}
