package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fortio.org/fortio/periodic"
	fortiolog "fortio.org/log"
)

// Load is a load probe: a bounded number of GET requests to one URL, either
// closed-loop (Concurrency requests in flight, each sent as soon as the
// previous one returns) or at a fixed Rate with at most Concurrency in
// flight. It runs on fortio's periodic runner (the load loop of the fortio
// load tester: a goroutine per worker, an exact request count or a paced
// rate), over an HTTP/1.1 client built on fasthttp (see probeClient for
// why), with latencies in an HDR histogram as wrk keeps them.
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
	// KeepLatencies keeps every request's latency in the result, for a
	// comparison of two samples (a Requests-long slice).
	KeepLatencies bool
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
	// Latencies are every request's latency, in the order the workers
	// handed them in, when the Load asked to keep them.
	Latencies []time.Duration `json:"-"`
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
	c, err := newProbeClient(probeCtx, l.URL, l.Concurrency, l.requestTimeout())
	if err != nil {
		return nil, err
	}
	defer c.Close()

	quietFortio()
	opts := &periodic.RunnerOptions{
		RunType: "deploy-actions verify",
		// Closed loop: each worker sends its next request as soon as its
		// previous one returns. fortio splits Exactly between the workers,
		// and one given none would still send one, so there are never more
		// workers than requests.
		QPS:        -1,
		NumThreads: min(l.Concurrency, l.Requests),
		Exactly:    int64(l.Requests),
		Duration:   l.Deadline, // with Exactly, it does not end the run: the deadline below does
		Out:        io.Discard,
		Stop:       periodic.NewAborter(),
	}
	if l.Rate > 0 {
		// Each worker paces itself at Rate/Concurrency, the workers'
		// starts staggered evenly (fortio's uniform mode), so requests go
		// out at an even Rate; fortio lowers the workers to half the
		// requests if there are fewer.
		opts.QPS = float64(l.Rate)
		opts.NumThreads = l.Concurrency
		opts.Uniform = true
	}
	aborter := opts.Stop
	runner := periodic.NewPeriodicRunner(opts) // moves opts into runner
	lat := newLatencies(2 * l.requestTimeout())
	if l.KeepLatencies {
		lat.all = make([]time.Duration, 0, l.Requests)
	}
	workers := make([]*probeWorker, len(runner.Options().Runners))
	for i := range workers {
		workers[i] = newProbeWorker(c, lat)
		runner.Options().Runners[i] = workers[i]
	}
	// At the deadline or on cancellation, no worker starts another request
	// and the client's connections close under those in flight.
	stop := context.AfterFunc(probeCtx, func() { aborter.Abort(false) })
	defer stop()
	start := time.Now()
	runner.Run()
	elapsed := time.Since(start)
	for _, w := range workers {
		w.flush()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.result(workers, lat, elapsed), nil
}

// quietFortio keeps fortio's logger to errors: its runner logs each run's
// progress at info level on stderr, which is not the action's to print.
var quietFortio = sync.OnceFunc(func() { fortiolog.SetLogLevelQuiet(fortiolog.Error) })

func (l Load) result(workers []*probeWorker, lat *latencies, elapsed time.Duration) *LoadResult {
	codes := map[int]int{}
	errCounts := map[string]int{}
	for _, w := range workers {
		for code, n := range w.codes {
			codes[code] += n
		}
		for e, n := range w.errs {
			errCounts[e] += n
		}
	}
	r := &LoadResult{
		URL:         l.URL.String(),
		Planned:     l.Requests,
		Requests:    lat.n,
		Duration:    elapsed,
		StatusCodes: map[string]int{},
		Truncated:   lat.n < l.Requests,
		Latencies:   lat.all,
	}
	if lat.n > 0 {
		r.P50, r.P95, r.P99 = lat.percentile(50), lat.percentile(95), lat.percentile(99)
		r.Max, r.Mean = lat.max, lat.sum/time.Duration(lat.n)
	}
	ok := 0
	for code, n := range codes {
		r.StatusCodes[strconv.Itoa(code)] = n
		switch {
		case answered(code):
			ok += n
		case code != 0: // no answer at all is counted by its reason
			errCounts[strconv.Itoa(code)+" "+http.StatusText(code)] += n
		}
	}
	for _, n := range errCounts {
		r.Errors += n
	}
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	if elapsed > 0 {
		r.Throughput = float64(ok) / elapsed.Seconds()
	}
	for i, low := range LatencyBuckets {
		b := Bucket{Low: low, Count: lat.buckets[i]}
		if i+1 < len(LatencyBuckets) {
			b.High = LatencyBuckets[i+1]
		}
		r.Histogram = append(r.Histogram, b)
	}
	texts := make([]string, 0, len(errCounts))
	for e := range errCounts {
		texts = append(texts, e)
	}
	slices.SortFunc(texts, func(a, b string) int {
		return cmp.Or(errCounts[b]-errCounts[a], strings.Compare(a, b))
	})
	for _, e := range texts[:min(5, len(texts))] {
		r.TopErrors = append(r.TopErrors, fmt.Sprintf("%s (%d)", e, errCounts[e]))
	}
	return r
}
