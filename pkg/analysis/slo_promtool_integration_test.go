//go:build integration

package analysis

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSLOQueriesInPromtool evaluates the SLO checks' queries, exactly as
// DefaultSLO renders them, in Prometheus's own engine (Debian's promtool,
// which scripts/install-deps installs): the values they give for the
// series an app exports.
func TestSLOQueriesInPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool (Debian's prometheus package, installed by scripts/install-deps): %v", err)
	}
	checks, err := DefaultSLO(30 * time.Second).Checks()
	if err != nil {
		t.Fatal(err)
	}
	v := Vars{Namespace: "production", Deployment: "fx-platform-blue", Color: "blue", Pods: "fx-platform-blue-5d4f8b9c7-[a-z0-9]+"}
	errRate, _, err := checks[0].Render(v)
	if err != nil {
		t.Fatal(err)
	}
	p95, _, err := checks[1].Render(v)
	if err != nil {
		t.Fatal(err)
	}
	const pod, oldPod = `namespace="production",pod="fx-platform-blue-5d4f8b9c7-abcde"`, `namespace="production",pod="fx-platform-blue-77aa8b9c7-qqqqq"`
	series := func(name, labels, values string) string {
		return fmt.Sprintf("      - series: '%s{%s}'\n        values: '%s'\n", name, labels, values)
	}
	expect := func(expr, value string) string {
		out := fmt.Sprintf("      - expr: '%s'\n        eval_time: 5m\n", strings.ReplaceAll(expr, "'", "''"))
		if value == "" {
			return out + "        exp_samples: []\n"
		}
		return out + "        exp_samples:\n          - labels: '{}'\n            value: " + value + "\n"
	}
	cases := []struct{ name, series, expr, want string }{
		{"only 200s: 0 %", series("http_requests_total", pod+`,code="200"`, "0+100x40"), errRate, "0"},
		{"5 % 500s, an older release's pod left out: 5 %",
			series("http_requests_total", pod+`,code="200"`, "0+95x40") + series("http_requests_total", pod+`,code="500"`, "0+5x40") +
				series("http_requests_total", oldPod+`,code="500"`, "0+50x40"), errRate, "0.05"},
		{"a status label, not code: no data", series("http_requests_total", pod+`,status="500"`, "0+5x40"), errRate, ""},
		{"no requests: no data", series("up", `job="x"`, "1x40"), errRate, ""},
		{"latency 90/10 % below 0.25/0.75 s: p95 0.5 s",
			series("http_request_duration_seconds_bucket", pod+`,le="0.25"`, "0+90x40") + series("http_request_duration_seconds_bucket", pod+`,le="0.75"`, "0+100x40") +
				series("http_request_duration_seconds_bucket", pod+`,le="+Inf"`, "0+100x40"),
			// rate() extrapolates: the value is 0.5 within floating point.
			"abs((" + p95 + ") - 0.5) < bool 0.000001", "1"},
	}
	var b strings.Builder
	b.WriteString("rule_files: [rules.yml]\nevaluation_interval: 15s\ntests:\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "  # %s\n  - interval: 15s\n    input_series:\n%s    promql_expr_test:\n%s", c.name, c.series, expect(c.expr, c.want))
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"rules.yml": "groups: []\n", "test.yml": b.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\ntest file:\n%s", err, out, b.String())
	}
}
