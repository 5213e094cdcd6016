package image

import (
	"context"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Remote is how the suite reaches registries, the same for every client:
// build-push's Builder, scan, sign, the signature gate and Helm's chart
// pull. A 429 is retried (after its Retry-After) everywhere or nowhere.
// The zero value is usable: the docker config keychain, the default
// transport, TLS for every host but loopback ones.
type Remote struct {
	// Keychain gives credentials (default authn.DefaultKeychain); see
	// NewKeychain.
	Keychain authn.Keychain
	// Transport is the HTTP transport retries wrap (default
	// remote.DefaultTransport).
	Transport http.RoundTripper
	// Insecure names registry hosts ("localhost:5000") reached over plain
	// HTTP.
	Insecure []string
	// UserAgent names the caller, e.g. "deploy-actions/sign".
	UserAgent string
	// Backoff is the wait between attempts of a request that failed with
	// 408, 429, 5xx or a broken connection (default: 6 tries, 1 s
	// doubling). 401, 403 and 404 are never retried.
	Backoff remote.Backoff
	// MaxRetryAfter caps how long a Retry-After header can hold a request
	// (default 1 minute).
	MaxRetryAfter time.Duration
	// Jobs is how many blobs go at once (default ggcr's 4).
	Jobs int
}

func (r Remote) withDefaults() Remote {
	if r.Keychain == nil {
		r.Keychain = authn.DefaultKeychain
	}
	if r.Transport == nil {
		r.Transport = remote.DefaultTransport
	}
	if r.Backoff.Steps == 0 {
		r.Backoff = defaultBackoff
	}
	if r.MaxRetryAfter == 0 {
		r.MaxRetryAfter = time.Minute
	}
	if r.UserAgent == "" {
		r.UserAgent = "deploy-actions"
	}
	return r
}

// Options are the go-containerregistry options of a registry call made
// for ctx: the keychain, the transport with Retry-After honoured, and the
// retry policy.
func (r Remote) Options(ctx context.Context) []remote.Option {
	r = r.withDefaults()
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.Keychain),
		// ggcr wraps this transport in its own short retry; this one waits
		// long, on the request's context, and honours Retry-After.
		remote.WithTransport(&retryTransport{inner: r.Transport, backoff: r.Backoff, max: r.MaxRetryAfter}),
		remote.WithRetryBackoff(ggcrBackoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithRetryPredicate(retryable),
		remote.WithUserAgent(r.UserAgent),
	}
	if r.Jobs > 0 {
		opts = append(opts, remote.WithJobs(r.Jobs))
	}
	return opts
}

// NameOptions are the options to parse a reference to host with:
// name.Insecure when the host is reached over plain HTTP.
func (r Remote) NameOptions(host string) []name.Option {
	if slices.Contains(r.Insecure, host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// PlainHTTP reports whether host is reached over plain HTTP: it is in
// Insecure, or on a loopback address, as go-containerregistry and docker
// treat localhost.
func (r Remote) PlainHTTP(host string) bool {
	if slices.Contains(r.Insecure, host) {
		return true
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// HTTPClient is an HTTP client with the same retry policy, Retry-After
// handling and user agent, for registry clients that are not
// go-containerregistry's (Helm's OCI chart pull). Credentials are the
// client's own business.
func (r Remote) HTTPClient() *http.Client {
	r = r.withDefaults()
	tr := &retryTransport{inner: r.Transport, backoff: r.Backoff, max: r.MaxRetryAfter}
	return &http.Client{Transport: transport.NewUserAgent(tr, r.UserAgent)}
}
