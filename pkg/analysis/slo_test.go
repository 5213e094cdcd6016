package analysis

import (
	"strings"
	"testing"
	"time"
)

func TestSLOChecks(t *testing.T) {
	checks, err := DefaultSLO(2 * time.Second).Checks()
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || checks[0].Name != "error-rate" || checks[1].Name != "p95-latency" {
		t.Fatalf("checks %+v", checks)
	}
	q, samples, err := checks[0].Render(Vars{Namespace: "production", Deployment: "fx-platform-green", Color: "green", Pods: `fx-platform-green-7df6445f66-[a-z0-9]+`})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`namespace="production"`, `pod=~"fx-platform-green-7df6445f66-[a-z0-9]+"`, `code=~"5.."`, `or 0 * sum(rate(http_requests_total{`, "[10s]"} {
		if !strings.Contains(q, want) {
			t.Errorf("error-rate query %s lacks %s", q, want)
		}
	}
	if !strings.HasPrefix(samples, "sum(increase(http_requests_total{") {
		t.Errorf("samples %s", samples)
	}
	if th := checks[0].Threshold; th.Value != 0.001 || th.Allows(0.002) || !th.Allows(0.0005) {
		t.Errorf("error-rate threshold %+v: want at most 0.1 %%", th)
	}
	if th := checks[1].Threshold; th.Value != 0.5 || th.Allows(0.6) {
		t.Errorf("p95 threshold %+v: want at most 500 ms", th)
	}
	q, _, _ = checks[1].Render(Vars{Namespace: "p", Deployment: "d-blue"})
	if !strings.HasPrefix(q, "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{") {
		t.Errorf("p95 query %s", q)
	}

	for _, bad := range []func(*SLO){
		func(s *SLO) { s.RequestsMetric = "http-requests" },
		func(s *SLO) { s.LatencyMetric = "9x" },
		func(s *SLO) { s.Selector = "{{.Colour}}" },
		func(s *SLO) { s.MaxErrorRate = 2 },
	} {
		s := DefaultSLO(time.Minute)
		bad(&s)
		if _, err := s.Checks(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestCheckSelector(t *testing.T) {
	for _, ok := range []string{DefaultSelector, `namespace="p"`, `a="x,y", b!="z\"q"`, `job=~"api|web", code!~"2.."`} {
		if err := CheckSelector(ok, SampleVars); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{`namespace=production`, `namespace="p"}`, `namespace="p",`, `"p"`, `a=~"("`, `{{.Colour}}="x"`, `a="x" b="y"`, ``} {
		if err := CheckSelector(bad, SampleVars); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
