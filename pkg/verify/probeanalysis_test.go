package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// TestProbeAnalysis: the colour's URL is filled in, its error rate and p95
// graded against the SLO; a colour nobody answers for is inconclusive,
// never a pass.
func TestProbeAnalysis(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/health" {
			http.NotFound(w, r)
			return
		}
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	p, err := NewProbeAnalysis("http://{{if eq .Color \"green\"}}"+host+"{{else}}127.0.0.1:1{{end}}", "/api/health", 50, 500, 0.001, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.reach = time.Second
	rs := p.Run(context.Background(), analysis.Vars{Color: "green"})
	if len(rs) != 2 || rs[0].Name != "error-rate" || rs[1].Name != "p95-latency" {
		t.Fatalf("results %+v", rs)
	}
	if rs[0].Status != analysis.Fail || rs[0].Value < 0.05 || rs[0].SampleCount != 50 {
		t.Errorf("error-rate %+v: want a fail at about 10 %% of 50 requests", rs[0])
	}
	if rs[1].Status != analysis.Pass {
		t.Errorf("p95 %+v: want a pass", rs[1])
	}
	for _, r := range p.Run(context.Background(), analysis.Vars{Color: "blue"}) {
		if r.Status == analysis.Pass {
			t.Errorf("%s passed for a colour nobody answers for: %+v", r.Name, r)
		}
	}
	for _, bad := range []string{"http://{{.Colour}}", "ftp://x", "http://x/?q=1", "http://{{"} {
		if _, err := NewProbeAnalysis(bad, "/api/health", 1, 1, 0, 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
