package rollout

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// measure runs the analysis on colour every interval for window, and
// judges the phase: more failed measurements than the failure limit, or
// more inconclusive ones than the inconclusive limit, abort. A phase needs
// at least one passing measurement (no data is not success), so it keeps
// measuring past its window until one passes or a limit is exceeded.
// Without analysis it just waits for window.
// The statuses of a pause with no analysis: the availability probe alone
// judged it, or nothing did.
const (
	StatusAvailabilityOnly = "availability only"
	StatusUnmonitored      = "unmonitored"
)

func (c *Config) measure(ctx context.Context, ph *Phase, colour string, window time.Duration) error {
	if c.Analysis == nil {
		return c.wait(ctx, ph, window)
	}
	vars := analysis.Vars{Namespace: c.Namespace, Deployment: c.DeploymentName(colour), Color: colour, Service: c.Service}
	vars.Pods = c.podPattern(ctx, vars.Deployment)
	if ph.Weight < 100 {
		// The stable colour still serves beside the candidate: a
		// comparison has its baseline. From 100 % on, the old colour is
		// on its way down (the replicas router has already emptied it).
		vars.Baseline = traffic.Other(colour)
		vars.BaselineDeployment = c.DeploymentName(vars.Baseline)
		vars.BaselinePods = c.podPattern(ctx, vars.BaselineDeployment)
	}
	end := time.Now().Add(window)
	var failed, inconclusive, passed int
	for {
		results := c.Analysis.Run(ctx, vars)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(results) == 0 && failed+inconclusive+passed == 0 {
			// Nothing to measure here (a comparison with no baseline
			// left): the phase is a wait, never a pass.
			return c.wait(ctx, ph, time.Until(end))
		}
		ph.Measurements = append(ph.Measurements, results)
		if c.measured != nil {
			c.measured(results)
		}
		switch status(results) {
		case analysis.Fail:
			failed++
		case analysis.Inconclusive:
			inconclusive++
		default:
			passed++
		}
		if failed > c.FailureLimit {
			ph.Status = "fail"
			return fmt.Errorf("%w: %s: %d failed measurement(s) (limit %d): %w", ErrAborted, ph.Name, failed, c.FailureLimit, analysis.Verdict(results))
		}
		if inconclusive > c.InconclusiveLimit {
			ph.Status = "inconclusive"
			return fmt.Errorf("%w: %s: %d inconclusive measurement(s) (limit %d): %w", ErrAborted, ph.Name, inconclusive, c.InconclusiveLimit, analysis.Verdict(results))
		}
		if passed > 0 && !time.Now().Add(c.AnalysisInterval).Before(end) {
			break
		}
		if err := c.watch(ctx, ph, c.AnalysisInterval); err != nil {
			return err
		}
	}
	if err := c.watch(ctx, ph, time.Until(end)); err != nil {
		return err
	}
	ph.Status = "pass"
	return nil
}

// podPattern is the regular expression of the names of the pods of the
// Deployment's current release (kube.PodNamePattern): a release of the
// same colour aborted moments ago may still be in the metrics' window.
func (c *Config) podPattern(ctx context.Context, deployment string) string {
	if d, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, deployment, metav1.GetOptions{}); err == nil {
		if p, _ := kube.PodNamePattern(ctx, c.Client, d); p != "" {
			return p
		}
	}
	return kube.AnyPodPattern(deployment)
}

// Analyzers run several analyzers as one, their results in order: the
// SLO checks and a comparison with the baseline, say.
type Analyzers []Analyzer

// Run runs each analyzer in turn.
func (as Analyzers) Run(ctx context.Context, v analysis.Vars) []analysis.Result {
	var out []analysis.Result
	for _, a := range as {
		out = append(out, a.Run(ctx, v)...)
	}
	return out
}

// wait is a phase with no analysis: the guard alone may judge it.
func (c *Config) wait(ctx context.Context, ph *Phase, window time.Duration) error {
	if err := c.watch(ctx, ph, window); err != nil {
		return err
	}
	// A pause in which nothing judged the candidate is only a wait: the
	// summary says so, never "pass".
	switch {
	case window <= 0:
		ph.Status = "done"
	case c.Guard != nil && !c.trafficSince.IsZero():
		ph.Status = StatusAvailabilityOnly
	default:
		ph.Status = StatusUnmonitored
	}
	return nil
}

// guardEvery is how often the guard is asked while a phase waits.
const guardEvery = time.Second

// watch waits for d, asking the guard (if any) at once and then every
// guardEvery; the guard's error aborts the phase. A command that ends the
// wait (promote-full in a step's pause, resume in a hold) ends it early
// with errFull or errHoldOver.
func (c *Config) watch(ctx context.Context, ph *Phase, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		woken := c.ctl.woken()
		if err := c.ctl.interruption(); err != nil {
			return err
		}
		if c.Guard != nil && !c.trafficSince.IsZero() {
			if err := c.Guard(c.trafficSince); err != nil {
				ph.Status = "fail"
				return fmt.Errorf("%w: %s: %w", ErrAborted, ph.Name, err)
			}
		}
		left := time.Until(end)
		if left <= 0 {
			return ctx.Err()
		}
		if c.Guard != nil {
			left = min(left, guardEvery)
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-woken:
		case <-t.C:
		}
		t.Stop()
	}
}

// status is the worst status of a measurement: fail, then inconclusive.
func status(results []analysis.Result) analysis.Status {
	s := analysis.Pass
	for _, r := range results {
		switch {
		case r.Status == analysis.Fail:
			return analysis.Fail
		case r.Status != analysis.Pass:
			s = analysis.Inconclusive
		}
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
