package verify

import (
	"fmt"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// Markdown renders the report as a step summary: the verdict, the
// strategy's KPI table (Metric | Target | Current | Status) with every
// check verify ran, and the load probe's latency histogram.
func (rep *Report) Markdown() string {
	var b strings.Builder
	if rep.Passed {
		fmt.Fprintf(&b, "## ✅ verify passed%s\n\n", rep.subject())
	} else {
		fmt.Fprintf(&b, "## ❌ verify failed%s\n\n", rep.subject())
		for _, f := range rep.Failures {
			fmt.Fprintf(&b, "- %s\n", report.Escape(f))
		}
		b.WriteString("\n")
	}
	b.WriteString("### Key Performance Indicators\n\n")
	b.WriteString(report.Table([]string{"Metric", "Target", "Current", "Status"}, rep.kpiRows()))
	if rep.Load != nil && rep.Load.Requests > 0 {
		b.WriteString("\n" + rep.Load.histogramMarkdown())
	}
	if len(rep.Checks) > 0 {
		b.WriteString("\n<details><summary>Queries</summary>\n\n")
		rows := make([][]string, len(rep.Checks))
		for i, c := range rep.Checks {
			rows[i] = []string{c.Name, report.Code(c.Query)}
		}
		b.WriteString(report.Table([]string{"Check", "Query"}, rows))
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func (rep *Report) subject() string {
	switch {
	case rep.URL != "":
		return " for " + rep.URL
	case rep.Deployment != nil:
		return fmt.Sprintf(" for %s/%s", rep.Deployment.Namespace, rep.Deployment.Name)
	}
	return ""
}

func (rep *Report) kpiRows() [][]string {
	var rows [][]string
	for _, h := range rep.Health {
		current := fmt.Sprint(h.Code)
		if h.Status != "" {
			current += ", status " + h.Status
		}
		mark := OK
		if !h.Healthy {
			mark = Missed
			current = h.Problem
		}
		rows = append(rows, []string{"Health " + report.Code(h.Path), "2xx, status ok", current, string(mark)})
	}
	if d := rep.Deployment; d != nil {
		current := fmt.Sprintf("%d/%d available, %d unavailable, %d restarted", d.Available, d.Replicas, d.Unavailable, len(d.Restarts))
		status := string(OK)
		if !d.Ready() {
			status = string(Missed) + " " + strings.Join(d.Problems, "; ")
		}
		rows = append(rows, []string{fmt.Sprintf("Deployment %s/%s", d.Namespace, d.Name),
			"Available, none unavailable, no restarts", current, status})
	}
	for _, k := range rep.KPIs {
		rows = append(rows, []string{k.Metric, k.Target, k.Current, k.Status()})
	}
	for _, c := range rep.Checks {
		status := string(OK)
		switch c.Status {
		case analysis.Fail:
			status = string(Missed)
		case analysis.Inconclusive:
			status = string(Missed) + " inconclusive (no data is not a pass)"
		}
		rows = append(rows, []string{c.Name, c.Threshold.String(), c.Current(), status})
	}
	return rows
}

// histogramMarkdown renders the latency histogram as a mermaid bar chart,
// without the empty buckets at either end.
func (r *LoadResult) histogramMarkdown() string {
	first, last := -1, -1
	for i, b := range r.Histogram {
		if b.Count > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return ""
	}
	chart := report.BarChart{
		Title: fmt.Sprintf("Latency of %d requests (p50 %s, p95 %s, p99 %s)",
			r.Requests, fmtDur(r.P50), fmtDur(r.P95), fmtDur(r.P99)),
		YLabel: "requests",
	}
	for _, b := range r.Histogram[first : last+1] {
		chart.Labels = append(chart.Labels, b.label())
		chart.Values = append(chart.Values, float64(b.Count))
	}
	return "### Latency\n\n" + chart.Mermaid()
}

func (b Bucket) label() string {
	switch {
	case b.High == 0:
		return "≥ " + fmtDur(b.Low)
	case b.Low == 0:
		return "< " + fmtDur(b.High)
	}
	return fmtDur(b.Low) + "–" + fmtDur(b.High)
}
