package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// ErrUnhealthy is returned when a health path did not become healthy in
// time.
var ErrUnhealthy = errors.New("unhealthy")

// healthyStatuses are the values of a JSON "status" field that mean
// healthy (compared without case).
var healthyStatuses = []string{"ok", "healthy", "up"}

// Health polls health paths until each is healthy or the timeout passes.
// The zero value makes one attempt per path with a default client.
type Health struct {
	// Client sends the requests; default NewClient(4).
	Client *http.Client
	// Timeout is how long to keep retrying a path; 0 means one attempt.
	Timeout time.Duration
	// Interval is the pause between attempts (default 1s).
	Interval time.Duration
	// RequestTimeout bounds one request (default 5s).
	RequestTimeout time.Duration
	Logger         Logger
}

// HealthResult is what one health path answered.
type HealthResult struct {
	Path    string `json:"path"`
	Healthy bool   `json:"healthy"`
	Code    int    `json:"code,omitempty"`
	// Status is the JSON body's "status" field, if it has one.
	Status string `json:"status,omitempty"`
	// Problem says why the last attempt was not healthy.
	Problem  string        `json:"problem,omitempty"`
	Attempts int           `json:"attempts"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Wait checks every path (relative to base) in parallel, retrying each
// until it is healthy or Timeout passes. It returns one result per path, in
// order, and an error wrapping ErrUnhealthy that names every path that
// never became healthy. A cancelled ctx stops it early with ctx's error.
func (h Health) Wait(ctx context.Context, base *url.URL, paths []string) ([]HealthResult, error) {
	h.setDefaults()
	h.Logger = &lockedLogger{l: h.Logger} // the paths are polled in parallel
	results := make([]HealthResult, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.poll(ctx, base, p)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return results, err
	}
	var errs []error
	for _, r := range results {
		if !r.Healthy {
			errs = append(errs, fmt.Errorf("%w: health path %q: %s (%d attempts over %s)",
				ErrUnhealthy, r.Path, r.Problem, r.Attempts, r.Elapsed.Round(time.Millisecond)))
		}
	}
	return results, errors.Join(errs...)
}

func (h *Health) setDefaults() {
	if h.Client == nil {
		h.Client = NewClient(4)
	}
	if h.Interval <= 0 {
		h.Interval = time.Second
	}
	if h.RequestTimeout <= 0 {
		h.RequestTimeout = 5 * time.Second
	}
	if h.Logger == nil {
		h.Logger = nopLogger{}
	}
}

func (h Health) poll(ctx context.Context, base *url.URL, path string) HealthResult {
	start := time.Now()
	var last HealthResult
	attempts := 0
	check := func(ctx context.Context) (bool, error) {
		attempts++
		r := h.Check(ctx, base, path)
		if ctx.Err() != nil && attempts > 1 {
			// Cut short by the timeout: the previous answer says more.
			return false, nil
		}
		last = r
		if !last.Healthy && attempts == 1 || !last.Healthy && attempts%10 == 0 {
			h.Logger.Infof("waiting for %s: %s", path, last.Problem)
		}
		return last.Healthy, nil
	}
	if h.Timeout <= 0 {
		_, _ = check(ctx)
	} else {
		_ = wait.PollUntilContextTimeout(ctx, h.Interval, h.Timeout, true, check)
	}
	last.Attempts = attempts
	last.Elapsed = time.Since(start)
	if last.Healthy && attempts > 1 {
		h.Logger.Infof("%s healthy after %d attempts (%s)", path, attempts, last.Elapsed.Round(time.Millisecond))
	}
	return last
}

// Check makes one request to path and judges the answer: healthy when the
// status code is 2xx and, if the body is a JSON object with a "status"
// field, that field is ok, healthy or up.
func (h Health) Check(ctx context.Context, base *url.URL, path string) HealthResult {
	h.setDefaults()
	r := HealthResult{Path: path}
	target, err := JoinURL(base, path)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, h.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.Client.Do(req)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r.Code = resp.StatusCode
	switch {
	case err != nil:
		r.Problem = "reading the body: " + err.Error()
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		r.Problem = "answered " + resp.Status
	default:
		r.Status, r.Problem = judgeBody(body)
		r.Healthy = r.Problem == ""
	}
	return r
}

// judgeBody applies the JSON status rule: a body that is not a JSON object,
// or has no "status" field, passes; a "status" must be a healthy word.
func judgeBody(body []byte) (status, problem string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return "", ""
	}
	raw, ok := obj["status"]
	if !ok {
		return "", ""
	}
	if json.Unmarshal(raw, &status) != nil {
		return string(raw), fmt.Sprintf(`JSON "status" is %s, not a string`, raw)
	}
	for _, s := range healthyStatuses {
		if strings.EqualFold(status, s) {
			return status, ""
		}
	}
	return status, fmt.Sprintf(`JSON "status" is %q (want %s)`, status, strings.Join(healthyStatuses, ", "))
}

// JoinURL resolves a path ("/api/health", optionally with a query) against
// a base URL, keeping the base's own path prefix. The path may not name
// another host or scheme: requests only ever go to the base URL's host.
func JoinURL(base *url.URL, path string) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return nil, fmt.Errorf("path %q must start with a single /", path)
	}
	p, err := url.Parse(path)
	if err != nil || p.Scheme != "" || p.Host != "" {
		return nil, fmt.Errorf("path %q is not a URL path", path)
	}
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + p.Path
	u.RawPath = ""
	u.RawQuery = p.RawQuery
	u.Fragment = ""
	return &u, nil
}

// CheckPath checks a path to be joined to a service's base URL: it must
// start with a single /, with no scheme or host of its own, so it can
// never send a request anywhere but the service.
func CheckPath(path string) error {
	_, err := JoinURL(&url.URL{Scheme: "http", Host: "127.0.0.1"}, path)
	return err
}

// ParseBaseURL checks a service's base URL: absolute http(s), with a host,
// no query or fragment.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q is not an http or https URL", s)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q has a query or fragment; give the base URL only", s)
	case u.User != nil:
		return nil, fmt.Errorf("%q has credentials in it", s)
	}
	return u, nil
}
