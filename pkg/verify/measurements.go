package verify

import (
	"fmt"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// Outcome is how one measurement came out.
type Outcome string

// The outcomes. A warning met its target at the strategy's warning or
// critical level; inconclusive had too little data, which is never a pass.
const (
	OutcomePassed       Outcome = "passed"
	OutcomeWarning      Outcome = "warning"
	OutcomeFailed       Outcome = "failed"
	OutcomeInconclusive Outcome = "inconclusive"
)

// Measurement is one row of the report's KPI table in plain values, for
// records that outlive the step summary (the signed verification record).
type Measurement struct {
	Metric  string // Health /api/health, Response Time (p95), a Prometheus check's name
	Target  string // 2xx, status ok; < 500 ms
	Value   string // what was measured
	Outcome Outcome
	Note    string // why, when not simply met
}

// Measurements are every check the report holds, in the KPI table's
// order: health paths, the Deployment, the load probe's SLOs, then the
// Prometheus checks.
func (rep *Report) Measurements() []Measurement {
	var out []Measurement
	for _, h := range rep.Health {
		m := Measurement{Metric: "Health " + h.Path, Target: "2xx, status ok", Value: fmt.Sprint(h.Code), Outcome: OutcomePassed}
		if h.Status != "" {
			m.Value += ", status " + h.Status
		}
		if !h.Healthy {
			m.Value, m.Outcome, m.Note = h.Problem, OutcomeFailed, "unhealthy"
		}
		out = append(out, m)
	}
	if d := rep.Deployment; d != nil {
		m := Measurement{Metric: fmt.Sprintf("Deployment %s/%s", d.Namespace, d.Name), Target: "Available, none unavailable, no restarts",
			Value:   fmt.Sprintf("%d/%d available, %d unavailable, %d restarted", d.Available, d.Replicas, d.Unavailable, len(d.Restarts)),
			Outcome: OutcomePassed}
		if !d.Ready() {
			m.Outcome, m.Note = OutcomeFailed, strings.Join(d.Problems, "; ")
		}
		out = append(out, m)
	}
	for _, k := range rep.KPIs {
		m := Measurement{Metric: k.Metric, Target: k.Target, Value: k.Current, Outcome: OutcomePassed, Note: k.Note}
		switch {
		case !k.Passed:
			m.Outcome = OutcomeFailed
		case k.Mark == Warning:
			m.Outcome = OutcomeWarning
		}
		out = append(out, m)
	}
	for _, c := range rep.Checks {
		m := Measurement{Metric: c.Name, Target: c.Threshold.String(), Value: c.Current(), Outcome: OutcomePassed}
		switch c.Status {
		case analysis.Fail:
			m.Outcome = OutcomeFailed
		case analysis.Inconclusive:
			m.Outcome, m.Note = OutcomeInconclusive, "no data is not a pass"
		}
		out = append(out, m)
	}
	return out
}
