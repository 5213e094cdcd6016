package verify

import (
	"strings"
	"testing"
	"time"
)

func TestSLOEvaluate(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		slo       SLO
		res       LoadResult
		wantMarks [3]Mark // latency, error rate, throughput
		wantNotes [3]string
	}{
		{
			name:      "all met",
			slo:       DefaultSLO,
			res:       LoadResult{Requests: 1000, P95: 40 * ms, Throughput: 100},
			wantMarks: [3]Mark{OK, OK, OK},
		},
		{
			name:      "latency above target, below warning",
			slo:       DefaultSLO,
			res:       LoadResult{Requests: 1000, P95: 800 * ms, Throughput: 100},
			wantMarks: [3]Mark{Missed, OK, OK},
			wantNotes: [3]string{"above target"},
		},
		{
			name:      "latency at the warning level",
			slo:       DefaultSLO,
			res:       LoadResult{Requests: 1000, P95: 1500 * ms, Throughput: 100},
			wantMarks: [3]Mark{Missed, OK, OK},
			wantNotes: [3]string{"warning level (> 1 s)"},
		},
		{
			name:      "latency critical, errors critical, throughput low",
			slo:       DefaultSLO,
			res:       LoadResult{Requests: 100, Errors: 10, ErrorRate: 0.1, P95: 3 * time.Second, Throughput: 1},
			wantMarks: [3]Mark{Missed, Missed, Missed},
			wantNotes: [3]string{"critical level (> 2 s)", "critical level (> 5%)", "below target"},
		},
		{
			name:      "2% errors is the warning level",
			slo:       DefaultSLO,
			res:       LoadResult{Requests: 500, Errors: 10, ErrorRate: 0.02, P95: 5 * ms, Throughput: 100},
			wantMarks: [3]Mark{OK, Missed, OK},
			wantNotes: [3]string{"", "warning level (> 1%)"},
		},
		{
			name:      "a loose target met above the strategy's warning level",
			slo:       SLO{MaxP95: 1500 * ms, MaxErrorRate: 0.02, MinThroughput: 1},
			res:       LoadResult{Requests: 1000, Errors: 15, ErrorRate: 0.015, P95: 1200 * ms, Throughput: 100},
			wantMarks: [3]Mark{Warning, Warning, OK},
			wantNotes: [3]string{"met, but above the warning level (> 1 s)", "met, but above the warning level (> 1%)"},
		},
		{
			name:      "no answers is no data",
			slo:       DefaultSLO,
			res:       LoadResult{},
			wantMarks: [3]Mark{Missed, Missed, Missed},
			wantNotes: [3]string{"no data", "no data", "no data"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kpis := tc.slo.Evaluate(&tc.res, StrategyLevels)
			for i, k := range kpis {
				if k.Mark != tc.wantMarks[i] || k.Note != tc.wantNotes[i] {
					t.Errorf("%s: %s %q, want %s %q", k.Metric, k.Mark, k.Note, tc.wantMarks[i], tc.wantNotes[i])
				}
				if k.Passed != (k.Mark != Missed) {
					t.Errorf("%s: passed=%v with mark %s", k.Metric, k.Passed, k.Mark)
				}
			}
		})
	}
}

func TestKPIText(t *testing.T) {
	kpis := DefaultSLO.Evaluate(&LoadResult{Requests: 1000, Errors: 1, ErrorRate: 0.001, P95: 412 * time.Millisecond, Throughput: 25}, StrategyLevels)
	want := [][3]string{
		{"Response Time (p95)", "< 500 ms", "412 ms"},
		{"Error Rate", "< 0.1%", "0.1% (1 of 1000)"},
		{"Throughput", "> 1000 req/min", "1500 req/min"},
	}
	for i, k := range kpis {
		if got := [3]string{k.Metric, k.Target, k.Current}; got != want[i] {
			t.Errorf("row %d = %q, want %q", i, got, want[i])
		}
		if !strings.HasPrefix(k.Status(), string(OK)) {
			t.Errorf("row %d status %q", i, k.Status())
		}
	}
}
