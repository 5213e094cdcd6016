package verify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// ProbeAnalysis judges a colour without Prometheus: each Run sends a short
// load probe through the colour's own URL and grades what it measured
// against the strategy's SLOs, as the SLO checks grade what Prometheus
// recorded. Its results are named like theirs: error-rate and p95-latency.
type ProbeAnalysis struct {
	url      *template.Template
	path     string
	requests int
	rate     int
	maxErr   float64
	maxP95   time.Duration
	reach    time.Duration // how long a colour may take to answer at all
}

// NewProbeAnalysis checks its arguments: base, a base URL that may name the
// colour as {{.Color}} (http://fx-platform-service-{{.Color}}.production),
// path the path probed, requests at rate per second each time.
func NewProbeAnalysis(base, path string, requests, rate int, maxErrorRate float64, maxP95 time.Duration) (*ProbeAnalysis, error) {
	t, err := template.New("url").Option("missingkey=error").Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", base, err)
	}
	p := &ProbeAnalysis{url: t, path: path, requests: requests, rate: rate, maxErr: maxErrorRate, maxP95: maxP95, reach: reachWait}
	if _, err := p.target(analysis.Vars{Color: "blue"}); err != nil {
		return nil, err
	}
	if requests <= 0 || rate <= 0 {
		return nil, fmt.Errorf("%d requests at %d a second: both must be above 0", requests, rate)
	}
	return p, nil
}

// RenderURL fills {{.Color}} (and the other analysis.Vars) in a base URL
// and checks what comes out.
func RenderURL(t *template.Template, v analysis.Vars) (*url.URL, error) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return nil, err
	}
	return ParseBaseURL(b.String())
}

func (p *ProbeAnalysis) target(v analysis.Vars) (*url.URL, error) {
	base, err := RenderURL(p.url, v)
	if err != nil {
		return nil, err
	}
	return JoinURL(base, p.path)
}

// Run probes the colour v names and grades the probe.
func (p *ProbeAnalysis) Run(ctx context.Context, v analysis.Vars) []analysis.Result {
	now := time.Now()
	errRate := analysis.Result{Name: "error-rate", Threshold: analysis.Threshold{Bound: analysis.Max, Value: p.maxErr, Unit: analysis.Ratio}, At: now}
	p95 := analysis.Result{Name: "p95-latency", Threshold: analysis.Threshold{Bound: analysis.Max, Value: p.maxP95.Seconds(), Unit: analysis.Seconds}, At: now}
	u, err := p.target(v)
	var res *LoadResult
	if err == nil {
		errRate.Query = fmt.Sprintf("load probe: %d requests to %s", p.requests, u)
		p95.Query = errRate.Query
		err = reachable(ctx, u, p.reach)
	}
	if err == nil {
		res, err = Load{URL: u, Requests: p.requests, Rate: p.rate, Concurrency: 4, RequestTimeout: 5 * time.Second}.Run(ctx)
	}
	switch {
	case err != nil:
		return []analysis.Result{inconclusive(errRate, fmt.Errorf("%w: %w", analysis.ErrUnavailable, err)), inconclusive(p95, fmt.Errorf("%w: %w", analysis.ErrUnavailable, err))}
	case res.Requests == 0:
		return []analysis.Result{inconclusive(errRate, analysis.ErrNoData), inconclusive(p95, analysis.ErrNoData)}
	}
	errRate.Value, errRate.SampleCount = res.ErrorRate, float64(res.Requests)
	errRate = judged(errRate)
	if res.Errors == res.Requests {
		// A refused connection is fast: with no answer at all, a latency
		// says nothing.
		return []analysis.Result{errRate, inconclusive(p95, fmt.Errorf("%w: no request was answered", analysis.ErrNoData))}
	}
	p95.Value, p95.SampleCount = res.P95.Seconds(), float64(res.Requests)
	return []analysis.Result{errRate, judged(p95)}
}

func inconclusive(r analysis.Result, err error) analysis.Result {
	r.Status, r.Err = analysis.Inconclusive, err
	return r
}

func judged(r analysis.Result) analysis.Result {
	r.Status = analysis.Fail
	if r.Threshold.Allows(r.Value) {
		r.Status = analysis.Pass
	}
	return r
}

// reachWait bounds the wait for a colour's URL to answer at all.
const reachWait = 15 * time.Second

// reachable waits until u answers an HTTP request, whatever its status. A
// colour's Service answers a moment after its first pod is ready (the
// proxy's rules follow the endpoints within a second or so): requests sent
// before that are refused, which says nothing of the release. A colour
// that never answers is an error, which makes the measurement
// inconclusive, not a pass.
func reachable(ctx context.Context, u *url.URL, within time.Duration) error {
	client := &http.Client{Timeout: time.Second, CheckRedirect: noRedirect}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer within %s: %w", u, within, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
