package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/report"
)

// AvailabilityOptions configure a Monitor: a continuous probe that sends
// GET requests to one URL at a steady rate while an operation (a promote, a
// rollback) runs, and counts every failed request.
type AvailabilityOptions struct {
	// URL is the only address the monitor sends requests to.
	URL string
	// Host, when set, is sent as the Host header instead of URL's host (a
	// Gateway's listener reached by address, routing on a hostname).
	Host string
	// Rate is requests per second (open loop: a slow answer does not delay
	// the next request, so an outage shows as failures, not as fewer
	// requests).
	Rate float64
	// Timeout bounds each request; default 2s. A request that times out
	// failed.
	Timeout time.Duration
	// MaxDuration and MaxRequests bound the probe; it stops by itself at
	// whichever comes first. Both are required.
	MaxDuration time.Duration
	MaxRequests int
	// VersionHeader names the answer header that says which release
	// answered; default "X-App-Version". Answers without it count under "".
	VersionHeader string
	// MaxInFlight bounds concurrent requests; a request due while that
	// many are outstanding failed ("overloaded"); default twice what Rate
	// and Timeout can hold, at least 512.
	MaxInFlight int
	// Transport replaces the default, which opens a new connection for
	// every request so that each one is routed by the Service's or the
	// Gateway's rules as they are at that instant.
	Transport http.RoundTripper
}

// Sample is one request the monitor sent.
type Sample struct {
	At      time.Time // when it was sent
	Latency time.Duration
	Version string // from the version header of the answer; "" without one
	Status  int    // 0 when no answer came
	Err     string // why it failed; "" when it succeeded
}

// OK reports whether the request succeeded: an answer with a 2xx or 3xx
// status.
func (s Sample) OK() bool { return s.Err == "" }

// AvailabilityReport sums up samples.
type AvailabilityReport struct {
	Requests int
	Failed   int
	// Availability is the share of requests that succeeded, 0 to 1; 1
	// with no requests.
	Availability float64
	// LongestGap is the longest time from the last success before a run
	// of failures to the first success after it (or to the end of the
	// samples); 0 when nothing failed.
	LongestGap time.Duration
	// Versions counts successful answers by the release that gave them.
	Versions map[string]int
	// Failures counts failed requests by reason.
	Failures map[string]int
	// FailedVersions counts failed answers (an error status) by the
	// release that gave them; requests that got no answer are not in it.
	FailedVersions map[string]int
	Start          time.Time
	End            time.Time
}

// Meets reports whether the availability is at least min (a fraction),
// with a tolerance for the rounding of a percentage such as 99.9 % read as
// 0.9990000000000001.
func (r AvailabilityReport) Meets(min float64) bool { return r.Availability+1e-9 >= min }

// Share returns the fraction of successful answers given by version.
func (r AvailabilityReport) Share(version string) float64 {
	ok := r.Requests - r.Failed
	if ok == 0 {
		return 0
	}
	return float64(r.Versions[version]) / float64(ok)
}

// String is a one-line summary: requests, failed, availability, versions.
func (r AvailabilityReport) String() string {
	var vs []string
	for _, v := range sortedKeys(r.Versions) {
		vs = append(vs, fmt.Sprintf("%s=%d", v, r.Versions[v]))
	}
	var fs []string
	for _, f := range sortedKeys(r.Failures) {
		fs = append(fs, fmt.Sprintf("%s=%d", f, r.Failures[f]))
	}
	s := fmt.Sprintf("%d requests, %d failed (availability %.3f %%, longest gap %s); answers by version: %s",
		r.Requests, r.Failed, 100*r.Availability, r.LongestGap.Round(time.Millisecond), strings.Join(vs, " "))
	if len(fs) > 0 {
		s += "; failures: " + strings.Join(fs, " ")
	}
	var fv []string
	for _, v := range sortedKeys(r.FailedVersions) {
		fv = append(fv, fmt.Sprintf("%s=%d", v, r.FailedVersions[v]))
	}
	if len(fv) > 0 {
		s += "; failed answers by version: " + strings.Join(fv, " ")
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Summarize reports on samples (in the order they were sent).
func Summarize(samples []Sample) AvailabilityReport {
	r := AvailabilityReport{Requests: len(samples), Versions: map[string]int{}, Failures: map[string]int{}, FailedVersions: map[string]int{}, Availability: 1}
	if len(samples) == 0 {
		return r
	}
	r.Start, r.End = samples[0].At, samples[len(samples)-1].At
	var lastOK time.Time
	var failing bool
	gap := func(until time.Time) {
		from := lastOK
		if from.IsZero() {
			from = r.Start
		}
		if d := until.Sub(from); d > r.LongestGap {
			r.LongestGap = d
		}
	}
	for _, s := range samples {
		if s.OK() {
			r.Versions[s.Version]++
			if failing {
				gap(s.At)
				failing = false
			}
			lastOK = s.At
			continue
		}
		r.Failed++
		r.Failures[s.Err]++
		if s.Status != 0 {
			r.FailedVersions[s.Version]++
		}
		failing = true
	}
	if failing {
		gap(r.End)
	}
	r.Availability = float64(r.Requests-r.Failed) / float64(r.Requests)
	return r
}

// Monitor is a running availability probe.
type Monitor struct {
	opts    AvailabilityOptions
	client  *http.Client
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
}

func (o *AvailabilityOptions) validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("availability URL %q is not an http(s) URL", o.URL)
	}
	if o.Rate <= 0 || o.Rate > 10000 {
		return fmt.Errorf("availability rate %v is not between 0 and 10000 requests per second", o.Rate)
	}
	if o.MaxDuration <= 0 || o.MaxRequests <= 0 {
		return errors.New("availability probe needs MaxDuration and MaxRequests (every probe is bounded)")
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.VersionHeader == "" {
		o.VersionHeader = "X-App-Version"
	}
	if o.MaxInFlight == 0 {
		// Room for every request a slow service can hold for Timeout,
		// twice over, so the probe's own limit never shows as failures.
		o.MaxInFlight = max(512, 2*int(math.Ceil(o.Rate*o.Timeout.Seconds())))
	}
	return nil
}

// StartAvailability starts a probe of opts.URL; it runs until Stop, ctx
// ends, or a bound of opts is reached.
func StartAvailability(ctx context.Context, opts AvailabilityOptions) (*Monitor, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	rt := opts.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: opts.Timeout}).DialContext,
			DisableKeepAlives: true,
			// Each request dials its own connection; with keep-alive
			// off no idle connection is ever kept.
			MaxConnsPerHost:     0,
			TLSHandshakeTimeout: opts.Timeout,
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.MaxDuration)
	m := &Monitor{
		opts:   opts,
		client: &http.Client{Transport: rt, Timeout: opts.Timeout, CheckRedirect: noRedirect},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go m.run(ctx)
	return m, nil
}

func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	interval := time.Duration(float64(time.Second) / m.opts.Rate)
	start := time.Now()
	slots := make(chan struct{}, m.opts.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < m.opts.MaxRequests; i++ {
		// Paced against the start, so a late tick does not shift the rest.
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			m.record(Sample{At: time.Now(), Err: "overloaded"})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			m.record(m.send(ctx))
		}()
	}
}

// send makes one request. It is not cancelled by Stop: a request in flight
// finishes (within Timeout) and is counted, so stopping the monitor never
// shows as a failure of the service.
func (m *Monitor) send(ctx context.Context) Sample {
	s := Sample{At: time.Now()}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, m.opts.URL, nil)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	if m.opts.Host != "" {
		req.Host = m.opts.Host
	}
	// Whether the connection was made tells a dead endpoint (no connection)
	// from a slow one (no answer).
	var connected atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) { connected.Store(err == nil) },
	}))
	resp, err := m.client.Do(req)
	s.Latency = time.Since(s.At)
	if err != nil {
		s.Err = failureReason(err)
		if s.Err == "timeout" {
			s.Err = map[bool]string{true: "timeout waiting for the answer", false: "timeout connecting"}[connected.Load()]
		}
		return s
	}
	_, copyErr := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	s.Status = resp.StatusCode
	s.Version = resp.Header.Get(m.opts.VersionHeader)
	switch {
	case copyErr != nil:
		s.Err = "reading answer: " + failureReason(copyErr)
	case resp.StatusCode < 200 || resp.StatusCode >= 400:
		s.Err = fmt.Sprintf("status %d", resp.StatusCode)
	}
	return s
}

// failureReason names a request error by its kind, so the report groups
// like with like ("connection refused", "timeout", "connection reset").
func failureReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the answer"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}

func (m *Monitor) record(s Sample) {
	m.mu.Lock()
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

// Samples returns a copy of the samples so far, in the order they were
// sent.
func (m *Monitor) Samples() []Sample {
	m.mu.Lock()
	out := append([]Sample(nil), m.samples...)
	m.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Report sums up the samples so far.
func (m *Monitor) Report() AvailabilityReport { return Summarize(m.Samples()) }

// Since sums up the samples sent at or after t.
func (m *Monitor) Since(t time.Time) AvailabilityReport {
	all := m.Samples()
	i := sort.Search(len(all), func(i int) bool { return !all[i].At.Before(t) })
	return Summarize(all[i:])
}

// Stop ends the probe, waits for the requests in flight, and reports on
// every sample.
func (m *Monitor) Stop() AvailabilityReport {
	m.cancel()
	<-m.done
	return m.Report()
}

// Done is closed when the probe has ended (stopped, or a bound reached).
func (m *Monitor) Done() <-chan struct{} { return m.done }

// Require returns an error when the availability of the requests sent at
// or after since is below min (a fraction, 0.999 for 99.9 %), naming the
// figures. It judges only once there are enough requests for one failure to
// mean something: 1/(1-min) of them (1,000 for 99.9 %, at most 1,000).
func (m *Monitor) Require(min float64, since time.Time) error {
	need := 1
	if min < 1 {
		need = int(math.Min(math.Ceil(1/(1-min)-1e-9), 1000))
	}
	var requests, failed int
	reasons := map[string]int{}
	m.mu.Lock()
	for _, s := range m.samples {
		if s.At.Before(since) {
			continue
		}
		requests++
		if !s.OK() {
			failed++
			reasons[s.Err]++
		}
	}
	m.mu.Unlock()
	if requests < need || failed == 0 {
		return nil
	}
	r := AvailabilityReport{Requests: requests, Failed: failed, Availability: float64(requests-failed) / float64(requests)}
	if r.Meets(min) {
		return nil
	}
	return fmt.Errorf("availability %.3f %% is below %.3f %%: %d of %d requests to %s failed since traffic moved (%s)",
		100*r.Availability, 100*min, failed, requests, m.opts.URL, failureList(reasons))
}

func failureList(f map[string]int) string {
	var out []string
	for _, k := range sortedKeys(f) {
		out = append(out, fmt.Sprintf("%d %s", f[k], k))
	}
	return strings.Join(out, ", ")
}

// Markdown is the report as a step summary section: the strategy's KPI row
// for availability (target min, a fraction), failed requests, the longest
// gap, and the answers by version.
func (r AvailabilityReport) Markdown(url string, rate, min float64) string {
	status := "✅"
	if !r.Meets(min) {
		status = "❌"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Availability\n\nA probe sent %d requests to %s (%g per second, a new connection each) while the run lasted.\n\n",
		r.Requests, report.Code(url), rate)
	rows := [][]string{
		{"Availability", fmt.Sprintf("≥ %.3g %%", 100*min), fmt.Sprintf("%.3f %%", 100*r.Availability), status},
		{"Failed requests", "0", fmt.Sprint(r.Failed), map[bool]string{true: "✅", false: "❌"}[r.Failed == 0]},
		{"Longest gap", "0 s", r.LongestGap.Round(time.Millisecond).String(), map[bool]string{true: "✅", false: "❌"}[r.LongestGap == 0]},
	}
	b.WriteString(report.Table([]string{"Metric", "Target", "Current", "Status"}, rows))
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\nFailures: %s\n", report.Escape(failureList(r.Failures)))
	}
	if len(r.Versions) > 0 {
		vrows := make([][]string, 0, len(r.Versions))
		for _, v := range sortedKeys(r.Versions) {
			name := v
			if name == "" {
				name = "(no version header)"
			}
			vrows = append(vrows, []string{report.Code(name), fmt.Sprint(r.Versions[v]), fmt.Sprintf("%.1f %%", 100*r.Share(v))})
		}
		b.WriteString("\n" + report.Table([]string{"Answered by", "Requests", "Share"}, vrows))
	}
	return b.String()
}
