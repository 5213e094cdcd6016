// Package report writes the small pieces of GitHub-flavoured markdown that
// step summaries are made of: tables and mermaid charts. It knows nothing of
// deployments; callers pass strings and numbers.
package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Table renders a markdown table. Cells are escaped so that a '|' or a
// newline in a value cannot break the table; rows shorter than the header
// are padded with empty cells.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	writeRow(&b, header, len(header))
	b.WriteString("|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		writeRow(&b, row, len(header))
	}
	return b.String()
}

func writeRow(b *strings.Builder, cells []string, n int) {
	b.WriteString("|")
	for i := 0; i < n; i++ {
		cell := ""
		if i < len(cells) {
			cell = Escape(cells[i])
		}
		b.WriteString(" " + cell + " |")
	}
	b.WriteString("\n")
}

// Escape makes text safe inside a table cell: pipes are escaped and line
// breaks become spaces.
func Escape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ")
}

// Code wraps s in an inline code span, choosing a fence of backticks longer
// than any run inside s.
func Code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// BarChart is a mermaid xychart-beta bar chart, which GitHub renders in
// markdown.
type BarChart struct {
	Title  string
	XLabel string   // optional axis title
	YLabel string   // optional axis title
	Labels []string // one per bar
	Values []float64
}

// Mermaid renders the chart as a fenced mermaid block. The y axis starts at
// zero and ends at the largest value (at least 1), so empty charts render.
func (c BarChart) Mermaid() string {
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	if c.Title != "" {
		fmt.Fprintf(&b, "    title %s\n", quote(c.Title))
	}
	labels := make([]string, len(c.Labels))
	for i, l := range c.Labels {
		labels[i] = quote(l)
	}
	b.WriteString("    x-axis ")
	if c.XLabel != "" {
		b.WriteString(quote(c.XLabel) + " ")
	}
	fmt.Fprintf(&b, "[%s]\n", strings.Join(labels, ", "))
	top := 1.0
	values := make([]string, len(c.Values))
	for i, v := range c.Values {
		top = max(top, v)
		values[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	b.WriteString("    y-axis ")
	if c.YLabel != "" {
		b.WriteString(quote(c.YLabel) + " ")
	}
	fmt.Fprintf(&b, "0 --> %s\n", strconv.FormatFloat(top, 'f', -1, 64))
	fmt.Fprintf(&b, "    bar [%s]\n```\n", strings.Join(values, ", "))
	return b.String()
}

// quote makes a mermaid string literal. Mermaid has no escape for '"', so
// double quotes become single ones.
func quote(s string) string {
	s = strings.ReplaceAll(Escape(s), `"`, "'")
	return `"` + s + `"`
}
