package verify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// Config says what to verify. Parts left empty are not checked: no URL, no
// health or load; no Analysis, no metric checks; no Kube, no Deployment.
type Config struct {
	URL         *url.URL
	HealthPaths []string
	Health      Health
	// Load is the probe; nil turns it off. Its URL is set by the caller.
	Load   *Load
	SLO    SLO
	Levels Levels

	Analysis *analysis.Analysis
	Vars     analysis.Vars

	Kube              kubernetes.Interface
	Namespace         string
	Deployment        string
	DeploymentTimeout time.Duration

	Logger Logger
}

// Report is everything verify found, for the step summary and the JSON
// report file.
type Report struct {
	Passed     bool              `json:"passed"`
	URL        string            `json:"url,omitempty"`
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	Failures   []string          `json:"failures,omitempty"`
	Health     []HealthResult    `json:"health,omitempty"`
	Load       *LoadResult       `json:"load,omitempty"`
	KPIs       []KPI             `json:"kpis,omitempty"`
	Checks     []analysis.Result `json:"checks,omitempty"`
	Deployment *DeploymentStatus `json:"deployment,omitempty"`
}

// Run verifies in the order that makes each step meaningful: health first
// (a probe of a dead service measures nothing), then the Deployment, then
// the load probe, then the metric checks (which then see the probe's
// traffic). Findings go into the Report; Run returns an error only when
// ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	log := cfg.Logger
	if log == nil {
		log = nopLogger{}
	}
	cfg.Health.Logger = log
	rep := &Report{Started: time.Now()}
	healthy := true
	if cfg.URL != nil {
		rep.URL = cfg.URL.String()
		if len(cfg.HealthPaths) > 0 {
			log.Infof("checking %d health paths of %s (retrying for up to %s)", len(cfg.HealthPaths), rep.URL, cfg.Health.Timeout)
			results, err := cfg.Health.Wait(ctx, cfg.URL, cfg.HealthPaths)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Health = results
			if err != nil {
				healthy = false
				rep.fail(unjoin(err)...)
			}
		}
	}
	if cfg.Kube != nil && cfg.Deployment != "" {
		log.Infof("checking deployment %s/%s", cfg.Namespace, cfg.Deployment)
		s, err := WaitDeployment(ctx, cfg.Kube, cfg.Namespace, cfg.Deployment, cfg.DeploymentTimeout, time.Second)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rep.Deployment = &s
		if err != nil {
			rep.fail(err.Error())
		}
	}
	if cfg.Load != nil {
		if err := rep.probe(ctx, cfg, healthy, log); err != nil {
			return nil, err
		}
	}
	if cfg.Analysis != nil && (len(cfg.Analysis.Checks) > 0 || cfg.Analysis.Alerts != nil) {
		log.Infof("running %d metric checks (firing alerts: %v)", len(cfg.Analysis.Checks), cfg.Analysis.Alerts != nil)
		rep.Checks = cfg.Analysis.Run(ctx, cfg.Vars)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, r := range rep.Checks {
			if err := r.Error(); err != nil {
				rep.fail(err.Error())
			}
		}
	}
	rep.Finished = time.Now()
	rep.Passed = len(rep.Failures) == 0
	return rep, nil
}

func (rep *Report) probe(ctx context.Context, cfg Config, healthy bool, log Logger) error {
	if !healthy {
		rep.KPIs = cfg.SLO.Evaluate(nil, cfg.Levels)
		for i := range rep.KPIs {
			rep.KPIs[i].Current, rep.KPIs[i].Note = "not measured", "service unhealthy"
		}
		return nil
	}
	mode := fmt.Sprintf("closed loop, %d in flight", cfg.Load.Concurrency)
	if cfg.Load.Rate > 0 {
		mode = fmt.Sprintf("%d/s, at most %d in flight", cfg.Load.Rate, cfg.Load.Concurrency)
	}
	log.Infof("load probe: %d requests to %s (%s)", cfg.Load.Requests, cfg.Load.URL, mode)
	res, err := cfg.Load.Run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.fail("load probe: " + err.Error())
		return nil
	}
	rep.Load = res
	log.Infof("load probe: %d requests, %d errors, p50 %s, p95 %s, p99 %s, %s",
		res.Requests, res.Errors, fmtDur(res.P50), fmtDur(res.P95), fmtDur(res.P99), fmtRate(res.Throughput))
	if res.Truncated {
		rep.fail(fmt.Sprintf("load probe stopped at its %s deadline after %d of %d requests", cfg.Load.Deadline, res.Requests, res.Planned))
	}
	rep.KPIs = cfg.SLO.Evaluate(res, cfg.Levels)
	for _, k := range rep.KPIs {
		if !k.Passed {
			rep.fail(fmt.Sprintf("%s is %s, target %s", k.Metric, k.Current, k.Target))
		}
	}
	return nil
}

func (rep *Report) fail(msgs ...string) { rep.Failures = append(rep.Failures, msgs...) }

// Err summarises the failures as one error, or nil when verify passed.
func (rep *Report) Err() error {
	if rep.Passed {
		return nil
	}
	errs := make([]error, len(rep.Failures))
	for i, f := range rep.Failures {
		errs[i] = errors.New(f)
	}
	return fmt.Errorf("verify failed: %w", errors.Join(errs...))
}

// unjoin splits an errors.Join result into its messages.
func unjoin(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
