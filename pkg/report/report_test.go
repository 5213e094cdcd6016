package report

import (
	"fmt"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{
			name:   "plain",
			header: []string{"Metric", "Target"},
			rows:   [][]string{{"Error Rate", "<0.1%"}},
			want:   "| Metric | Target |\n|---|---|\n| Error Rate | <0.1% |\n",
		},
		{
			name:   "pipes and newlines are escaped",
			header: []string{"a"},
			rows:   [][]string{{"x|y\nz"}},
			want:   "| a |\n|---|\n| x\\|y z |\n",
		},
		{
			name:   "short rows are padded",
			header: []string{"a", "b"},
			rows:   [][]string{{"1"}},
			want:   "| a | b |\n|---|---|\n| 1 |  |\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Table(tc.header, tc.rows); got != tc.want {
				t.Errorf("Table() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "rate(x[1m])", "`rate(x[1m])`"},
		{"backtick inside", "a`b", "``a`b``"},
		{"backtick at edge", "`a", "`` `a ``"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.in); got != tc.want {
				t.Errorf("Code(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBarChartMermaid(t *testing.T) {
	got := BarChart{
		Title:  `Latency "p95"`,
		YLabel: "requests",
		Labels: []string{"<5ms", "5-10ms"},
		Values: []float64{3, 997},
	}.Mermaid()
	want := "```mermaid\nxychart-beta\n" +
		"    title \"Latency 'p95'\"\n" +
		"    x-axis [\"<5ms\", \"5-10ms\"]\n" +
		"    y-axis \"requests\" 0 --> 997\n" +
		"    bar [3, 997]\n```\n"
	if got != want {
		t.Errorf("Mermaid() =\n%s\nwant\n%s", got, want)
	}
	empty := BarChart{Labels: []string{"a"}, Values: []float64{0}}.Mermaid()
	if !strings.Contains(empty, "0 --> 1\n") {
		t.Errorf("empty chart has no usable y axis:\n%s", empty)
	}
}

func ExampleTable() {
	fmt.Print(Table([]string{"Metric", "Target", "Current", "Status"},
		[][]string{{"Response Time", "<500ms", "400ms", "✅"}}))
	// Output:
	// | Metric | Target | Current | Status |
	// |---|---|---|---|
	// | Response Time | <500ms | 400ms | ✅ |
}
