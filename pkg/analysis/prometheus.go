package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus is a Provider that runs instant queries against the Prometheus
// HTTP API.
type Prometheus struct {
	address string
	api     promv1.API
	timeout time.Duration
	now     func() time.Time
}

// PrometheusOption configures NewPrometheus.
type PrometheusOption func(*prometheusOptions) error

type prometheusOptions struct {
	transport http.RoundTripper
	timeout   time.Duration
	now       func() time.Time
}

// WithTransport sets the HTTP transport (default: client_golang's).
func WithTransport(rt http.RoundTripper) PrometheusOption {
	return func(o *prometheusOptions) error {
		if rt == nil {
			return errors.New("nil transport")
		}
		o.transport = rt
		return nil
	}
}

// WithQueryTimeout bounds each query, on the client and in Prometheus
// (default 30s). A query that times out is ErrUnavailable.
func WithQueryTimeout(d time.Duration) PrometheusOption {
	return func(o *prometheusOptions) error {
		if d <= 0 {
			return fmt.Errorf("query timeout %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithClock sets the evaluation time of instant queries (default time.Now).
func WithClock(now func() time.Time) PrometheusOption {
	return func(o *prometheusOptions) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

// NewPrometheus returns a provider for the Prometheus at address, such as
// http://127.0.0.1:9090. It sends nothing until the first query.
func NewPrometheus(address string, opts ...PrometheusOption) (*Prometheus, error) {
	if err := CheckURL(address); err != nil {
		return nil, err
	}
	o := &prometheusOptions{timeout: 30 * time.Second, now: time.Now}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	client, err := api.NewClient(api.Config{Address: address, RoundTripper: o.transport})
	if err != nil {
		return nil, fmt.Errorf("prometheus %q: %w", address, err)
	}
	return &Prometheus{address: address, api: promv1.NewAPI(client), timeout: o.timeout, now: o.now}, nil
}

// CheckURL reports whether s is an absolute http(s) URL with a host.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// Query runs an instant query and returns its single value. A scalar or a
// one-element vector is a value; an empty vector is ErrNoData; NaN is
// ErrNaN; anything else is ErrNotScalar.
func (p *Prometheus) Query(ctx context.Context, query string) (float64, error) {
	v, err := p.query(ctx, query)
	if err != nil {
		return math.NaN(), err
	}
	var f model.SampleValue
	switch v := v.(type) {
	case *model.Scalar:
		f = v.Value
	case model.Vector:
		switch len(v) {
		case 0:
			return math.NaN(), ErrNoData
		case 1:
			f = v[0].Value
		default:
			return math.NaN(), fmt.Errorf("%w: %d series (%s, ...); aggregate them, e.g. with sum()", ErrNotScalar, len(v), v[0].Metric)
		}
	default:
		return math.NaN(), fmt.Errorf("%w: a %s", ErrNotScalar, v.Type())
	}
	if math.IsNaN(float64(f)) {
		return math.NaN(), ErrNaN
	}
	return float64(f), nil
}

// Sample is one series of an instant vector.
type Sample struct {
	// Labels are the series' labels, __name__ among them.
	Labels map[string]string
	Value  float64
}

// QueryVector runs an instant query and returns every series it selects,
// for a query whose answer is a set (the firing alerts): an empty vector
// is no series and no error, not ErrNoData. A scalar, string or matrix is
// ErrNotVector; errors are classified as Query's are.
func (p *Prometheus) QueryVector(ctx context.Context, query string) ([]Sample, error) {
	v, err := p.query(ctx, query)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%w: a %s", ErrNotVector, v.Type())
	}
	out := make([]Sample, 0, len(vec))
	for _, s := range vec {
		labels := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			labels[string(k)] = string(v)
		}
		out = append(out, Sample{Labels: labels, Value: float64(s.Value)})
	}
	return out, nil
}

// query runs an instant query at the provider's clock, bounded by its
// timeout, and classifies its error.
func (p *Prometheus) query(ctx context.Context, query string) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, query, p.now(), promv1.WithTimeout(p.timeout))
	if err != nil {
		return nil, p.classify(err)
	}
	if v == nil {
		return nil, fmt.Errorf("%w: prometheus %s: an answer with no result", ErrUnavailable, p.address)
	}
	return v, nil
}

// classify maps a client error to the package's sentinels: a query
// Prometheus refuses is ErrBadQuery; everything else (connection refused,
// timeouts, 5xx) is ErrUnavailable.
func (p *Prometheus) classify(err error) error {
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) && (apiErr.Type == promv1.ErrBadData || apiErr.Type == promv1.ErrExec) {
		return fmt.Errorf("%w: %s", ErrBadQuery, apiErr.Msg)
	}
	if apiErr != nil && apiErr.Detail != "" {
		return fmt.Errorf("%w: prometheus %s: %w: %s", ErrUnavailable, p.address, err, firstLine(apiErr.Detail))
	}
	return fmt.Errorf("%w: prometheus %s: %w", ErrUnavailable, p.address, err)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
