package compare

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Reference values: the exact distribution of U by counting, R's
// fisher.test, the z-test worked by hand, and Fisher's own tea-tasting
// table.
func TestMannWhitneyReference(t *testing.T) {
	// {4,5,6} against {1,2,3}: every one of the 3×3 pairs is higher, U =
	// 9; of the C(6,3) = 20 equally likely splits, one is as extreme on
	// each side: p = 2/20.
	u, p, err := MannWhitney([]float64{1, 2, 3}, []float64{4, 5, 6})
	if err != nil || u != 9 || !near(p, 0.1, 1e-9) {
		t.Errorf("MannWhitney = %v, %v, %v; want U 9, p 0.1", u, p, err)
	}
	// One sample's values interleaved with the other's: no evidence.
	if _, p, err := MannWhitney([]float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}); err != nil || p < 0.5 {
		t.Errorf("interleaved samples: p %v, %v; want well above 0.5", p, err)
	}
	if _, _, err := MannWhitney(nil, []float64{1}); !errors.Is(err, ErrNoData) {
		t.Errorf("an empty sample: %v", err)
	}
}

func TestHodgesLehmann(t *testing.T) {
	// Every candidate value 0.04 s above a baseline one: the shift is 0.04.
	base := []float64{0.010, 0.020, 0.030, 0.050}
	cand := []float64{0.050, 0.060, 0.070, 0.090}
	if got, err := HodgesLehmann(base, cand); err != nil || !near(got, 0.04, 1e-12) {
		t.Errorf("HodgesLehmann = %v, %v; want 0.04", got, err)
	}
	// Differences 1-3, 2-3, 1-1, 2-1 sorted are -2, -1, 0, 1: median -0.5.
	if got, _ := HodgesLehmann([]float64{3, 1}, []float64{1, 2}); got != -0.5 {
		t.Errorf("HodgesLehmann of an even count = %v, want -0.5", got)
	}
}

func TestFisherExactReference(t *testing.T) {
	for _, tc := range []struct {
		f1, n1, f2, n2 int
		want           float64
	}{
		// The lady tasting tea, 3 of 4 right both ways: p = 0.4857.
		{3, 4, 1, 4, 0.4857143},
		// R: fisher.test(matrix(c(1, 11, 9, 3), 2)) gives p = 0.002759.
		{1, 10, 11, 14, 0.002759456},
		// No failure on either side: nothing differs.
		{0, 50, 0, 50, 1},
		// 0 of 100 against 5 of 100: R gives p = 0.05943.
		{0, 100, 5, 100, 0.05943},
	} {
		got, err := FisherExact(tc.f1, tc.n1, tc.f2, tc.n2)
		if err != nil || !near(got, tc.want, 5e-5) {
			t.Errorf("FisherExact(%d/%d, %d/%d) = %v, %v; want %v", tc.f1, tc.n1, tc.f2, tc.n2, got, err, tc.want)
		}
	}
	if _, err := FisherExact(5, 4, 0, 4); err == nil {
		t.Error("5 failures of 4 samples were taken")
	}
}

func TestTwoProportionsReference(t *testing.T) {
	// 3 % against 6 % of 1,000 each, pooled 4.5 %: the standard error is
	// sqrt(0.045 × 0.955 × 2/1000) = 0.0092709, z = 0.03/0.0092709 =
	// 3.2359 (X² = 10.47, as R's prop.test without continuity correction
	// has it), and the two tails of the normal beyond it hold 0.001212.
	p, err := TwoProportions(30, 1000, 60, 1000)
	if err != nil || !near(p, 0.001212, 2e-6) {
		t.Errorf("TwoProportions = %v, %v; want 0.001212", p, err)
	}
	if p, _ := TwoProportions(0, 10, 0, 10); p != 1 {
		t.Errorf("no failures: p %v, want 1", p)
	}
}

// Small expected counts go to Fisher's test, large ones to the z-test.
func TestProportionsTestChoosesItsTest(t *testing.T) {
	if _, test, _ := ProportionsTest(0, 100, 5, 100); test != "fisher" {
		t.Errorf("5 failures in 200: %s, want fisher", test)
	}
	if _, test, _ := ProportionsTest(30, 1000, 60, 1000); test != "z" {
		t.Errorf("90 failures in 2,000: %s, want z", test)
	}
}

// A value that is not a number, or infinite, is refused: go-moremath's
// ranking loops forever on a NaN (it never equals itself), and a
// difference of infinities is NaN.
func TestNonFiniteSamplesRefused(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		base, cand := []float64{0.01, 0.02, bad}, []float64{0.01, 0.03, 0.04}
		done := make(chan error, 2)
		go func() {
			_, _, err := MannWhitney(base, cand)
			done <- err
			_, _, _, err = ShiftInterval(cand, base, 0.95)
			done <- err
		}()
		for range 2 {
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%v in a sample: no error", bad)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%v in a sample: no answer in 5 s", bad)
			}
		}
	}
}

// Two samples of one repeated value are the same distribution: no
// difference, p = 1 (Kayenta's classifier passes equal samples too), not
// go-moremath's "all samples are equal" error.
func TestIdenticalSamples(t *testing.T) {
	zeros := make([]float64, 60)
	u, p, err := MannWhitney(zeros, zeros[:50])
	if err != nil || p != 1 || u != 1500 {
		t.Errorf("MannWhitney of zeros = %v, %v, %v; want U 1500 (n1×n2/2), p 1", u, p, err)
	}
	if m := Latency("latency", zeros, zeros, Defaults); m.Verdict != Pass {
		t.Errorf("equal latencies: %s (%s), want pass", m.Verdict, m.Reason)
	}
}

// ShiftInterval gives what the n×m sorted differences give, without
// building them: 3,000 a side would be 9 million differences (72 MB).
func TestShiftIntervalOrderStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range [][2]int{{1, 1}, {1, 7}, {5, 3}, {40, 40}, {57, 31}} {
		base, cand := make([]float64, size[0]), make([]float64, size[1])
		for i := range base {
			base[i] = math.Round(r.Float64()*50) / 1000 // ties too
		}
		for i := range cand {
			cand[i] = math.Round(r.Float64()*60) / 1000
		}
		var diffs []float64
		for _, c := range cand {
			for _, b := range base {
				diffs = append(diffs, c-b)
			}
		}
		slices.Sort(diffs)
		n := len(diffs)
		wantEst := diffs[n/2]
		if n%2 == 0 {
			wantEst = (diffs[n/2-1] + diffs[n/2]) / 2
		}
		for _, conf := range []float64{0.5, 0.9, 0.95, 0.999} {
			lo, est, hi, err := ShiftInterval(base, cand, conf)
			nb, nc := float64(len(base)), float64(len(cand))
			z := distuv.UnitNormal.Quantile(1 - (1-conf)/2)
			k := max(0, min(int(math.Floor(nb*nc/2-z*math.Sqrt(nb*nc*(nb+nc+1)/12))), (n-1)/2))
			if err != nil || lo != diffs[k] || est != wantEst || hi != diffs[n-1-k] {
				t.Errorf("%v at %g: ShiftInterval = %v, %v, %v, %v; want %v, %v, %v", size, conf, lo, est, hi, err, diffs[k], wantEst, diffs[n-1-k])
			}
		}
	}
	big := latenciesOf(r, 3000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, _, err := ShiftInterval(big, big, 0.95); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("3,000 a side allocated %d bytes, want under 1 MiB", got)
	}
}

func latenciesOf(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 0.05 * math.Exp(0.2*r.NormFloat64())
	}
	return out
}
