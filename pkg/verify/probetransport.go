package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// probeTransport is the load probe's http.RoundTripper: HTTP/1.1 over
// fasthttp's HostClient, under vegeta's attacker.
//
// Why not net/http's Transport: in the benchmark (scripts/bench verify) the
// probe shares 2 cores with the service, so every microsecond the client
// spends is one the server lacks. CPU profiles of the probe against the
// sample app put net/http's client at about 26 µs of CPU per request (16 µs
// user), of which the kernel's write and read are 10: the rest is a read
// and a write goroutine per connection with channel hand-offs on every
// request, a context and a timer per request for the timeout, and their
// allocations. Over HostClient the request is written and the answer read
// on the worker's own goroutine, with pooled buffers: about 18 µs (8 µs
// user; wrk needs 11, 1 user). That took the probe from 0.35-0.5x to
// 0.72-0.82x of wrk's throughput at the same concurrency.
//
// What the probe keeps from net/http: keep-alive connections (up to one
// per worker), a bounded dial, one deadline per request (its timeout, or
// the request's context deadline if sooner), no proxy, no redirects
// followed, no compression asked for. What it adds: the probe's context
// closes every connection when it ends, so the overall deadline and a
// cancelled run stop requests in flight at once. What it drops: HTTP/2
// (the probe speaks HTTP/1.1 to https URLs too, as wrk does).
type probeTransport struct {
	hc      *fasthttp.HostClient
	timeout time.Duration
	ctx     context.Context
	stop    func() bool

	// url and get are the probe's target and a GET of it, copied for
	// every request rather than formatted and parsed again (vegeta makes
	// a new http.Request, URL included, for each).
	url url.URL
	get fasthttp.Request

	mu    sync.Mutex
	conns map[*probeConn]struct{}
}

// newProbeTransport returns a transport to u's host for conns workers;
// each request gets at most timeout. When ctx ends, every connection is
// closed and no new one is dialled.
func newProbeTransport(ctx context.Context, u *url.URL, conns int, timeout time.Duration) (*probeTransport, error) {
	t := &probeTransport{timeout: timeout, ctx: ctx, url: *u, conns: map[*probeConn]struct{}{}}
	t.get.Header.SetMethod(http.MethodGet)
	t.get.SetRequestURI(u.String())
	t.get.URI() // parsed now, once
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
	t.hc = &fasthttp.HostClient{
		Addr:      addr,
		Name:      "deploy-actions-verify",
		IsTLS:     tlsOn,
		TLSConfig: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
		Dial: func(addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return t.track(c), nil
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
	t.stop = context.AfterFunc(ctx, t.closeAll)
	return t, nil
}

// RoundTrip sends req, a GET or HEAD without a body (what vegeta sends for
// the probe's target), and returns the whole answer.
func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body.Close()
		return nil, errors.New("load probe: request bodies are not supported")
	}
	freq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(freq)
	if req.Method == http.MethodGet && *req.URL == t.url {
		t.get.CopyTo(freq) // the probe's own request, its URI parsed once
	} else {
		freq.Header.SetMethod(req.Method)
		freq.SetRequestURI(req.URL.String())
	}
	for k, vs := range req.Header {
		// vegeta numbers every request in an X-Vegeta-Seq header, for its
		// own bookkeeping: it means nothing to the service, and parsing
		// it cost the sample app about 1 µs a request (measured).
		if strings.HasPrefix(k, "X-Vegeta-") {
			continue
		}
		for _, v := range vs {
			freq.Header.Add(k, v)
		}
	}
	deadline := time.Now().Add(t.timeout)
	if d, ok := req.Context().Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	resp := fasthttp.AcquireResponse()
	if err := t.hc.DoDeadline(freq, resp, deadline); err != nil {
		fasthttp.ReleaseResponse(resp)
		if cerr := t.ctx.Err(); cerr != nil {
			return nil, cerr // the probe ended; not the service's failure
		}
		if errors.Is(err, fasthttp.ErrTimeout) {
			return nil, fmt.Errorf("no answer within %s: %w", t.timeout, err)
		}
		return nil, err
	}
	// The answer carries its status and body but no header: nothing in
	// the probe reads one (the client follows no redirect), and copying
	// them took about 4 % of the probe's CPU.
	code := resp.StatusCode()
	body := &probeBody{resp: resp}
	body.Reset(resp.Body())
	return &http.Response{
		Status:     strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode: code,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{},
		Body:          body,
		ContentLength: int64(len(resp.Body())),
		Request:       req,
	}, nil
}

func closedUnanswered(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// Close closes every connection; the transport is not used afterwards.
func (t *probeTransport) Close() {
	t.stop()
	t.closeAll()
}

func (t *probeTransport) track(c net.Conn) net.Conn {
	pc := &probeConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns == nil { // closed while dialling
		c.Close()
		return pc
	}
	t.conns[pc] = struct{}{}
	return pc
}

func (t *probeTransport) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// probeConn is a connection the transport closes when the probe ends.
type probeConn struct {
	net.Conn
	t *probeTransport
}

func (c *probeConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// probeBody reads a fasthttp response's body and gives the response back
// to fasthttp's pool when closed.
type probeBody struct {
	bytes.Reader
	resp *fasthttp.Response
	once sync.Once
}

func (b *probeBody) Close() error {
	b.once.Do(func() {
		b.Reset(nil)
		fasthttp.ReleaseResponse(b.resp)
	})
	return nil
}
