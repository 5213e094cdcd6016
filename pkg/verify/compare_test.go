package verify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/compare"
)

// colours serves blue and green from two servers, each with its own delay
// and failure rule, and returns a base URL template that names them.
func colours(t *testing.T, blue, green http.HandlerFunc) string {
	t.Helper()
	b, g := httptest.NewServer(blue), httptest.NewServer(green)
	t.Cleanup(b.Close)
	t.Cleanup(g.Close)
	return `{{if eq .Color "blue"}}` + b.URL + `{{else}}` + g.URL + `{{end}}`
}

func slow(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { time.Sleep(d) }
}

// failing answers 500 to every nth request.
func failing(n int64) http.HandlerFunc {
	var count atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1)%n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}
}

func TestComparison(t *testing.T) {
	for _, tc := range []struct {
		name        string
		blue, green http.HandlerFunc
		metrics     []string
		critical    []string
		want        analysis.Status
		wantVerdict compare.Verdict
	}{
		{"20 % slower fails", slow(20 * time.Millisecond), slow(24 * time.Millisecond), []string{CompareLatency, CompareErrorRate}, nil, analysis.Fail, compare.Fail},
		{"equal passes", slow(20 * time.Millisecond), slow(20 * time.Millisecond), []string{CompareLatency, CompareErrorRate}, nil, analysis.Pass, compare.Pass},
		{"2 % errors against none fail, critical", slow(0), failing(50), []string{CompareLatency, CompareErrorRate}, []string{CompareErrorRate}, analysis.Fail, compare.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewComparison(colours(t, tc.blue, tc.green), "/", 600, 300, tc.metrics, tc.critical, compare.Defaults)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
			if len(res) != 1 {
				t.Fatalf("%d results, want 1", len(res))
			}
			r := res[0]
			if r.Status != tc.want || r.Comparison == nil || r.Comparison.Verdict != tc.wantVerdict {
				t.Fatalf("%s, want %s: %v", r.Status, tc.want, r.Error())
			}
			for _, m := range r.Comparison.Metrics {
				if m.Baseline.Samples < 600 || m.Candidate.Samples < 600 {
					t.Errorf("%s: %d and %d samples, want 600 a side", m.Name, m.Baseline.Samples, m.Candidate.Samples)
				}
			}
			if tc.want == analysis.Fail && !errors.Is(r.Error(), analysis.ErrCheckFailed) {
				t.Errorf("error %v does not wrap ErrCheckFailed", r.Error())
			}
		})
	}
}

// A colour that answers nothing is inconclusive, never a pass, and with no
// baseline there is nothing to compare.
func TestComparisonWithoutData(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	live := httptest.NewServer(http.NotFoundHandler())
	defer live.Close()
	c, err := NewComparison(`{{if eq .Color "blue"}}`+live.URL+`{{else}}`+dead.URL+`{{end}}`, "/", 50, 500, []string{CompareLatency}, nil, compare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	c.reach = 300 * time.Millisecond
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Status != analysis.Inconclusive || !errors.Is(res[0].Err, analysis.ErrUnavailable) {
		t.Fatalf("%+v, want inconclusive: unavailable", res)
	}
	if res := c.Run(context.Background(), analysis.Vars{Color: "green"}); res != nil {
		t.Errorf("no baseline: %+v, want no result", res)
	}
}

// Thin probes are topped up to the minimum sample: 20 requests a round
// against a minimum of 50 takes three rounds.
func TestComparisonTopsUp(t *testing.T) {
	// 5 ms answers: a server's microsecond jitter is no relative shift.
	c, err := NewComparison(colours(t, slow(5*time.Millisecond), slow(5*time.Millisecond)), "/", 20, 500, []string{CompareLatency, CompareErrorRate}, nil, compare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	res := c.Run(context.Background(), analysis.Vars{Color: "green", Baseline: "blue"})
	if len(res) != 1 || res[0].Status != analysis.Pass {
		t.Fatalf("%+v, want a pass", res)
	}
	for _, m := range res[0].Comparison.Metrics {
		if m.Baseline.Samples != 60 || m.Candidate.Samples != 60 {
			t.Errorf("%s: %d and %d samples, want 60 (3 rounds of 20)", m.Name, m.Baseline.Samples, m.Candidate.Samples)
		}
	}
	if !strings.Contains(res[0].Query, "3 rounds of 20") {
		t.Errorf("query %q does not say how it topped up", res[0].Query)
	}
}

func TestNewComparisonRefuses(t *testing.T) {
	colour := "http://svc-{{.Color}}.ns"
	for _, tc := range []struct {
		base              string
		metrics, critical []string
		o                 compare.Options
		want              string
	}{
		{"http://svc.ns", []string{CompareLatency}, nil, compare.Defaults, "names no colour"},
		{colour, nil, nil, compare.Defaults, "no metric"},
		{colour, []string{"cpu"}, nil, compare.Defaults, `metric "cpu"`},
		{colour, []string{CompareLatency}, []string{CompareErrorRate}, compare.Defaults, "is not compared"},
		{colour, []string{CompareLatency}, nil, compare.Options{Tolerance: 2, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75}, "tolerance"},
		{colour, []string{CompareLatency}, nil, compare.Options{Tolerance: 0.1, Confidence: 95, MinSamples: 50, PassScore: 95, MarginalScore: 75}, "confidence"},
		// A URL that renders for one colour only is refused, not a panic.
		{`http://svc-{{if eq .Color "green"}}{{index .Color 99}}{{else}}blue{{end}}.ns`, []string{CompareLatency}, nil, compare.Defaults, "index out of range"},
	} {
		_, err := NewComparison(tc.base, "/", 100, 50, tc.metrics, tc.critical, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v %v: %v, want %q", tc.base, tc.metrics, tc.critical, err, tc.want)
		}
	}
}
