package image

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// retryStatusCodes are the responses worth another attempt. 401, 403 and
// 404 are not among them: repeating those only delays a clear error.
var retryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests,
	http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// retryable decides whether a failed registry request is tried again:
// temporary registry errors (408, 429, 5xx) and broken connections, never
// a cancelled context or an authentication, permission or missing error.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNREFUSED, net.ErrClosed} {
		if errors.Is(err, target) {
			return true
		}
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

// remoteOptions are the go-containerregistry options of every registry
// call the Builder makes, through tr.
func (b *Builder) remoteOptions(ctx context.Context, tr http.RoundTripper) []remote.Option {
	return Remote{Keychain: b.o.keychain, Transport: tr, Backoff: b.o.backoff, MaxRetryAfter: b.o.maxRetryAfter,
		Jobs: b.o.jobs, UserAgent: "deploy-actions/build-push"}.Options(ctx)
}

// retryTransport retries a request that failed with 408, 429, 5xx or a
// broken connection, waiting between attempts on the request's context:
// an interrupted action stops waiting at once. go-containerregistry's own
// retries sleep without a context, so they are kept short (ggcrBackoff),
// and the patience lives here. A registry's Retry-After (429, 503) is
// honoured up to max; go-containerregistry alone ignores the header. A
// request whose body cannot be replayed is not retried here; ggcr's
// upload-level retry covers it.
type retryTransport struct {
	inner   http.RoundTripper
	backoff remote.Backoff
	max     time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	delay := t.backoff.Duration
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if attempt >= t.backoff.Steps || !replayable(req) || !retryResponse(resp, err) {
			return resp, err
		}
		wait := delay
		if resp != nil {
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = min(d, t.max)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		delay = time.Duration(float64(delay) * max(t.backoff.Factor, 1))
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

// replayable reports whether req can be sent again: no body, or one it
// can make anew.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// retryResponse decides on one attempt's outcome: a retryable error, or a
// status in retryStatusCodes.
func retryResponse(resp *http.Response, err error) bool {
	if err != nil {
		return retryable(err)
	}
	return slices.Contains(retryStatusCodes, resp.StatusCode)
}

// ggcrBackoff is go-containerregistry's own retry, at the transport and at
// the upload level: its sleeps cannot be interrupted, so they stay short
// (1 s, 2 s); retryTransport does the long waits.
var ggcrBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 3}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 24*3600)) * time.Second, true
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// countingTransport counts the request body bytes sent to registries:
// what a push really uploaded, retries included.
type countingTransport struct {
	inner http.RoundTripper
	sent  atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.inner.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = &countingBody{ReadCloser: req.Body, n: &t.sent}
	return t.inner.RoundTrip(r)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
