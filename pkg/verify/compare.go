package verify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/compare"
)

// The metrics a Comparison can compare.
const (
	CompareLatency   = "latency"
	CompareErrorRate = "error-rate"
)

// CompareMetrics are the metrics a Comparison knows, in report order.
var CompareMetrics = []string{CompareLatency, CompareErrorRate}

// CompareResultName names a Comparison's result.
const CompareResultName = "canary vs baseline"

// Comparison judges the candidate against the baseline colour, as Kayenta
// does: the latencies by the Mann-Whitney U test, the failures by a test
// of two proportions. Its samples are the colours' live requests in
// Prometheus (WithPrometheus), or probes: each Run then probes both
// colours' own URLs at the same time, at the same rate, in as many rounds
// as the minimum sample needs and two more at the most (requests can be
// cut off). A comparison still short is inconclusive, never a pass. A
// Comparison belongs to one run: once live traffic was too thin, it
// probes for the rest of it.
type Comparison struct {
	url      *template.Template
	path     string
	requests int
	rate     int
	metrics  []string
	critical []string
	opts     compare.Options
	reach    time.Duration
	prom     *PrometheusSamples

	mu       sync.Mutex
	probedAt time.Time // when the probe first took over from thin live traffic
}

// NewComparison checks its arguments: base is a base URL naming the colour
// as {{.Color}} ("" with samples from Prometheus alone: nothing tops them
// up), path the path probed, requests sent to each colour at rate
// per second each round, metrics those compared (of
// CompareMetrics), critical those that fail the comparison alone.
func NewComparison(base, path string, requests, rate int, metrics, critical []string, o compare.Options) (*Comparison, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if requests <= 0 || rate <= 0 {
		return nil, fmt.Errorf("%d requests a round at %d a second: both must be above 0", requests, rate)
	}
	c := &Comparison{path: path, requests: requests, rate: rate, opts: o, reach: reachWait}
	if base != "" {
		t, err := template.New("url").Option("missingkey=error").Parse(base)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", base, err)
		}
		c.url = t
		blue, err := c.target("blue")
		if err != nil {
			return nil, err
		}
		green, err := c.target("green")
		if err != nil {
			return nil, err
		}
		if green.String() == blue.String() {
			return nil, fmt.Errorf("%s names no colour: put {{.Color}} where the colour goes, or both colours are probed at one URL", base)
		}
	}
	if len(metrics) == 0 {
		return nil, fmt.Errorf("no metric to compare (want %s)", strings.Join(CompareMetrics, ", "))
	}
	for _, m := range metrics {
		if !slices.Contains(CompareMetrics, m) {
			return nil, fmt.Errorf("metric %q: want %s", m, strings.Join(CompareMetrics, " or "))
		}
		if !slices.Contains(c.metrics, m) {
			c.metrics = append(c.metrics, m)
		}
	}
	for _, m := range critical {
		if !slices.Contains(c.metrics, m) {
			return nil, fmt.Errorf("critical metric %q is not compared (compared: %s)", m, strings.Join(c.metrics, ", "))
		}
	}
	c.critical = critical
	return c, nil
}

func (c *Comparison) target(colour string) (*url.URL, error) {
	base, err := RenderURL(c.url, analysis.Vars{Color: colour})
	if err != nil {
		return nil, err
	}
	return JoinURL(base, c.path)
}

// sample is what the probes of one colour gathered.
type sample struct {
	latencies        []float64 // seconds
	requests, errors int
}

func (s *sample) add(r *LoadResult) {
	for _, d := range r.Latencies {
		s.latencies = append(s.latencies, d.Seconds())
	}
	s.requests += r.Requests
	s.errors += r.Errors
}

// Run compares v.Color with v.Baseline. With no baseline (the stable colour
// no longer serves beside the candidate) there is nothing to compare, and
// Run returns no result.
func (c *Comparison) Run(ctx context.Context, v analysis.Vars) []analysis.Result {
	if v.Baseline == "" || v.Baseline == v.Color {
		return nil
	}
	res := analysis.Result{Name: CompareResultName, At: time.Now(), SampleCount: 0,
		Threshold: analysis.Threshold{Bound: analysis.Min, Value: c.opts.PassScore, Unit: analysis.CanaryScore}}
	var b, k sample
	var err error
	if c.prom != nil {
		b, k, res.Query, err = c.fromPrometheus(ctx, v)
	} else {
		b, k, res.Query, err = c.fromProbe(ctx, v)
	}
	if err != nil {
		return []analysis.Result{inconclusive(res, err)}
	}
	var metrics []compare.Metric
	for _, name := range c.metrics {
		var m compare.Metric
		switch name {
		case CompareLatency:
			m = compare.Latency(name, b.latencies, k.latencies, c.opts)
		case CompareErrorRate:
			m = compare.ErrorRate(name, b.errors, b.requests, k.errors, k.requests, c.opts)
		}
		m.Critical = slices.Contains(c.critical, name)
		metrics = append(metrics, m)
	}
	report := compare.Judge(metrics, c.opts)
	res.Comparison = &report
	res.Value, res.SampleCount = report.Score, float64(min(b.requests, k.requests))
	switch report.Verdict {
	case compare.Pass:
		res.Status = analysis.Pass
	case compare.Fail:
		res.Status = analysis.Fail
	case compare.Insufficient:
		res.Status, res.Err = analysis.Inconclusive, fmt.Errorf("%w: %s", analysis.ErrTooFewSamples, report.Reason)
	default:
		// As Argo Rollouts takes Kayenta's marginal score: not a pass,
		// not a failure.
		res.Status, res.Err = analysis.Inconclusive, fmt.Errorf("marginal: %w", report.Err())
	}
	return []analysis.Result{res}
}

// fromProbe takes the samples from probes of both colours: as many rounds
// as the minimum sample needs.
func (c *Comparison) fromProbe(ctx context.Context, v analysis.Vars) (b, k sample, query string, err error) {
	if c.url == nil {
		return b, k, "", errors.New("no URL to probe the colours through, and no Prometheus")
	}
	base, err := c.target(v.Baseline)
	var cand *url.URL
	if err == nil {
		cand, err = c.target(v.Color)
	}
	if err != nil {
		return b, k, "", err
	}
	rounds, most := 0, (c.opts.MinSamples+c.requests-1)/c.requests+2
	for rounds < most && (rounds == 0 || b.requests < c.opts.MinSamples || k.requests < c.opts.MinSamples) {
		if err := c.probe(ctx, base, cand, c.requests, c.requests, &b, &k); err != nil {
			return b, k, "", fmt.Errorf("%w: %w", analysis.ErrUnavailable, err)
		}
		rounds++
	}
	query = fmt.Sprintf("%d rounds of %d requests a side to %s (candidate) and %s (baseline)", rounds, c.requests, cand, base)
	if rounds == 1 {
		query = fmt.Sprintf("%d requests a side to %s (candidate) and %s (baseline)", c.requests, cand, base)
	}
	return b, k, query, nil
}

// probe sends one round to both colours at once, so both are measured
// under the same conditions, and adds what came back.
func (c *Comparison) probe(ctx context.Context, base, cand *url.URL, nb, nk int, b, k *sample) error {
	type out struct {
		r   *LoadResult
		err error
	}
	var wg sync.WaitGroup
	results := make([]out, 2)
	for i, u := range []*url.URL{base, cand} {
		n := []int{nb, nk}[i]
		if n <= 0 {
			results[i].r = &LoadResult{}
			continue
		}
		wg.Go(func() {
			if err := reachable(ctx, u, c.reach); err != nil {
				results[i].err = err
				return
			}
			// Enough workers that the rate holds up to 200 ms answers.
			r, err := Load{URL: u, Requests: n, Rate: c.rate, Concurrency: max(4, c.rate/5), RequestTimeout: 5 * time.Second, KeepLatencies: true}.Run(ctx)
			results[i] = out{r, err}
		})
	}
	wg.Wait()
	for _, o := range results {
		if o.err != nil {
			return o.err
		}
	}
	b.add(results[0].r)
	k.add(results[1].r)
	return nil
}
