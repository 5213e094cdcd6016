package analysis

import (
	"strings"
	"testing"
)

func TestParseChecks(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []Check // Name, Query, Threshold, Samples, MinSamples compared
		wantErr string
	}{
		{name: "empty is no checks", yaml: "  \n"},
		{
			name: "error rate and latency",
			yaml: `
- name: error-rate
  query: sum(rate(http_requests_total{code=~"5..",namespace="{{.Namespace}}"}[1m])) / sum(rate(http_requests_total[1m]))
  max: 1%
  unit: ratio
  samples: sum(increase(http_requests_total[1m]))
  min-samples: 50
- name: p95
  query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Color}}"}[1m])))
  max: 500ms
  unit: seconds
- name: throughput
  query: sum(rate(http_requests_total[1m]))
  min: 1000/min
  unit: req/s
- name: pods
  query: count(up)
  min: 3
`,
			want: []Check{
				{Name: "error-rate", Threshold: Threshold{Max, 0.01, Ratio}, Samples: "sum(increase(http_requests_total[1m]))", MinSamples: 50},
				{Name: "p95", Threshold: Threshold{Max, 0.5, Seconds}},
				{Name: "throughput", Threshold: Threshold{Min, 1000.0 / 60, PerSecond}},
				{Name: "pods", Threshold: Threshold{Min, 3, Number}},
			},
		},
		{name: "invalid YAML", yaml: "- name: [unclosed", wantErr: "not a YAML list"},
		{name: "a map, not a list", yaml: "name: x\nquery: up\nmax: 1", wantErr: "not a YAML list"},
		{name: "unknown field", yaml: "- name: x\n  query: up\n  max: 1\n  maximum: 2", wantErr: "unknown field"},
		{name: "no name", yaml: "- query: up\n  max: 1", wantErr: "no name"},
		{name: "no query", yaml: "- name: x\n  max: 1", wantErr: "no query"},
		{name: "no bound", yaml: "- name: x\n  query: up", wantErr: "give max or min"},
		{name: "both bounds", yaml: "- name: x\n  query: up\n  max: 1\n  min: 0", wantErr: "not both"},
		{name: "unknown unit", yaml: "- name: x\n  query: up\n  max: 1\n  unit: parsecs", wantErr: "unknown unit"},
		{name: "threshold with a unit but no unit", yaml: "- name: x\n  query: up\n  max: 500ms", wantErr: "does not fit"},
		{name: "misspelt template field", yaml: "- name: x\n  query: up{v=\"{{.Colour}}\"}\n  max: 1", wantErr: "Colour"},
		{name: "broken template", yaml: "- name: x\n  query: up{v=\"{{.Color\"}\n  max: 1", wantErr: "query"},
		{name: "repeated name", yaml: "- name: x\n  query: up\n  max: 1\n- name: x\n  query: up\n  max: 2", wantErr: "used twice"},
		{name: "min-samples without samples", yaml: "- name: x\n  query: up\n  max: 1\n  min-samples: 5", wantErr: "needs a samples query"},
		{name: "threshold is a list", yaml: "- name: x\n  query: up\n  max: [1]", wantErr: "neither a number nor text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChecks(tc.yaml)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseChecks() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChecks(): %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseChecks() gave %d checks, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Name != w.Name || g.Samples != w.Samples || g.MinSamples != w.MinSamples ||
					g.Threshold.Bound != w.Threshold.Bound || g.Threshold.Unit != w.Threshold.Unit ||
					!near(g.Threshold.Value, w.Threshold.Value) {
					t.Errorf("check %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func FuzzParseChecks(f *testing.F) {
	f.Add("- name: x\n  query: up\n  max: 1%\n  unit: ratio")
	f.Add("- name: p95\n  query: q{a=\"{{.Namespace}}\"}\n  max: 500ms\n  unit: s")
	f.Add("- name: t\n  query: up\n  min: 1000/min\n  unit: rpm\n  samples: up\n  min-samples: 3")
	f.Fuzz(func(t *testing.T, text string) {
		checks, err := ParseChecks(text)
		if err != nil {
			return
		}
		for _, c := range checks {
			if c.Name == "" || c.Query == "" || (c.Threshold.Bound != Max && c.Threshold.Bound != Min) {
				t.Fatalf("ParseChecks accepted an incomplete check %+v", c)
			}
			if _, _, err := c.Render(Vars{Namespace: "ns", Color: "blue"}); err != nil {
				t.Fatalf("accepted check %q does not render: %v", c.Name, err)
			}
		}
	})
}
