// Package progress is the Pushgateway input group of promote and rollback:
// the input pushgateway-url, checked without a network call, and the
// monitoring.ProgressPusher of the rollout gauges the dashboard reads.
package progress

import (
	"context"
	"net/url"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
)

// Inputs are the group's inputs.
var Inputs = []action.Input{
	{Name: "pushgateway-url", Description: "Prometheus Pushgateway base URL: the rollout's phase, step weight, live colour, duration and result are pushed to it as it goes (" +
		monitoring.MetricRolloutWeight + ", " + monitoring.MetricRolloutLiveColor + ", " + monitoring.MetricRolloutPhase + ", " + monitoring.MetricRolloutDuration + ", " + monitoring.MetricRolloutResult +
		"; job " + monitoring.ProgressJob + ", grouped by namespace and service), for the dashboard's deployment-status panels. A Pushgateway that fails is one warning, never a failed run."},
}

// Group is the parsed group.
type Group struct{ URL string }

// Parse reads and checks pushgateway-url: an http(s) URL with a host.
func Parse(in *action.Inputs) Group {
	s := in.String("pushgateway-url")
	if s == "" {
		return Group{}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		in.Fail("pushgateway-url", "%q is not a Pushgateway base URL: want http(s)://host[:port][/path], e.g. http://pushgateway:9091", s)
		return Group{}
	}
	return Group{URL: s}
}

// Pusher starts the pusher (nil without pushgateway-url): its failures are
// warnings titled "pushgateway". A password in the URL is masked.
func (g Group) Pusher(a *action.Action) *monitoring.ProgressPusher {
	if u, err := url.Parse(g.URL); err == nil && u.User != nil {
		if password, ok := u.User.Password(); ok && password != "" {
			a.Mask(password)
		}
	}
	return monitoring.NewProgressPusher(g.URL, func(s string) { a.Warningf("pushgateway", "%s", s) })
}

// Close sends the last progress within 5 s, or a quarter of
// action.StopGrace after an interruption.
func Close(ctx context.Context, p *monitoring.ProgressPusher) {
	limit := 5 * time.Second
	if ctx.Err() != nil {
		limit = action.StopGrace / 4
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	p.Close(cctx)
}
