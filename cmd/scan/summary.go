package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/scan"
)

// summary is the step summary: counts by severity, the findings that fail
// the threshold with their fixes, what was ignored and why, expired ignores.
func summary(r *scan.Report, p scan.Policy) string {
	var b strings.Builder
	verdict := "passed"
	if !r.Passed {
		verdict = "failed"
	}
	fmt.Fprintf(&b, "### scan: %s %s (threshold %s)\n\n", report.Code(r.Image), verdict, r.Threshold)
	b.WriteString(report.Table([]string{"critical", "high", "medium", "low", "unknown", "total", "packages"}, [][]string{{
		fmt.Sprint(r.Counts["critical"]), fmt.Sprint(r.Counts["high"]), fmt.Sprint(r.Counts["medium"]),
		fmt.Sprint(r.Counts["low"]), fmt.Sprint(r.Counts["unknown"]), fmt.Sprint(r.Counts["total"]), fmt.Sprint(r.Packages),
	}}))
	var failing, ignored [][]string
	for _, f := range r.Findings {
		switch {
		case f.Ignored != nil:
			until := "no expiry"
			if !f.Ignored.IgnoreUntil.IsZero() {
				until = "until " + f.Ignored.IgnoreUntil.Format(time.DateOnly)
			}
			ignored = append(ignored, []string{f.ID, f.Package + " " + f.Version, f.Ignored.Reason, until})
		case r.Fails(f, p):
			fixed := "none"
			if len(f.Fixed) > 0 {
				fixed = strings.Join(f.Fixed, ", ")
			}
			failing = append(failing, []string{f.Rating, f.ID, f.Package, f.Version, fixed, f.Paths()})
		}
	}
	if len(failing) > 0 {
		b.WriteString("\n#### At or above the threshold\n\n")
		b.WriteString(report.Table([]string{"severity", "advisory", "package", "version", "fixed in", "found in"}, failing))
	}
	if len(ignored) > 0 {
		b.WriteString("\n#### Ignored\n\n")
		b.WriteString(report.Table([]string{"advisory", "package", "reason", "ignore"}, ignored))
	}
	if len(r.ExpiredIgnores) > 0 {
		var rows [][]string
		for _, ig := range r.ExpiredIgnores {
			rows = append(rows, []string{ig.ID, ig.IgnoreUntil.Format(time.DateOnly), ig.Reason})
		}
		b.WriteString("\n#### Expired ignores (counted again)\n\n")
		b.WriteString(report.Table([]string{"advisory", "expired", "reason"}, rows))
	}
	return b.String()
}
