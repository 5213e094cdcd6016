package compare

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// latencies draws n latencies around median seconds, log-normally spread
// as request latencies are, from a fixed seed.
func latencies(seed uint64, n int, median float64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(0.15*r.NormFloat64())
	}
	return out
}

func TestLatencyVerdicts(t *testing.T) {
	o := Defaults
	for _, tc := range []struct {
		name      string
		base      []float64
		cand      []float64
		want      Verdict
		wantShift float64 // relative, roughly
	}{
		{"20 % slower fails", latencies(1, 200, 0.05), latencies(2, 200, 0.06), Fail, 0.2},
		{"equal passes", latencies(3, 200, 0.05), latencies(4, 200, 0.05), Pass, 0},
		// Large samples make 5 % significant: the tolerance says it does not matter.
		{"5 % slower, within the tolerance, passes", latencies(5, 2000, 0.05), latencies(6, 2000, 0.0525), Pass, 0.05},
		// 14 % slower on 60 a side: significant, but the interval reaches below 10 %.
		{"14 % slower on thin samples is marginal", latencies(11, 60, 0.05), latencies(12, 60, 0.0555), Marginal, 0.14},
		{"faster passes", latencies(7, 200, 0.05), latencies(8, 200, 0.03), Pass, -0.4},
		{"too few samples", latencies(9, 49, 0.05), latencies(10, 200, 0.09), Insufficient, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Latency("latency", tc.base, tc.cand, o)
			if m.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s (%s; p %g, relative %g)", m.Verdict, tc.want, m.Reason, m.P, m.Relative)
			}
			if !math.IsNaN(tc.wantShift) && math.Abs(m.Relative-tc.wantShift) > 0.05 {
				t.Errorf("relative shift %g, want about %g", m.Relative, tc.wantShift)
			}
			if tc.want == Insufficient && !strings.Contains(m.Reason, "each side needs 50") {
				t.Errorf("reason %q does not say what is missing", m.Reason)
			}
		})
	}
}

func TestErrorRateVerdicts(t *testing.T) {
	o := Defaults
	for _, tc := range []struct {
		name           string
		bf, bn, cf, cn int
		want           Verdict
		test           string
	}{
		// 2 % against none: expected counts of 5, so the z-test (p 0.0015).
		{"2 % against 0 % fails", 0, 500, 10, 500, Fail, "two-proportion z"},
		{"2 % against 0 %, 300 a side: Fisher's", 0, 300, 6, 300, Fail, "Fisher's exact"},
		{"none against none passes", 0, 500, 0, 500, Pass, "Fisher's exact"},
		{"1 in 100 against 0 is not significant", 0, 100, 1, 100, Pass, "Fisher's exact"},
		{"the candidate's fewer errors pass", 50, 1000, 10, 1000, Pass, "two-proportion z"},
		{"5 % against 4 %, large samples: beyond 10 %", 800, 20000, 1000, 20000, Fail, "two-proportion z"},
		{"thin", 0, 10, 5, 10, Insufficient, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ErrorRate("error-rate", tc.bf, tc.bn, tc.cf, tc.cn, o)
			if m.Verdict != tc.want || m.Test != tc.test {
				t.Fatalf("%s by %q, want %s by %q (%s)", m.Verdict, m.Test, tc.want, tc.test, m.Reason)
			}
		})
	}
}

func TestJudgeScores(t *testing.T) {
	o := Defaults
	pass := Metric{Name: "a", Weight: 1, Verdict: Pass}
	marginal := Metric{Name: "b", Weight: 1, Verdict: Marginal}
	fail := Metric{Name: "c", Weight: 1, Verdict: Fail}
	critical := Metric{Name: "d", Weight: 1, Verdict: Fail, Critical: true}
	short := Metric{Name: "e", Weight: 1, Verdict: Insufficient}
	for _, tc := range []struct {
		name    string
		metrics []Metric
		want    Verdict
		score   float64
	}{
		{"all pass", []Metric{pass, pass}, Pass, 100},
		{"a marginal metric of two", []Metric{pass, marginal}, Marginal, 75},
		{"a failed metric of two", []Metric{pass, fail}, Fail, 50},
		{"a failed one of twenty", append(repeat(pass, 19), fail), Pass, 95},
		{"a critical one fails alone", append(repeat(pass, 19), critical), Fail, 95},
		{"no data is never a pass", []Metric{pass, short}, Insufficient, math.NaN()},
		{"nothing compared", nil, Insufficient, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Judge(tc.metrics, o)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s (%s)", r.Verdict, tc.want, r.Reason)
			}
			if !(r.Score == tc.score || math.IsNaN(r.Score) && math.IsNaN(tc.score)) {
				t.Errorf("score %g, want %g", r.Score, tc.score)
			}
			if (r.Err() == nil) != (tc.want == Pass) {
				t.Errorf("Err() = %v for a %s", r.Err(), r.Verdict)
			}
		})
	}
}

func repeat(m Metric, n int) []Metric {
	out := make([]Metric, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func TestOptionsCheck(t *testing.T) {
	if err := Defaults.Check(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Tolerance: -0.1, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 1.5, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: math.NaN(), Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, Confidence: 1, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, MinShift: -0.001, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, MinShift: 3600, Confidence: 0.95, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, Confidence: 0, MinSamples: 50, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, Confidence: 0.95, MinSamples: 1, PassScore: 95, MarginalScore: 75},
		{Tolerance: 0.1, Confidence: 0.95, MinSamples: 50, PassScore: 75, MarginalScore: 95},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestFormatP(t *testing.T) {
	for p, want := range map[float64]string{0.05: "0.05", 0.12345: "0.1235", 0.00001: "< 0.0001", 1: "1"} {
		if got := FormatP(p); got != want {
			t.Errorf("FormatP(%g) = %q, want %q", p, got, want)
		}
	}
}

// The interval covers the true shift, holds the estimate, and narrows as
// the samples grow.
func TestShiftInterval(t *testing.T) {
	var widths []float64
	for i, n := range []int{50, 200, 800} {
		b := latencies(uint64(100+i), n, 0.05)
		c := make([]float64, n)
		for j, v := range latencies(uint64(200+i), n, 0.05) {
			c[j] = v + 0.01
		}
		lo, est, hi, err := ShiftInterval(b, c, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if !(lo <= est && est <= hi && lo < 0.01 && 0.01 < hi) {
			t.Errorf("n %d: [%g, %g] around %g does not cover the 0.01 shift", n, lo, hi, est)
		}
		widths = append(widths, hi-lo)
	}
	if !(widths[0] > widths[1] && widths[1] > widths[2]) {
		t.Errorf("widths %v do not narrow with the samples", widths)
	}
	if _, _, _, err := ShiftInterval([]float64{1}, []float64{2}, 1); err == nil {
		t.Error("confidence 1 accepted")
	}
}

// Samples so small that no test could find a difference at the
// confidence level would pass every candidate: 3 a side at 0.95 (the most
// extreme split has p = 2/C(6,3) = 0.1), 6 at 0.999 (2/C(12,6) = 0.0022).
func TestOptionsRefuseSamplesTooSmallToJudge(t *testing.T) {
	for _, tc := range []struct {
		n          int
		confidence float64
		ok         bool
	}{{3, 0.95, false}, {4, 0.95, true}, {4, 0.99, false}, {5, 0.99, true}, {6, 0.999, false}, {7, 0.999, true}} {
		o := Defaults
		o.MinSamples, o.Confidence = tc.n, tc.confidence
		if err := o.Check(); (err == nil) != tc.ok {
			t.Errorf("%d samples at %g: %v, want ok %v", tc.n, tc.confidence, err, tc.ok)
		}
		// The bound is what the tests give: both sides' most extreme samples.
		base, cand := make([]float64, tc.n), make([]float64, tc.n)
		for i := range base {
			base[i], cand[i] = float64(i), float64(tc.n+i)
		}
		_, p, _ := MannWhitney(base, cand)
		fp, _ := FisherExact(0, tc.n, tc.n, tc.n)
		if (p < 1-tc.confidence) != tc.ok || (fp < 1-tc.confidence) != tc.ok {
			t.Errorf("%d samples at %g: smallest p %g (Mann-Whitney), %g (Fisher)", tc.n, tc.confidence, p, fp)
		}
	}
}

// A significant difference whose shift is nil (two fifths of the
// candidate's requests 40 ms slower, its median the baseline's) is within
// the tolerance: it passes, but the candidate is not "better".
func TestSignificantWithoutShiftIsNotBetter(t *testing.T) {
	base, cand := make([]float64, 100), make([]float64, 100)
	for i := range base {
		base[i], cand[i] = 0.05, 0.05
		if i < 40 {
			cand[i] = 0.09
		}
	}
	m := Latency("latency", base, cand, Defaults)
	if m.P >= 0.05 || m.Shift != 0 {
		t.Fatalf("p %g, shift %g: want a significant difference without a shift", m.P, m.Shift)
	}
	if m.Verdict != Pass || strings.Contains(m.Reason, "better") {
		t.Errorf("%s: %s; want a pass that does not call the candidate better", m.Verdict, m.Reason)
	}
}

// A sub-millisecond service's shifts are jitter: 20 % of 0.4 ms is 80 µs,
// under the 1 ms that counts by default; with no smallest shift, it fails.
func TestMinShift(t *testing.T) {
	base, cand := latencies(21, 200, 0.0004), latencies(22, 200, 0.00048)
	if m := Latency("latency", base, cand, Defaults); m.Verdict != Pass || !strings.Contains(m.Reason, "under the 1 ms that counts") {
		t.Errorf("with the default smallest shift: %s (%s), want a pass under 1 ms", m.Verdict, m.Reason)
	}
	o := Defaults
	o.MinShift = 0
	if m := Latency("latency", base, cand, o); m.Verdict != Fail {
		t.Errorf("with none: %s (%s), want fail", m.Verdict, m.Reason)
	}
	// 5.2 ms against 6.2 ms on 60 a side: 21 % worse, at least 14 % (beyond
	// the tolerance), but the interval's low end is under 1 ms: marginal.
	m := Latency("latency", latencies(23, 60, 0.005), latencies(24, 60, 0.0063), Defaults)
	if m.Verdict != Marginal || m.Low <= Defaults.Tolerance || m.Low*m.Baseline.Value >= Defaults.MinShift || !strings.Contains(m.Reason, "under the 1 ms that counts") {
		t.Errorf("%s (%s), low %g of %g: want marginal on the smallest shift alone", m.Verdict, m.Reason, m.Low, m.Baseline.Value)
	}
	// Errors have no smallest shift: 2 % against none fails.
	if m := ErrorRate("error-rate", 0, 500, 10, 500, Defaults); m.Verdict != Fail {
		t.Errorf("errors: %s (%s), want fail", m.Verdict, m.Reason)
	}
}
