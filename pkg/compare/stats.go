// Package compare judges a canary against its baseline, as Kayenta does:
// the two colours' samples side by side, latency by the Mann-Whitney U test
// with the Hodges-Lehmann estimate of the shift, error counts by a test of
// two proportions (Fisher's exact test for small counts).
//
// This file holds the statistics, on well-kept code: go-moremath's
// Mann-Whitney U test (the package Go's benchstat uses) and hypergeometric
// distribution, and gonum's normal distribution. Neither library has
// Fisher's exact test; it is written here on the hypergeometric one.
package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrNoData is a test asked of a sample without values.
var ErrNoData = errors.New("no data")

// MannWhitney is the two-sided Mann-Whitney U test of baseline against
// candidate: the probability that samples this different come from one
// distribution. Ties count half; small samples without ties get the exact
// distribution, others its normal approximation with the tie correction.
//
// Two samples of one repeated value are one distribution: U is half of
// n1×n2 and p is 1 (go-moremath refuses them; Kayenta passes them).
func MannWhitney(baseline, candidate []float64) (u, p float64, err error) {
	if err := checkSamples(baseline, candidate); err != nil {
		return 0, 0, err
	}
	res, err := stats.MannWhitneyUTest(candidate, baseline, stats.LocationDiffers)
	if errors.Is(err, stats.ErrSamplesEqual) {
		return float64(len(baseline)) * float64(len(candidate)) / 2, 1, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("mann-whitney: %w", err)
	}
	return res.U, res.P, nil
}

// checkSamples refuses empty samples, and values that are not finite:
// go-moremath's ranking never ends on a NaN (it equals nothing, itself
// included), and a difference of two infinities is NaN.
func checkSamples(baseline, candidate []float64) error {
	if len(baseline) == 0 || len(candidate) == 0 {
		return ErrNoData
	}
	for _, s := range [][]float64{baseline, candidate} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%g in a sample: want finite values", v)
			}
		}
	}
	return nil
}

// HodgesLehmann is the Hodges-Lehmann estimate of how far candidate is
// shifted from baseline: the median of every candidate-minus-baseline
// difference. It is the shift the Mann-Whitney test is about, in the
// samples' unit (a canary 40 ms slower has a shift of 0.04 s).
func HodgesLehmann(baseline, candidate []float64) (float64, error) {
	_, est, _, err := ShiftInterval(baseline, candidate, 0.5)
	return est, err
}

// ShiftInterval is the Hodges-Lehmann shift with its confidence interval
// at level confidence: the interval the Mann-Whitney test inverts, between
// the order statistics of the pairwise differences its normal
// approximation gives (Hollander and Wolfe, Nonparametric Statistical
// Methods, 3rd ed., §4.3). It never builds the n×m differences (100,000
// probes a side would be 80 GB): each order statistic is found by
// bisection over the float64 values, counting the differences at or below
// one in a pass over both sorted samples.
func ShiftInterval(baseline, candidate []float64, confidence float64) (lo, est, hi float64, err error) {
	if err := checkSamples(baseline, candidate); err != nil {
		return 0, 0, 0, err
	}
	if !(confidence > 0 && confidence < 1) {
		return 0, 0, 0, fmt.Errorf("confidence %g is not between 0 and 1", confidence)
	}
	d := differences{base: slices.Sorted(slices.Values(baseline)), cand: slices.Sorted(slices.Values(candidate))}
	n := len(baseline) * len(candidate)
	if n%2 == 1 {
		est = d.kth(n / 2)
	} else {
		est = (d.kth(n/2-1) + d.kth(n/2)) / 2
	}
	nb, nc := float64(len(baseline)), float64(len(candidate))
	z := distuv.UnitNormal.Quantile(1 - (1-confidence)/2)
	k := int(math.Floor(nb*nc/2 - z*math.Sqrt(nb*nc*(nb+nc+1)/12)))
	k = max(0, min(k, (n-1)/2))
	return d.kth(k), est, d.kth(n - 1 - k), nil
}

// differences are the candidate-minus-baseline differences of two sorted
// samples of finite values, never built.
type differences struct{ base, cand []float64 }

// atMost counts the differences c-b at or below t: for each candidate
// value, the baseline values from the first with c-b ≤ t on, a first that
// only moves right as c grows.
func (d differences) atMost(t float64) int {
	n, j := 0, 0
	for _, c := range d.cand {
		for j < len(d.base) && c-d.base[j] > t {
			j++
		}
		n += len(d.base) - j
	}
	return n
}

// kth is the k-th smallest difference, from 0: the smallest float64 with
// more than k differences at or below it, found by bisection over the
// values' order-preserving bit patterns (64 steps at most). It is one of
// the differences, as computed, so it equals what sorting them gives.
func (d differences) kth(k int) float64 {
	low, high := d.cand[0]-d.base[len(d.base)-1], d.cand[len(d.cand)-1]-d.base[0]
	if d.atMost(low) > k {
		return low
	}
	lo, hi := orderedBits(low), orderedBits(high)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if d.atMost(fromOrderedBits(mid)) > k {
			hi = mid
		} else {
			lo = mid
		}
	}
	return fromOrderedBits(hi)
}

// orderedBits maps a float64 to a uint64 in the same order.
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderedBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

// FisherExact is the two-sided p-value of Fisher's exact test of the 2×2
// table of failures and successes of two samples: failures1 of n1 against
// failures2 of n2. It sums the probabilities, under the hypergeometric
// distribution the margins fix, of every table no more likely than the one
// observed (R's fisher.test does the same, with the same relative
// tolerance for ties in probability).
func FisherExact(failures1, n1, failures2, n2 int) (float64, error) {
	if n1 <= 0 || n2 <= 0 {
		return 0, ErrNoData
	}
	if failures1 < 0 || failures1 > n1 || failures2 < 0 || failures2 > n2 {
		return 0, fmt.Errorf("fisher: %d of %d and %d of %d are not counts of samples", failures1, n1, failures2, n2)
	}
	d := stats.HypergeometicDist{N: n1 + n2, K: failures1 + failures2, Draws: n1}
	observed := d.PMF(float64(failures1))
	lo, hi := d.Bounds()
	const relErr = 1 + 1e-7
	p := 0.0
	for k := lo; k <= hi; k++ {
		if pk := d.PMF(k); pk <= observed*relErr {
			p += pk
		}
	}
	return math.Min(p, 1), nil
}

// TwoProportions is the two-sided p-value of the z-test of two
// proportions, failures1 of n1 against failures2 of n2, with the pooled
// proportion: the large-sample test, where Fisher's exact test would sum
// too many tables. With no failure at all on either side, nothing differs
// and p is 1.
func TwoProportions(failures1, n1, failures2, n2 int) (float64, error) {
	if n1 <= 0 || n2 <= 0 {
		return 0, ErrNoData
	}
	if failures1 < 0 || failures1 > n1 || failures2 < 0 || failures2 > n2 {
		return 0, fmt.Errorf("two proportions: %d of %d and %d of %d are not counts of samples", failures1, n1, failures2, n2)
	}
	p1, p2 := float64(failures1)/float64(n1), float64(failures2)/float64(n2)
	pooled := float64(failures1+failures2) / float64(n1+n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1, nil
	}
	z := math.Abs(p1-p2) / se
	return 2 * (1 - distuv.UnitNormal.CDF(z)), nil
}

// ProportionsTest is the test of two proportions a sample's size calls
// for: Fisher's exact test while an expected count of the table is below
// 5 (the usual rule), the z-test above. It says which it ran.
func ProportionsTest(failures1, n1, failures2, n2 int) (p float64, test string, err error) {
	if n1 <= 0 || n2 <= 0 {
		return 0, "", ErrNoData
	}
	total, fails := float64(n1+n2), float64(failures1+failures2)
	minExpected := math.Min(fails, total-fails) * math.Min(float64(n1), float64(n2)) / total
	if minExpected < 5 {
		p, err = FisherExact(failures1, n1, failures2, n2)
		return p, "fisher", err
	}
	p, err = TwoProportions(failures1, n1, failures2, n2)
	return p, "z", err
}
