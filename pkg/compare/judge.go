package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// Verdict is the judgement of one metric, or of a whole comparison.
type Verdict string

// The verdicts, as Kayenta names its classifications: a metric with too
// few samples on either side is Insufficient, never a pass.
const (
	Pass         Verdict = "pass"
	Marginal     Verdict = "marginal"
	Fail         Verdict = "fail"
	Insufficient Verdict = "insufficient data"
)

// Options are a comparison's bounds.
type Options struct {
	// Tolerance is how much worse than the baseline the candidate may be,
	// relative to the baseline: 0.1 lets the median latency rise 10 %, and
	// the error rate rise to 1.1 times the baseline's. A difference the
	// test finds significant but within it passes.
	Tolerance float64
	// MinShift is the smallest latency shift, in the samples' unit
	// (seconds), that can count against the candidate however large it is
	// relative to the baseline: a service answering in 0.4 ms jitters by
	// more than 10 % between two pods. 0 takes every shift.
	MinShift float64
	// Confidence is the level at which a difference counts as real: 0.95
	// takes a p-value below 0.05.
	Confidence float64
	// MinSamples is the fewest samples each side needs (Spinnaker advises
	// 50).
	MinSamples int
	// PassScore and MarginalScore are the score a comparison needs to pass,
	// and below which it fails (Kayenta's defaults: 95 and 75).
	PassScore, MarginalScore float64
}

// Defaults are Kayenta's and Spinnaker's figures, with a 10 % tolerance
// and a 1 ms smallest latency shift.
var Defaults = Options{Tolerance: 0.1, MinShift: 0.001, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75}

// Check refuses bounds a comparison cannot use.
func (o Options) Check() error {
	switch {
	case !(o.Tolerance >= 0 && o.Tolerance <= 1):
		return fmt.Errorf("tolerance %g: want 0 to 1 (0.1 lets the candidate be 10 %% worse than the baseline)", o.Tolerance)
	case !(o.MinShift >= 0 && o.MinShift < 3600):
		return fmt.Errorf("smallest shift %g: want 0 or more seconds, under an hour", o.MinShift)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return fmt.Errorf("confidence %g: want a level strictly between 0 and 1, such as 0.95", o.Confidence)
	case o.MinSamples < 2:
		return fmt.Errorf("minimum samples %d: want at least 2", o.MinSamples)
	case o.MinSamples < SmallestSample(o.Confidence):
		return fmt.Errorf("minimum samples %d: at confidence %g no test on so few can find a difference, and every candidate would pass; want at least %d",
			o.MinSamples, o.Confidence, SmallestSample(o.Confidence))
	case !(o.MarginalScore >= 0 && o.MarginalScore <= o.PassScore && o.PassScore <= 100):
		return fmt.Errorf("scores %g and %g: want 0 ≤ marginal ≤ pass ≤ 100", o.MarginalScore, o.PassScore)
	}
	return nil
}

// SmallestSample is the fewest samples a side on which the tests can find
// any difference at confidence: the most extreme samples of n against n
// (every candidate value above every baseline one; every candidate request
// failed, no baseline one) have p = 2/C(2n, n), for the Mann-Whitney U
// test and for Fisher's exact test alike. Below it, every candidate
// passes: 4 at 0.95, 5 at 0.99, 7 at 0.999.
func SmallestSample(confidence float64) int {
	alpha := 1 - confidence
	if !(alpha > 0 && alpha < 1) {
		return 2
	}
	c := 6.0 // C(4, 2)
	for n := 2; ; n++ {
		if 2/c < alpha {
			return n
		}
		c *= float64((2*n+1)*(2*n+2)) / float64((n+1)*(n+1))
	}
}

// Side is what one colour's samples came to.
type Side struct {
	// Samples is how many values (latencies, or requests for an error
	// rate) the side had.
	Samples int
	// Value is the side's median latency in seconds, or its error rate.
	Value float64
	// Failures is an error-rate side's failed requests.
	Failures int
}

// Metric is one metric's judgement.
type Metric struct {
	Name     string
	Critical bool
	Weight   float64
	// Kind is "latency" or "error-rate": how Value, Shift and the bounds
	// read.
	Kind                string
	Baseline, Candidate Side
	// Test names the test run: "Mann-Whitney U", "Fisher's exact",
	// "two-proportion z"; Statistic is its statistic (U, z), NaN for
	// Fisher's, whose p-value is the whole answer.
	Test      string
	Statistic float64
	P         float64
	// Shift is how much worse the candidate is, in Value's unit: the
	// Hodges-Lehmann estimate for latency, the difference of the rates
	// for errors. Relative is Shift over the baseline's Value (+Inf when
	// the baseline's is 0 and the candidate's is not). Low is the lower
	// bound of Shift's confidence interval, relative too.
	Shift, Relative, Low float64
	Verdict              Verdict
	// Reason says why, for a report.
	Reason string
}

// Latency compares latencies (any unit, seconds in reports): higher is
// worse. The Mann-Whitney U test says whether the candidate's differ from
// the baseline's, and the Hodges-Lehmann shift, relative to the baseline's
// median, how much.
func Latency(name string, baseline, candidate []float64, o Options) Metric {
	m := Metric{Name: name, Kind: "latency", Weight: 1, Statistic: math.NaN(), P: math.NaN(), Shift: math.NaN(), Relative: math.NaN(), Low: math.NaN(),
		Baseline: Side{Samples: len(baseline), Value: median(baseline)}, Candidate: Side{Samples: len(candidate), Value: median(candidate)}}
	if m.insufficient(o) {
		return m
	}
	m.Test = "Mann-Whitney U"
	u, p, err := MannWhitney(baseline, candidate)
	var lo float64
	if err == nil {
		lo, m.Shift, _, err = ShiftInterval(baseline, candidate, o.Confidence)
	}
	if err != nil {
		m.Verdict, m.Reason = Insufficient, err.Error()
		return m
	}
	m.Statistic, m.P = u, p
	m.Relative = relative(m.Shift, m.Baseline.Value)
	m.Low = relative(lo, m.Baseline.Value)
	return m.judge(o)
}

// ErrorRate compares failures of requests on each side: higher is worse.
// The test is Fisher's exact one while an expected count is small, the
// z-test of two proportions above (ProportionsTest).
func ErrorRate(name string, baseFailures, baseRequests, candFailures, candRequests int, o Options) Metric {
	m := Metric{Name: name, Kind: "error-rate", Weight: 1, Statistic: math.NaN(), P: math.NaN(), Shift: math.NaN(), Relative: math.NaN(), Low: math.NaN(),
		Baseline:  Side{Samples: baseRequests, Failures: baseFailures, Value: rate(baseFailures, baseRequests)},
		Candidate: Side{Samples: candRequests, Failures: candFailures, Value: rate(candFailures, candRequests)}}
	if m.insufficient(o) {
		return m
	}
	p, test, err := ProportionsTest(baseFailures, baseRequests, candFailures, candRequests)
	if err != nil {
		m.Verdict, m.Reason = Insufficient, err.Error()
		return m
	}
	m.P = p
	switch test {
	case "fisher":
		m.Test = "Fisher's exact"
	default:
		m.Test = "two-proportion z"
		m.Statistic = zStatistic(baseFailures, baseRequests, candFailures, candRequests)
	}
	m.Shift = m.Candidate.Value - m.Baseline.Value
	m.Relative = relative(m.Shift, m.Baseline.Value)
	// The Wald interval of the difference of the two rates.
	b, c := m.Baseline.Value, m.Candidate.Value
	se := math.Sqrt(b*(1-b)/float64(baseRequests) + c*(1-c)/float64(candRequests))
	m.Low = relative(m.Shift-distuv.UnitNormal.Quantile(1-(1-o.Confidence)/2)*se, m.Baseline.Value)
	return m.judge(o)
}

func (m *Metric) insufficient(o Options) bool {
	if m.Baseline.Samples >= o.MinSamples && m.Candidate.Samples >= o.MinSamples {
		return false
	}
	m.Verdict = Insufficient
	m.Reason = fmt.Sprintf("%d baseline and %d candidate samples; each side needs %d", m.Baseline.Samples, m.Candidate.Samples, o.MinSamples)
	return true
}

// judge gives the verdict once the test has run, as Kayenta's classifier
// does with its effect size: no significant difference, one in the
// candidate's favour, or one within the tolerance passes (with samples
// large enough, any difference is significant; the tolerance says which
// ones matter). A significant one beyond the tolerance fails when even the
// low end of its confidence interval is beyond it, and is marginal when
// the interval reaches back within it.
func (m Metric) judge(o Options) Metric {
	alpha := 1 - o.Confidence
	switch {
	case !(m.P < alpha):
		m.Verdict = Pass
		m.Reason = fmt.Sprintf("no significant difference (%s ≥ %s)", pIs(m.P), trimFloat(math.Round(alpha*1e6)/1e6))
	case m.Shift < 0:
		m.Verdict = Pass
		m.Reason = fmt.Sprintf("candidate better (%s)", pIs(m.P))
	case m.Relative <= o.Tolerance:
		m.Verdict = Pass
		m.Reason = fmt.Sprintf("worse by %s, within the %s tolerance (%s)", percent(m.Relative), percent(o.Tolerance), pIs(m.P))
	case m.Kind == "latency" && m.Shift < o.MinShift:
		m.Verdict = Pass
		m.Reason = fmt.Sprintf("worse by %s, but by %s, under the %s that counts (%s)", percent(m.Relative), seconds(m.Shift), seconds(o.MinShift), pIs(m.P))
	case m.Low <= o.Tolerance:
		m.Verdict = Marginal
		m.Reason = fmt.Sprintf("worse by %s, beyond the %s tolerance, but the %s interval reaches %s (%s)",
			percent(m.Relative), percent(o.Tolerance), percent(o.Confidence), percent(m.Low), pIs(m.P))
	case m.Kind == "latency" && m.Low*m.Baseline.Value < o.MinShift:
		m.Verdict = Marginal
		m.Reason = fmt.Sprintf("worse by %s (%s), beyond the %s tolerance, but the %s interval reaches %s, under the %s that counts (%s)",
			percent(m.Relative), seconds(m.Shift), percent(o.Tolerance), percent(o.Confidence), seconds(m.Low*m.Baseline.Value), seconds(o.MinShift), pIs(m.P))
	default:
		m.Verdict = Fail
		m.Reason = fmt.Sprintf("worse by %s (at least %s at %s confidence), beyond the %s tolerance (%s)",
			percent(m.Relative), percent(m.Low), percent(o.Confidence), percent(o.Tolerance), pIs(m.P))
	}
	return m
}

// Report is a whole comparison: each metric's judgement, and the score
// weighted across them.
type Report struct {
	Metrics []Metric
	// Score is 100 times the weight of the metrics that passed (marginal
	// ones count half) over the weight of all; NaN when a metric's data
	// is insufficient.
	Score   float64
	Verdict Verdict
	// Reason says what decided the verdict.
	Reason string
}

// Judge scores metrics as Kayenta does: any metric without enough data
// makes the comparison Insufficient (no data is never a pass); a critical
// metric that fails fails it alone; otherwise the score decides, Pass from
// PassScore, Marginal from MarginalScore, Fail below.
func Judge(metrics []Metric, o Options) Report {
	r := Report{Metrics: metrics, Score: math.NaN()}
	if len(metrics) == 0 {
		r.Verdict, r.Reason = Insufficient, "no metric compared"
		return r
	}
	var short, critical []string
	var got, total float64
	for _, m := range metrics {
		total += m.Weight
		switch m.Verdict {
		case Pass:
			got += m.Weight
		case Marginal:
			got += m.Weight / 2
		case Fail:
			if m.Critical {
				critical = append(critical, m.Name)
			}
		case Insufficient:
			short = append(short, m.Name)
		}
	}
	if total > 0 && len(short) == 0 {
		r.Score = 100 * got / total
	}
	switch {
	case len(critical) > 0:
		r.Verdict, r.Reason = Fail, "critical metric failed: "+strings.Join(critical, ", ")
	case len(short) > 0:
		r.Verdict, r.Reason = Insufficient, "not enough data for "+strings.Join(short, ", ")
	case r.Score >= o.PassScore:
		r.Verdict, r.Reason = Pass, fmt.Sprintf("score %s ≥ %s", trimFloat(r.Score), trimFloat(o.PassScore))
	case r.Score >= o.MarginalScore:
		r.Verdict, r.Reason = Marginal, fmt.Sprintf("score %s, below %s to pass", trimFloat(r.Score), trimFloat(o.PassScore))
	default:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("score %s < %s", trimFloat(r.Score), trimFloat(o.MarginalScore))
	}
	return r
}

// Err is nil for a passing report, else what it found: the failed and
// marginal metrics, each with its reason.
func (r Report) Err() error {
	if r.Verdict == Pass {
		return nil
	}
	var parts []string
	for _, m := range r.Metrics {
		if m.Verdict != Pass {
			parts = append(parts, fmt.Sprintf("%s %s: %s", m.Name, m.Verdict, m.Reason))
		}
	}
	if len(parts) == 0 {
		return errors.New(r.Reason)
	}
	return fmt.Errorf("%s (%s)", r.Reason, strings.Join(parts, "; "))
}

// FormatP writes a p-value for a report: three significant digits, and
// "< 0.0001" below that.
func FormatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 1e-4:
		return "< 0.0001"
	}
	return trimFloat(math.Round(p*1e4) / 1e4)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func rate(failures, n int) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return float64(failures) / float64(n)
}

func relative(shift, base float64) float64 {
	switch {
	case base != 0:
		return shift / math.Abs(base)
	case shift > 0:
		return math.Inf(1)
	case shift < 0:
		return math.Inf(-1)
	}
	return 0
}

// zStatistic is the pooled z of candidate's rate over baseline's.
func zStatistic(f1, n1, f2, n2 int) float64 {
	pooled := float64(f1+f2) / float64(n1+n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0
	}
	return (rate(f2, n2) - rate(f1, n1)) / se
}

func percent(r float64) string {
	if math.IsInf(r, 1) {
		return "∞ % (the baseline had none)"
	}
	return trimFloat(math.Round(r*1000)/10) + " %"
}

// seconds writes a latency shift: "40 µs", "1.5 ms", "2 s".
func seconds(v float64) string {
	switch a := math.Abs(v); {
	case a < 1e-3:
		return trimFloat(math.Round(v*1e7)/10) + " µs"
	case a < 1:
		return trimFloat(math.Round(v*1e4)/10) + " ms"
	}
	return trimFloat(math.Round(v*1000)/1000) + " s"
}

// pIs writes "p = 0.03", or "p < 0.0001".
func pIs(p float64) string {
	if f := FormatP(p); !strings.HasPrefix(f, "<") {
		return "p = " + f
	}
	return "p " + FormatP(p)
}

func trimFloat(v float64) string { return fmt.Sprintf("%g", v) }

// MarshalJSON writes the judgement for reports, NaN and infinities left
// out (JSON has neither).
func (m Metric) MarshalJSON() ([]byte, error) {
	type side struct {
		Samples  int      `json:"samples"`
		Value    *float64 `json:"value,omitempty"`
		Failures *int     `json:"failures,omitempty"`
	}
	out := struct {
		Name      string   `json:"name"`
		Kind      string   `json:"kind"`
		Critical  bool     `json:"critical"`
		Weight    float64  `json:"weight"`
		Baseline  side     `json:"baseline"`
		Candidate side     `json:"candidate"`
		Test      string   `json:"test,omitempty"`
		Statistic *float64 `json:"statistic,omitempty"`
		P         *float64 `json:"p,omitempty"`
		Shift     *float64 `json:"shift,omitempty"`
		Relative  *float64 `json:"relative_shift,omitempty"`
		Low       *float64 `json:"relative_shift_low,omitempty"`
		Verdict   Verdict  `json:"verdict"`
		Reason    string   `json:"reason"`
	}{Name: m.Name, Kind: m.Kind, Critical: m.Critical, Weight: m.Weight,
		Baseline:  side{Samples: m.Baseline.Samples, Value: finite(m.Baseline.Value)},
		Candidate: side{Samples: m.Candidate.Samples, Value: finite(m.Candidate.Value)},
		Test:      m.Test, Statistic: finite(m.Statistic), P: finite(m.P), Shift: finite(m.Shift), Relative: finite(m.Relative), Low: finite(m.Low),
		Verdict: m.Verdict, Reason: m.Reason}
	if m.Kind == "error-rate" {
		out.Baseline.Failures, out.Candidate.Failures = &m.Baseline.Failures, &m.Candidate.Failures
	}
	return json.Marshal(out)
}

// MarshalJSON writes the report, its score left out while it has none.
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Metrics []Metric `json:"metrics"`
		Score   *float64 `json:"score,omitempty"`
		Verdict Verdict  `json:"verdict"`
		Reason  string   `json:"reason"`
	}{r.Metrics, finite(r.Score), r.Verdict, r.Reason})
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
