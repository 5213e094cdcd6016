package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// PrometheusSamples takes a comparison's samples from the colours' live
// traffic, as Prometheus recorded it over the window before each
// measurement: the requests and their 5xx answers from a request counter
// labelled with the status code, the latencies from a histogram. When a
// colour has fewer requests than the minimum, both colours are probed
// instead (through the comparison's URL, when it has one): one source for
// both sides.
type PrometheusSamples struct {
	Prometheus *analysis.Prometheus
	// RequestsMetric is a counter with a code label; LatencyMetric a
	// histogram, without _bucket; Selector the label matchers of one
	// colour's series, a template over analysis.Vars (see analysis.SLO).
	RequestsMetric, LatencyMetric, Selector string
	// Window is how far back each measurement looks (10 s at the least).
	Window time.Duration
}

// maxLatencySamples bounds the latencies a histogram gives a side: the
// Hodges-Lehmann shift takes every pair.
const maxLatencySamples = 2000

// WithPrometheus takes the comparison's samples from Prometheus; its
// metric names and selector are checked now.
func (c *Comparison) WithPrometheus(s PrometheusSamples) error {
	if s.Prometheus == nil {
		return errors.New("no Prometheus")
	}
	for _, m := range []string{s.RequestsMetric, s.LatencyMetric} {
		if err := analysis.CheckMetricName(m); err != nil {
			return err
		}
	}
	if err := CheckCompareSelector(s.Selector); err != nil {
		return fmt.Errorf("metrics selector: %w", err)
	}
	s.Window = max(s.Window, analysis.MinSLOWindow)
	c.prom = &s
	return nil
}

// fromPrometheus reads both colours' samples; when either is short of the
// minimum and there is a URL to probe through, both colours' samples are
// the probe's instead.
func (c *Comparison) fromPrometheus(ctx context.Context, v analysis.Vars) (b, k sample, query string, err error) {
	window := c.prom.Window.Round(time.Second)
	if at := c.probedSince(); !at.IsZero() {
		// The probe's own requests are in the colours' series now, and
		// in every window that reaches back to them: read from
		// Prometheus, one colour would be judged on them and the other
		// on live traffic. Once live traffic was too thin, the probe
		// judges the rest of the run.
		b, k, query, err = c.fromProbe(ctx, v)
		if err == nil {
			c.probed()
		}
		return b, k, fmt.Sprintf("probes since %s, when live traffic was too thin: %s", at.UTC().Format("15:04:05"), query), err
	}
	most := max(maxLatencySamples, c.opts.MinSamples)
	if b, err = c.prom.read(ctx, baselineVars(v), c.prom.Window, most); err == nil {
		k, err = c.prom.read(ctx, v, c.prom.Window, most)
	}
	if err != nil {
		return b, k, "", err
	}
	if b.requests >= c.opts.MinSamples && k.requests >= c.opts.MinSamples || c.url == nil {
		return b, k, fmt.Sprintf("Prometheus, the last %s: %s and %s by colour", window, c.prom.RequestsMetric, c.prom.LatencyMetric), nil
	}
	// Too thin: the probe takes over for both colours. Topping up only the
	// short one would judge it on probes of one path and the other on live
	// traffic of every path (a blue-green candidate before the switch has
	// no live traffic at all): one source for both, or the comparison is
	// biased.
	thin := fmt.Sprintf("live traffic too thin (%d baseline and %d candidate requests in the last %s; %d needed a side)", b.requests, k.requests, window, c.opts.MinSamples)
	b, k, query, err = c.fromProbe(ctx, v)
	if err != nil {
		return b, k, "", fmt.Errorf("%s, and the probe failed: %w", thin, err)
	}
	c.probed()
	return b, k, thin + ", so the probe's: " + query, nil
}

// probed notes that the probe took over from live traffic; probedSince says
// when it first did, zero if never.
func (c *Comparison) probed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probedAt.IsZero() {
		c.probedAt = time.Now()
	}
}

func (c *Comparison) probedSince() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probedAt
}

// baselineVars are v's for the baseline colour's series: its colour,
// Deployment and pods in place of the candidate's.
func baselineVars(v analysis.Vars) analysis.Vars {
	v.Color, v.Deployment, v.Pods = v.Baseline, v.BaselineDeployment, v.BaselinePods
	return v
}

// CheckCompareSelector checks a selector of one colour's series for a
// comparison: label matchers (analysis.CheckSelector) that select the
// candidate's series apart from the baseline's. One that names neither
// the colour, nor its Deployment or pods, reads the same series for both,
// which would always compare equal, and pass.
func CheckCompareSelector(selector string) error {
	if err := analysis.CheckSelector(selector, analysis.SampleVars); err != nil {
		return err
	}
	cand := analysis.Vars{Namespace: "production", Service: "fx-platform-service",
		Color: "green", Deployment: "fx.platform-green", Pods: "fx[.]platform-green-7c9d6b5f4-[a-z0-9]+",
		Baseline: "blue", BaselineDeployment: "fx.platform-blue", BaselinePods: "fx[.]platform-blue-5d4f8b9c7-[a-z0-9]+"}
	var rendered [2]string
	for i, v := range []analysis.Vars{cand, baselineVars(cand)} {
		t, err := template.New("selector").Option("missingkey=error").Parse(selector)
		if err != nil {
			return err
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			return err
		}
		rendered[i] = b.String()
	}
	if rendered[0] == rendered[1] {
		return fmt.Errorf("%s selects the same series for both colours (want {{.Pods}}, {{.Deployment}} or {{.Color}} in it, as %s)", selector, analysis.DefaultSelector)
	}
	return nil
}

// read asks for one colour's requests, 5xx answers and latency histogram
// over w, at most most latencies. A colour with no series has no
// requests: that is not an error, and the minimum sample says what it
// means.
func (s *PrometheusSamples) read(ctx context.Context, v analysis.Vars, w time.Duration, most int) (sample, error) {
	var out sample
	t, err := template.New("selector").Option("missingkey=error").Parse(s.Selector)
	if err != nil {
		return out, err
	}
	var sel strings.Builder
	if err := t.Execute(&sel, v); err != nil {
		return out, err
	}
	ws := strconv.Itoa(int(math.Ceil(w.Seconds()))) + "s"
	total, err := s.scalar(ctx, fmt.Sprintf(`sum(increase(%s{%s}[%s]))`, s.RequestsMetric, sel.String(), ws))
	if err != nil {
		return out, err
	}
	errs, err := s.scalar(ctx, fmt.Sprintf(`sum(increase(%s{%s,code=~"5.."}[%s]))`, s.RequestsMetric, sel.String(), ws))
	if err != nil {
		return out, err
	}
	buckets, err := s.Prometheus.QueryVector(ctx, fmt.Sprintf(`sum by (le) (increase(%s_bucket{%s}[%s]))`, s.LatencyMetric, sel.String(), ws))
	if err != nil {
		return out, err
	}
	// Each query is answered at its own instant, and increase()
	// extrapolates: an all-failing colour can show more 5xx answers than
	// requests.
	out.requests = int(math.Round(total))
	out.errors = min(int(math.Round(errs)), out.requests)
	out.latencies = spread(buckets, most)
	return out, nil
}

// scalar is a one-value query whose empty answer (or NaN) is 0. An
// infinite or negative count is an error: no request count comes of it.
func (s *PrometheusSamples) scalar(ctx context.Context, q string) (float64, error) {
	vec, err := s.Prometheus.QueryVector(ctx, q)
	if err != nil || len(vec) == 0 {
		return 0, err
	}
	switch f := vec[0].Value; {
	case math.IsNaN(f):
		return 0, nil
	case math.IsInf(f, 0) || f < 0:
		return 0, fmt.Errorf("%w: %s gave %g, not a count", analysis.ErrBadQuery, q, f)
	default:
		return f, nil
	}
}

// spread turns a histogram's cumulative bucket counts into latencies: each
// bucket's requests spread evenly across it, as histogram_quantile takes
// them (a shift inside one bucket cannot be seen), those above the last
// bound at that bound; at most most, in proportion. Each bucket's count is
// the rounded cumulative count less the previous one, so that rounding
// does not lose requests: a histogram of most or more gives most. Bounds
// that are not numbers (a broken exporter's) are dropped.
func spread(buckets []analysis.Sample, most int) []float64 {
	type bucket struct{ le, cum float64 }
	var bs []bucket
	for _, s := range buckets {
		le, err := strconv.ParseFloat(s.Labels["le"], 64)
		if err == nil && !math.IsNaN(le) && !math.IsInf(le, -1) && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			bs = append(bs, bucket{le, s.Value})
		}
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	if len(bs) == 0 || bs[len(bs)-1].cum < 0.5 {
		return nil
	}
	scale := math.Min(1, float64(most)/bs[len(bs)-1].cum)
	var out []float64
	low, cum, done := 0.0, 0.0, 0
	for _, b := range bs {
		// Extrapolated counts of separate series need not rise.
		cum = math.Max(cum, b.cum)
		upTo := int(math.Round(cum * scale))
		n := upTo - done
		done = max(done, upTo)
		high := b.le
		if math.IsInf(high, 1) {
			high = low
		}
		for i := range n {
			out = append(out, low+(high-low)*(float64(i)+0.5)/float64(n))
		}
		low = high
	}
	return out
}
