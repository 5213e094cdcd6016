package verify

import (
	"fmt"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// SLO is what a load probe must meet.
type SLO struct {
	MaxP95        time.Duration
	MaxErrorRate  float64 // fraction: 0.001 is 0.1 %
	MinThroughput float64 // successful requests per second
}

// DefaultSLO is the strategy's target: p95 under 500 ms, errors under
// 0.1 %, more than 1000 requests per minute.
var DefaultSLO = SLO{MaxP95: 500 * time.Millisecond, MaxErrorRate: 0.001, MinThroughput: 1000.0 / 60}

// Levels are the strategy's alert thresholds, shown next to the targets.
type Levels struct {
	LatencyWarning, LatencyCritical     time.Duration
	ErrorRateWarning, ErrorRateCritical float64
}

// StrategyLevels: response time > 1 s warning, > 2 s critical; error rate
// > 1 % warning, > 5 % critical.
var StrategyLevels = Levels{
	LatencyWarning: time.Second, LatencyCritical: 2 * time.Second,
	ErrorRateWarning: 0.01, ErrorRateCritical: 0.05,
}

// Mark is a KPI row's status symbol.
type Mark string

// The marks: met and below the strategy's warning level; met but at the
// warning level (the target was set looser than the strategy alerts);
// missed, or not measured.
const (
	OK      Mark = "✅"
	Warning Mark = "⚠️"
	Missed  Mark = "❌"
)

// KPI is one row of the strategy's KPI table.
type KPI struct {
	Metric  string `json:"metric"`
	Target  string `json:"target"`
	Current string `json:"current"`
	Mark    Mark   `json:"mark"`
	// Note qualifies the mark: "above target", "critical level (> 2 s)".
	Note   string `json:"note,omitempty"`
	Passed bool   `json:"passed"`
}

// Status is the table cell: the mark and its note.
func (k KPI) Status() string {
	if k.Note == "" {
		return string(k.Mark)
	}
	return string(k.Mark) + " " + k.Note
}

// Evaluate judges a probe against the SLO and returns the KPI rows:
// response time (p95), error rate, throughput.
func (s SLO) Evaluate(r *LoadResult, lv Levels) []KPI {
	if r == nil || r.Requests == 0 {
		none := func(metric, target string) KPI {
			return KPI{Metric: metric, Target: target, Current: "no requests answered", Mark: Missed, Note: "no data"}
		}
		return []KPI{none("Response Time (p95)", "< "+fmtDur(s.MaxP95)),
			none("Error Rate", "< "+analysis.FormatPercent(s.MaxErrorRate)),
			none("Throughput", "> "+fmtRate(s.MinThroughput))}
	}
	latency := graded(r.P95 <= s.MaxP95, r.P95 > lv.LatencyCritical, r.P95 > lv.LatencyWarning,
		fmtDur(lv.LatencyWarning), fmtDur(lv.LatencyCritical))
	latency.Metric, latency.Target, latency.Current = "Response Time (p95)", "< "+fmtDur(s.MaxP95), fmtDur(r.P95)

	errs := graded(r.ErrorRate <= s.MaxErrorRate, r.ErrorRate > lv.ErrorRateCritical, r.ErrorRate > lv.ErrorRateWarning,
		analysis.FormatPercent(lv.ErrorRateWarning), analysis.FormatPercent(lv.ErrorRateCritical))
	errs.Metric, errs.Target = "Error Rate", "< "+analysis.FormatPercent(s.MaxErrorRate)
	errs.Current = fmt.Sprintf("%s (%d of %d)", analysis.FormatPercent(r.ErrorRate), r.Errors, r.Requests)

	tput := KPI{Metric: "Throughput", Target: "> " + fmtRate(s.MinThroughput), Current: fmtRate(r.Throughput),
		Mark: OK, Passed: r.Throughput >= s.MinThroughput}
	if !tput.Passed {
		tput.Mark, tput.Note = Missed, "below target"
	}
	return []KPI{latency, errs, tput}
}

// graded marks a metric that has warning and critical levels.
func graded(met, critical, warning bool, warnText, critText string) KPI {
	k := KPI{Passed: met, Mark: OK}
	switch {
	case met && critical:
		k.Mark, k.Note = Warning, "met, but above the critical level (> "+critText+")"
	case met && warning:
		k.Mark, k.Note = Warning, "met, but above the warning level (> "+warnText+")"
	case met:
	case critical:
		k.Mark, k.Note = Missed, "critical level (> "+critText+")"
	case warning:
		k.Mark, k.Note = Missed, "warning level (> "+warnText+")"
	default:
		k.Mark, k.Note = Missed, "above target"
	}
	return k
}

func fmtDur(d time.Duration) string { return analysis.FormatSeconds(d.Seconds()) }

func fmtRate(perSecond float64) string { return analysis.PerMinute.Format(perSecond) }
