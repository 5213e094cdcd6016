// Package availability is the availability-probe input group of promote
// and rollback: the inputs availability-url, availability-rate and
// min-availability, the probe they start, and the outputs and step summary
// section it reports.
package availability

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// Inputs are the group's inputs, added to an action's spec.
var Inputs = []action.Input{
	{Name: "availability-url", Description: "URL probed continuously while the run lasts (default: environment-url, with the first health path when it has no path of its own; neither, or none: no probe). Only this URL is requested, a new connection each time."},
	{Name: "availability-rate", Default: "10", Description: "Requests per second of the availability probe (above 0, at most 1000)."},
	{Name: "min-availability", Default: "99.9%", Description: "Availability the probe must keep (the strategy's 99.9 %); during a canary step, falling below it aborts the rollout."},
}

// Outputs are the group's outputs.
var Outputs = []action.Output{
	{Name: "availability", Description: "Percentage of the availability probe's requests that succeeded (empty without a probe)."},
	{Name: "failed-requests", Description: "Requests of the availability probe that failed (empty without a probe)."},
	{Name: "longest-gap", Description: "Longest time the availability probe got no successful answer (empty without a probe)."},
}

// Probe is the parsed group: no probe when URL is empty.
type Probe struct {
	URL  string
	Rate float64
	// Min is a fraction: 0.999 for 99.9 %.
	Min float64
}

// Parse reads the group. When availability-url is not set, defaultURL
// (environment-url) is probed, at healthPath when it names no path: an
// environment's URL is often a base whose root answers 404, and a health
// path is defined to answer 2xx. A URL with credentials is refused: the
// probe's URL goes into logs, the summary and the abort reason recorded on
// the Service.
func Parse(in *action.Inputs, defaultURL, healthPath string) Probe {
	p := Probe{Rate: in.Float("availability-rate", 0, 1000, true), Min: in.Percent("min-availability")}
	if p.Min < 0.5 && in.String("min-availability") != "" {
		in.Fail("min-availability", "%q is %.4g %%, below 50 %%; write a percentage such as 99.9%%", in.String("min-availability"), 100*p.Min)
	}
	input := "availability-url"
	switch raw := in.String("availability-url"); raw {
	case "none":
		// An environment-url that is not the service (a login page, a
		// status page) is not probed.
		return p
	case "":
		input = "environment-url"
		p.URL = defaultURL
		if u, err := url.Parse(defaultURL); err == nil && defaultURL != "" && strings.Trim(u.Path, "/") == "" && u.RawQuery == "" {
			if j, err := verify.JoinURL(u, healthPath); err == nil {
				p.URL = j.String()
			}
		}
	default:
		p.URL = in.HTTPURL("availability-url")
	}
	if u, err := url.Parse(p.URL); err == nil && u.User != nil {
		in.Fail(input, "carries credentials; the availability probe's URL is logged and recorded, so it must not (set availability-url, or none)")
		p.URL = ""
	}
	return p
}

// Start starts the probe, bounded by maxRun (the run's own bounds) in time
// and in count; nil when there is no URL.
func (p Probe) Start(ctx context.Context, maxRun time.Duration) (*verify.Monitor, error) {
	if p.URL == "" {
		return nil, nil
	}
	return verify.StartAvailability(ctx, verify.AvailabilityOptions{
		URL: p.URL, Rate: p.Rate, MaxDuration: maxRun, MaxRequests: int(p.Rate*maxRun.Seconds()) + 1,
	})
}

// Settle is how long a probe goes on after the last traffic move, so that
// its answers show the version that ends up live: kube-proxy applies new
// endpoints about a second after they change, a Gateway within a few.
const Settle = 5 * time.Second

// Finish lets m run until until (if that is later than now and ctx lasts),
// then reports as Report does; nothing without a probe.
func (p Probe) Finish(ctx context.Context, a *action.Action, m *verify.Monitor, until time.Time) (*verify.AvailabilityReport, error) {
	if m == nil {
		return nil, nil
	}
	if d := time.Until(until); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return p.Report(a, m)
}

// Report stops m, writes the outputs and the step summary section, and
// returns the report; nothing without a probe.
func (p Probe) Report(a *action.Action, m *verify.Monitor) (*verify.AvailabilityReport, error) {
	if m == nil {
		return nil, nil
	}
	r := m.Stop()
	a.Infof("Availability of %s: %s", p.URL, r)
	err := errors.Join(
		a.SetOutputs(
			"availability", fmt.Sprintf("%.3f", 100*r.Availability),
			"failed-requests", fmt.Sprint(r.Failed),
			"longest-gap", r.LongestGap.Round(time.Millisecond).String(),
		),
		a.AddSummary(r.Markdown(p.URL, p.Rate, p.Min)),
	)
	if !r.Meets(p.Min) {
		a.Warningf("availability", "%.3f %% of %d requests to %s succeeded; the minimum is %.3f %%", 100*r.Availability, r.Requests, p.URL, 100*p.Min)
	}
	return &r, err
}
