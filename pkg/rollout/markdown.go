package rollout

import (
	"cmp"
	"fmt"
	"math"
	"strconv"

	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/compare"

	"github.com/fxplatform/deploy-actions/pkg/report"
)

// Gantt writes the phases as a mermaid gantt chart: one bar per phase with
// its duration, failed phases marked critical.
func (r *Result) Gantt() string {
	var b strings.Builder
	b.WriteString("```mermaid\ngantt\n    title Promotion timeline\n    dateFormat x\n    axisFormat %H:%M:%S\n")
	for i, ph := range r.Phases {
		end := ph.End
		if end.IsZero() {
			end = ph.Start
		}
		if !end.After(ph.Start) {
			end = ph.Start.Add(time.Millisecond) // a zero-width bar is not drawn
		}
		tag := "done"
		switch ph.Status {
		case "fail", "inconclusive":
			tag = "crit"
		case "skipped", StatusUnmonitored:
			tag = "active"
		}
		label := fmt.Sprintf("%s %s (%s)", ph.Name, ph.Status, end.Sub(ph.Start).Round(time.Millisecond))
		fmt.Fprintf(&b, "    %s :%s, p%d, %d, %d\n", ganttLabel(label), tag, i, ph.Start.UnixMilli(), end.UnixMilli())
	}
	b.WriteString("```\n")
	return b.String()
}

// ganttLabel keeps characters mermaid reads as syntax out of a task name.
func ganttLabel(s string) string {
	return strings.NewReplacer(":", " ", "#", " ", ";", " ").Replace(s)
}

// Markdown writes the step summary: outcome, timeline, the steps with the
// weights asked for and observed, and the analysis of each measured phase.
func (r *Result) Markdown(rollbackCommand string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### promote: %s\n\n", r.Outcome)
	fmt.Fprintf(&b, "%s is live on **%s** (previous: %s %s) after %s.", report.Code(activeOf(r)), r.ActiveColor, r.PreviousColor, report.Code(r.PreviousImage), r.Duration.Round(time.Millisecond))
	if r.Resumed {
		b.WriteString(" Resumed from a recorded step.")
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "\n\n%s", report.Escape(r.Reason))
	}
	b.WriteString("\n\n")
	if len(r.Phases) > 0 {
		b.WriteString(r.Gantt() + "\n")
		rows := make([][]string, 0, len(r.Phases))
		for _, ph := range r.Phases {
			rows = append(rows, []string{ph.Name, weight(ph.Weight), weight(ph.Observed), ph.End.Sub(ph.Start).Round(time.Millisecond).String(), fmt.Sprint(len(ph.Measurements)), ph.Status})
		}
		b.WriteString(report.Table([]string{"phase", "weight", "observed", "duration", "measurements", "result"}, rows) + "\n")
		var unmonitored []string
		for _, ph := range r.Phases {
			if ph.Status == StatusUnmonitored {
				unmonitored = append(unmonitored, ph.Name)
			}
		}
		if len(unmonitored) > 0 {
			fmt.Fprintf(&b, "> [!WARNING]\n> Nothing judged the candidate during %s: no analysis checks ran and the availability probe was off, so each pause was only a wait.\n\n", strings.Join(unmonitored, ", "))
		}
	}
	for _, ph := range r.Phases {
		if len(ph.Measurements) == 0 {
			continue
		}
		fmt.Fprintf(&b, "#### Analysis: %s\n\n", ph.Name)
		var rows [][]string
		for i, m := range ph.Measurements {
			for _, res := range m {
				rows = append(rows, []string{fmt.Sprint(i + 1), res.Name, res.Status.String(), res.Current(), res.Threshold.String()})
			}
		}
		b.WriteString(report.Table([]string{"#", "check", "result", "value", "target"}, rows) + "\n")
		if i, cmp := lastComparison(ph); cmp != nil {
			fmt.Fprintf(&b, "Canary against baseline, measurement %d: %s, %s\n\n", i+1, cmp.Verdict, report.Escape(cmp.Reason))
			b.WriteString(comparisonTable(cmp) + "\n")
		}
	}
	if rollbackCommand != "" {
		fmt.Fprintf(&b, "#### Roll back\n\n```sh\n%s\n```\n", rollbackCommand)
	}
	return b.String()
}

// lastComparison is a phase's last canary-against-baseline report, and
// the measurement it belongs to.
func lastComparison(ph *Phase) (int, *compare.Report) {
	for i := len(ph.Measurements) - 1; i >= 0; i-- {
		for _, res := range ph.Measurements[i] {
			if res.Comparison != nil {
				return i, res.Comparison
			}
		}
	}
	return 0, nil
}

// comparisonTable writes both colours' values per metric, the test, its
// statistic and p-value, the shift and the verdict.
func comparisonTable(r *compare.Report) string {
	rows := make([][]string, 0, len(r.Metrics))
	for _, m := range r.Metrics {
		value := analysis.FormatSeconds
		name := m.Name + " (median)"
		if m.Kind == "error-rate" {
			value, name = analysis.FormatPercent, m.Name
		}
		side := func(s compare.Side) string {
			if math.IsNaN(s.Value) {
				return fmt.Sprintf("— (%d)", s.Samples)
			}
			return fmt.Sprintf("%s (%d)", value(s.Value), s.Samples)
		}
		stat, shift := "—", "—"
		if !math.IsNaN(m.Statistic) {
			stat = strconv.FormatFloat(m.Statistic, 'g', 4, 64)
			if math.Abs(m.Statistic) >= 1000 {
				stat = strconv.FormatFloat(math.Round(m.Statistic*2)/2, 'f', -1, 64) // U, a count of pairs
			}
		}
		if !math.IsNaN(m.Relative) {
			shift = signedPercent(m.Relative)
			if !math.IsNaN(m.Low) {
				shift += " (≥ " + signedPercent(m.Low) + ")"
			}
		}
		if m.Critical {
			name += ", critical"
		}
		rows = append(rows, []string{name, side(m.Baseline), side(m.Candidate), cmp.Or(m.Test, "—"), stat, compare.FormatP(m.P), shift, string(m.Verdict) + ": " + m.Reason})
	}
	return report.Table([]string{"metric", "baseline (samples)", "candidate (samples)", "test", "statistic", "p", "shift", "verdict"}, rows)
}

func signedPercent(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "+∞ %"
	case math.IsInf(r, -1):
		return "−∞ %"
	}
	return fmt.Sprintf("%+.1f %%", r*100)
}

func activeOf(r *Result) string {
	if r.Outcome == Aborted {
		return r.PreviousImage
	}
	return r.Image
}

func weight(w int) string {
	if w < 0 {
		return ""
	}
	return fmt.Sprintf("%d %%", w)
}
