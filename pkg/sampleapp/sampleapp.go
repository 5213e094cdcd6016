// Package sampleapp is the HTTP service the sandbox, the tests and the demo
// deploy: a stand-in for the FX platform's API with the health paths the
// deployment strategy checks, a business endpoint, and Prometheus metrics.
// Faults (latency, an error rate, a failing health check, a slow start) are
// injected through Config so verify and promote can be shown to react.
package sampleapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Headers on every answer, so a probe knows which release answered.
const (
	HeaderVersion = "X-App-Version"
	HeaderColour  = "X-App-Colour"
)

// Paths the app serves.
const (
	PathHealth         = "/api/health"
	PathHealthDatabase = "/api/health/database"
	PathHealthExternal = "/api/health/external"
	PathStrategy       = "/api/strategy"
	PathMetrics        = "/metrics"
)

var healthPaths = []string{PathHealth, PathHealthDatabase, PathHealthExternal}

// Config sets the app's identity and the faults it injects.
type Config struct {
	// Version and Colour are reported by every JSON answer and as constant
	// labels on the metrics ("v1.2.3", "blue").
	Version string
	Colour  string
	// Latency is added to every /api request.
	Latency time.Duration
	// ErrorRate is the fraction (0 to 1) of /api requests answered 500.
	ErrorRate float64
	// FailHealth is a health path that always answers 503, or "".
	FailHealth string
	// ReadyAfter makes the health paths answer 503 until this long after
	// the handler is made.
	ReadyAfter time.Duration
	// Store, when set, is the app's database: /api/health/database pings
	// it and /api/strategy reads its strategy from it.
	Store Store

	// Now, Sleep and Random replace the clock, time.Sleep and the random
	// source (tests).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration)
	Random func() float64
}

func (c *Config) validate() error {
	if c.ErrorRate < 0 || c.ErrorRate > 1 {
		return fmt.Errorf("error rate %v is not between 0 and 1", c.ErrorRate)
	}
	if c.Latency < 0 || c.ReadyAfter < 0 {
		return errors.New("latency and ready-after must not be negative")
	}
	if c.FailHealth != "" && !isHealthPath(c.FailHealth) {
		return fmt.Errorf("fail-health %q is not one of %v", c.FailHealth, healthPaths)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Random == nil {
		c.Random = rand.Float64
	}
	return nil
}

func isHealthPath(p string) bool {
	for _, h := range healthPaths {
		if p == h {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type app struct {
	cfg      Config
	start    time.Time
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHandler returns the app's handler; its metrics are registered with reg
// and served on /metrics from reg's gatherer.
func NewHandler(cfg Config, reg *prometheus.Registry) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	labels := prometheus.Labels{"version": cfg.Version, "colour": cfg.Colour}
	a := &app{
		cfg:   cfg,
		start: cfg.Now(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests answered, by path, method and status code.", ConstLabels: labels,
		}, []string{"path", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer HTTP requests, by path.", ConstLabels: labels,
			// 5 ms apart from 5 to 80 ms, where the tests' latencies are:
			// a comparison of colours from Prometheus sees no shift
			// inside one bucket.
			Buckets: []float64{.005, .01, .015, .02, .025, .03, .035, .04, .045, .05, .055, .06, .065, .07, .075, .08, .09, .1, .25, .5, 1, 2, 5},
		}, []string{"path"}),
	}
	for _, c := range []prometheus.Collector{a.requests, a.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	mux := http.NewServeMux()
	for _, p := range healthPaths {
		mux.Handle("GET "+p, a.instrument(p, a.health(p)))
	}
	mux.Handle("GET "+PathStrategy, a.instrument(PathStrategy, http.HandlerFunc(a.strategy)))
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", a.instrument("other", http.NotFoundHandler()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderVersion, cfg.Version)
		if cfg.Colour != "" {
			w.Header().Set(HeaderColour, cfg.Colour)
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// instrument injects latency and errors, then counts and times the answer.
func (a *app) instrument(path string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := a.cfg.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		if a.cfg.Latency > 0 {
			a.cfg.Sleep(r.Context(), a.cfg.Latency)
		}
		if a.cfg.ErrorRate > 0 && a.cfg.Random() < a.cfg.ErrorRate {
			a.writeJSON(rec, http.StatusInternalServerError, map[string]any{"error": "injected failure"})
		} else {
			next.ServeHTTP(rec, r)
		}
		a.requests.WithLabelValues(path, r.Method, strconv.Itoa(rec.code)).Inc()
		a.duration.WithLabelValues(path).Observe(a.cfg.Now().Sub(begin).Seconds())
	})
}

// dbTimeout bounds each database call of a request.
const dbTimeout = 2 * time.Second

func (a *app) health(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, code := "ok", http.StatusOK
		body := map[string]any{"check": path}
		switch {
		case a.cfg.Now().Sub(a.start) < a.cfg.ReadyAfter:
			status, code = "starting", http.StatusServiceUnavailable
		case path == a.cfg.FailHealth:
			status, code = "failing", http.StatusServiceUnavailable
		case path == PathHealthDatabase && a.cfg.Store != nil:
			ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
			defer cancel()
			if err := a.cfg.Store.Ping(ctx); err != nil {
				status, code = "failing", http.StatusServiceUnavailable
				body["error"] = err.Error()
			}
		}
		body["status"] = status
		a.writeJSON(w, code, body)
	}
}

func (a *app) strategy(w http.ResponseWriter, r *http.Request) {
	s := Strategy{Name: "mean-reversion", Pair: "EURUSD", Signal: "hold"}
	if a.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
		defer cancel()
		var err error
		if s, err = a.cfg.Store.FirstStrategy(ctx); err != nil {
			a.writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "reading the strategy: " + err.Error()})
			return
		}
	}
	a.writeJSON(w, http.StatusOK, map[string]any{"strategy": s.Name, "pair": s.Pair, "signal": s.Signal})
}

func (a *app) writeJSON(w http.ResponseWriter, code int, body map[string]any) {
	body["version"] = a.cfg.Version
	body["colour"] = a.cfg.Colour
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
