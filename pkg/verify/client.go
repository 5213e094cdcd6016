package verify

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns a transport that keeps up to conns idle connections
// to the service, so a load probe reuses them rather than opening a
// connection per request (net/http keeps only 2 by default). It never uses
// a proxy: requests go to the given URL only.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NewClient returns a client over NewTransport that does not follow
// redirects: a health path that redirects is reported as it answered, and
// no request follows a Location to another host.
func NewClient(conns int) *http.Client {
	return &http.Client{Transport: NewTransport(conns), CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
