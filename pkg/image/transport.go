package image

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
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

// retryAfterTransport honours a registry's Retry-After: a 429 or 503
// response carrying one is held back for that long (at most max) before
// it reaches go-containerregistry's retry logic, which then waits its own
// backoff on top. go-containerregistry alone ignores the header.
type retryAfterTransport struct {
	inner http.RoundTripper
	max   time.Duration
}

func (t *retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok {
		return resp, nil
	}
	timer := time.NewTimer(min(d, t.max))
	defer timer.Stop()
	select {
	case <-timer.C:
		return resp, nil
	case <-req.Context().Done():
		resp.Body.Close()
		return nil, req.Context().Err()
	}
}

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
