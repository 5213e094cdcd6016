package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Load is a load probe: a bounded number of GET requests to one URL, either
// closed-loop (Concurrency requests in flight, each sent as soon as the
// previous one returns) or at a fixed Rate with at most Concurrency in
// flight. It runs on vegeta's attacker, over an HTTP/1.1 client built on
// fasthttp (see probeTransport for why).
type Load struct {
	URL         *url.URL
	Requests    int // how many to send; must be above 0
	Concurrency int // workers; default 10
	// Rate is requests per second; 0 means closed loop at Concurrency.
	Rate int
	// RequestTimeout bounds each request (default 10s); a request that
	// times out counts as an error.
	RequestTimeout time.Duration
	// Deadline bounds the whole probe (default: see DefaultDeadline). A
	// probe that reaches it stops, cancels requests in flight and reports
	// Truncated.
	Deadline time.Duration
}

// LatencyBuckets are the histogram's lower bounds, chosen around the
// strategy's levels (500 ms target, 1 s warning, 2 s critical).
var LatencyBuckets = []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

// LoadResult is what a probe measured.
type LoadResult struct {
	URL         string         `json:"url"`
	Planned     int            `json:"planned"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	ErrorRate   float64        `json:"error_rate"` // fraction of requests
	P50         time.Duration  `json:"p50_ns"`
	P95         time.Duration  `json:"p95_ns"`
	P99         time.Duration  `json:"p99_ns"`
	Max         time.Duration  `json:"max_ns"`
	Mean        time.Duration  `json:"mean_ns"`
	Throughput  float64        `json:"throughput_per_s"` // successful requests per second
	Duration    time.Duration  `json:"duration_ns"`
	StatusCodes map[string]int `json:"status_codes"`
	// TopErrors are up to five distinct error texts, most frequent first.
	TopErrors []string `json:"top_errors,omitempty"`
	Histogram []Bucket `json:"histogram"`
	// Truncated is true when the probe hit its deadline before sending
	// every planned request.
	Truncated bool `json:"truncated"`
}

// Bucket is one histogram bar: requests whose latency is in [Low, High);
// High is 0 for the last, open bucket.
type Bucket struct {
	Low   time.Duration `json:"low_ns"`
	High  time.Duration `json:"high_ns,omitempty"`
	Count int           `json:"count"`
}

// DefaultDeadline is the overall bound used when Deadline is zero: twice
// the time a fixed-rate probe needs plus one request timeout, and at least
// five minutes.
func (l Load) DefaultDeadline() time.Duration {
	d := 5 * time.Minute
	if l.Rate > 0 {
		need := 2*time.Duration(float64(l.Requests)/float64(l.Rate)*float64(time.Second)) + l.requestTimeout()
		d = max(d, need)
	}
	return d
}

func (l Load) requestTimeout() time.Duration {
	if l.RequestTimeout > 0 {
		return l.RequestTimeout
	}
	return 10 * time.Second
}

func (l *Load) validate() error {
	switch {
	case l.URL == nil:
		return errors.New("load probe: no URL")
	case l.Requests <= 0:
		return fmt.Errorf("load probe: %d requests", l.Requests)
	case l.Concurrency < 0 || l.Rate < 0:
		return errors.New("load probe: negative concurrency or rate")
	}
	if l.Concurrency == 0 {
		l.Concurrency = 10
	}
	if l.Deadline <= 0 {
		l.Deadline = l.DefaultDeadline()
	}
	return nil
}

// Run sends the requests and measures them. Failed requests are part of
// the result, not an error; Run returns an error only for a bad Load or
// when ctx ends.
func (l Load) Run(ctx context.Context) (*LoadResult, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	probeCtx, cancel := context.WithTimeout(ctx, l.Deadline)
	defer cancel()
	tr, err := newProbeTransport(probeCtx, l.URL, l.Concurrency, l.requestTimeout())
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	workers := uint64(l.Concurrency)
	atk := vegeta.NewAttacker(
		// The transport bounds each request (its timeout, and the probe's
		// context closes its connections), so the client has no Timeout
		// of its own: net/http would add a timer and context per request.
		vegeta.Client(&http.Client{Transport: tr, CheckRedirect: noRedirect}),
		vegeta.Workers(workers),
		vegeta.MaxWorkers(workers),
		// Bodies are read to the end (so connections are reused) but not
		// kept: only status and latency are measured.
		vegeta.MaxBody(0),
	)
	stop := context.AfterFunc(probeCtx, func() { atk.Stop() })
	defer stop()

	target := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: l.URL.String()})
	pacer := countPacer{inner: vegeta.ConstantPacer{Freq: l.Rate, Per: time.Second}, n: uint64(l.Requests)}
	hist := &vegeta.Histogram{Buckets: LatencyBuckets}
	var m vegeta.Metrics
	m.Histogram = hist
	errCounts := map[string]int{}
	for res := range atk.Attack(target, pacer, l.Deadline, "") {
		if probeCtx.Err() != nil && res.Code == 0 {
			continue // cut off by the deadline, not answered by the service
		}
		m.Add(res)
		if res.Error != "" {
			errCounts[res.Error]++
		}
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.result(&m, hist, errCounts), nil
}

func (l Load) result(m *vegeta.Metrics, hist *vegeta.Histogram, errCounts map[string]int) *LoadResult {
	r := &LoadResult{
		URL:         l.URL.String(),
		Planned:     l.Requests,
		Requests:    int(m.Requests),
		P50:         m.Latencies.P50,
		P95:         m.Latencies.P95,
		P99:         m.Latencies.P99,
		Max:         m.Latencies.Max,
		Mean:        m.Latencies.Mean,
		Throughput:  m.Throughput,
		Duration:    m.Duration + m.Wait,
		StatusCodes: m.StatusCodes,
		Truncated:   int(m.Requests) < l.Requests,
	}
	for _, n := range errCounts {
		r.Errors += n
	}
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	for i, low := range hist.Buckets {
		b := Bucket{Low: low}
		if i+1 < len(hist.Buckets) {
			b.High = hist.Buckets[i+1]
		}
		if i < len(hist.Counts) {
			b.Count = int(hist.Counts[i])
		}
		r.Histogram = append(r.Histogram, b)
	}
	texts := make([]string, 0, len(errCounts))
	for e := range errCounts {
		texts = append(texts, e)
	}
	slices.SortFunc(texts, func(a, b string) int { return errCounts[b] - errCounts[a] })
	for _, e := range texts[:min(5, len(texts))] {
		r.TopErrors = append(r.TopErrors, fmt.Sprintf("%s (%d)", e, errCounts[e]))
	}
	return r
}

// countPacer stops an attack after n hits.
type countPacer struct {
	inner vegeta.Pacer
	n     uint64
}

func (p countPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.n {
		return 0, true
	}
	return p.inner.Pace(elapsed, hits)
}

func (p countPacer) Rate(elapsed time.Duration) float64 { return p.inner.Rate(elapsed) }
