// Package verify checks a deployed service the way the strategy's
// post-deployment phase does, for real: every health path answers 2xx (and
// a JSON "status" says ok), a load probe meets the latency, error-rate and
// throughput SLOs, Prometheus checks pass (package analysis), and the
// Deployment is available with no restarts. It returns a Report with the
// strategy's KPI table; it prints nothing.
package verify

import "sync"

// Logger receives progress lines; *action.Action satisfies it.
type Logger interface {
	Infof(format string, args ...any)
}

type nopLogger struct{}

func (nopLogger) Infof(string, ...any) {}

// lockedLogger serialises a Logger that is not safe for concurrent use.
type lockedLogger struct {
	mu sync.Mutex
	l  Logger
}

func (l *lockedLogger) Infof(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l.Infof(format, args...)
}
