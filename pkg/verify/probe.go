package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"fortio.org/fortio/periodic"
	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// probeClient is the load probe's HTTP/1.1 client: fasthttp's HostClient,
// shared by the probe's workers.
//
// Why not net/http: in the benchmark (scripts/bench verify) the probe
// shares 2 cores with the service, so every microsecond the client spends
// is one the server lacks. net/http's client took about 26 µs of CPU per
// request (16 µs user): a read and a write goroutine per connection with
// channel hand-offs on every request, a context and a timer per request,
// and their allocations. HostClient writes the request and reads the answer
// on the worker's own goroutine, with pooled buffers.
//
// What the probe keeps from net/http: keep-alive connections (up to one
// per worker), a bounded dial, one deadline per request, no proxy, no
// redirects followed, no compression asked for, one retry of a kept-alive
// connection the server closed. What it adds: the probe's context closes
// every connection when it ends, so the overall deadline and a cancelled
// run stop requests in flight at once. What it drops: HTTP/2 (the probe
// speaks HTTP/1.1 to https URLs too, as wrk does).
type probeClient struct {
	hc      *fasthttp.HostClient
	timeout time.Duration
	ctx     context.Context
	stop    func() bool

	// get is the probe's request, its URI parsed once; every worker sends
	// its own copy.
	get fasthttp.Request

	mu    sync.Mutex
	conns map[*probeConn]struct{}
}

// newProbeClient returns a client to u's host for conns workers; each
// request gets at most timeout. When ctx ends, every connection is closed
// and no new one is dialled.
func newProbeClient(ctx context.Context, u *url.URL, conns int, timeout time.Duration) (*probeClient, error) {
	c := &probeClient{timeout: timeout, ctx: ctx, conns: map[*probeConn]struct{}{}}
	c.get.Header.SetMethod(http.MethodGet)
	c.get.SetRequestURI(u.String())
	c.get.URI() // parsed now, once
	addr := u.Host
	tlsOn := false
	switch u.Scheme {
	case "http":
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		tlsOn = true
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		}
	default:
		return nil, fmt.Errorf("load probe: unsupported scheme %q", u.Scheme)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c.hc = &fasthttp.HostClient{
		Addr:      addr,
		Name:      "deploy-actions-verify",
		IsTLS:     tlsOn,
		TLSConfig: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
		Dial: func(addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return c.track(conn), nil
		},
		MaxConns:           conns,
		MaxConnWaitTimeout: timeout,
		// One retry, for what net/http retries too: a connection the
		// server closed before any byte of an answer came back (a kept-alive
		// connection it dropped while idle). fasthttp cannot tell a reused
		// connection from a new one, so such a failure on a new one is
		// retried once as well; any other failure is the service's and
		// counts, and so does a second one.
		MaxIdemponentCallAttempts: 2,
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (bool, bool) {
			return false, attempts == 1 && closedUnanswered(err)
		},
		// Paths are sent as given, as net/http sends them.
		DisablePathNormalizing: true,
	}
	c.stop = context.AfterFunc(ctx, c.closeAll)
	return c, nil
}

// do sends req, started at start, and reads the whole answer into resp.
func (c *probeClient) do(req *fasthttp.Request, resp *fasthttp.Response, start time.Time) error {
	err := c.hc.DoDeadline(req, resp, start.Add(c.timeout))
	if errors.Is(err, fasthttp.ErrTimeout) {
		return fmt.Errorf("no answer within %s: %w", c.timeout, err)
	}
	return err
}

func closedUnanswered(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// Close closes every connection; the client is not used afterwards.
func (c *probeClient) Close() {
	c.stop()
	c.closeAll()
}

func (c *probeClient) track(conn net.Conn) net.Conn {
	pc := &probeConn{Conn: conn, c: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil { // closed while dialling
		conn.Close()
		return pc
	}
	c.conns[pc] = struct{}{}
	return pc
}

func (c *probeClient) closeAll() {
	c.mu.Lock()
	conns := c.conns
	c.conns = nil
	c.mu.Unlock()
	for pc := range conns {
		pc.Conn.Close()
	}
}

// probeConn is a connection the client closes when the probe ends.
type probeConn struct {
	net.Conn
	c *probeClient
}

func (pc *probeConn) Close() error {
	pc.c.mu.Lock()
	delete(pc.c.conns, pc)
	pc.c.mu.Unlock()
	return pc.Conn.Close()
}

// probeWorker is one of the probe's workers: fortio's periodic runner calls
// Run once per request, from the worker's own goroutine, so the worker
// keeps its request, answer and counts without locks and allocates nothing
// per request.
type probeWorker struct {
	c    *probeClient
	lat  *latencies
	req  fasthttp.Request
	resp fasthttp.Response

	codes   map[int]int    // answers by status; 0 is no answer
	errs    map[string]int // why there was no answer
	pending []time.Duration
}

var _ periodic.Runnable = (*probeWorker)(nil)

func newProbeWorker(c *probeClient, lat *latencies) *probeWorker {
	w := &probeWorker{c: c, lat: lat, codes: map[int]int{}, errs: map[string]int{},
		pending: make([]time.Duration, 0, 256)}
	c.get.CopyTo(&w.req)
	return w
}

// Run sends one request and records it. A request the probe's end cut off
// is not the service's failure and is not counted.
func (w *probeWorker) Run(context.Context, periodic.ThreadID) (bool, string) {
	start := time.Now()
	err := w.c.do(&w.req, &w.resp, start)
	latency := time.Since(start)
	if err != nil && w.c.ctx.Err() != nil {
		return false, ""
	}
	code := 0
	if err != nil {
		w.errs[err.Error()]++
	} else {
		code = w.resp.StatusCode()
	}
	w.codes[code]++
	if w.pending = append(w.pending, latency); len(w.pending) == cap(w.pending) {
		w.flush()
	}
	return answered(code), ""
}

// flush hands the worker's latencies to the shared histogram, a batch at
// a time so the workers rarely wait for each other.
func (w *probeWorker) flush() {
	w.lat.add(w.pending)
	w.pending = w.pending[:0]
}

// answered reports whether a status is an answer rather than an error, as
// wrk counts them: 2xx and 3xx (redirects are not followed).
func answered(code int) bool { return code >= 200 && code < 400 }

// latencies is the probe's latency record: an HDR histogram for the
// percentiles (3 significant digits), the report's buckets, counted
// exactly, and the exact mean and maximum.
type latencies struct {
	mu      sync.Mutex
	hist    *hdrhistogram.Histogram // microseconds
	buckets []int                   // per LatencyBuckets
	sum     time.Duration
	max     time.Duration
	all     []time.Duration // every latency, when kept (non-nil)
	n       int
}

// newLatencies records latencies up to highest; longer ones count as
// highest in the percentiles (a request is cut off at its timeout anyway).
func newLatencies(highest time.Duration) *latencies {
	return &latencies{
		hist:    hdrhistogram.New(1, max(highest.Microseconds(), 2), 3),
		buckets: make([]int, len(LatencyBuckets)),
	}
}

func (l *latencies) add(batch []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	highest := l.hist.HighestTrackableValue()
	for _, d := range batch {
		l.hist.RecordValue(min(max(d.Microseconds(), 1), highest))
		i := len(LatencyBuckets) - 1
		for i > 0 && d < LatencyBuckets[i] {
			i--
		}
		l.buckets[i]++
		l.sum += d
		l.max = max(l.max, d)
		l.n++
	}
	if l.all != nil {
		l.all = append(l.all, batch...)
	}
}

// percentile is the latency at or below which q percent of requests
// answered, at the histogram's precision.
func (l *latencies) percentile(q float64) time.Duration {
	return time.Duration(l.hist.ValueAtQuantile(q)) * time.Microsecond
}
