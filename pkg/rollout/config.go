// Package rollout runs the blue-green and gradual (canary) promotions of
// the deployment strategy without a controller in the cluster: it makes the
// idle colour from the live one, waits for it, runs analysis, moves traffic
// through a traffic.Router, and records its state on the live Service so a
// later run (or rollback) knows what happened. A coordination.k8s.io Lease
// per Service stops two runs from moving the same traffic.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Outcomes callers branch on.
var (
	// ErrAborted: analysis failed, was inconclusive too often, or the run
	// was cancelled or timed out; traffic is back on the stable colour.
	ErrAborted = errors.New("rollout aborted")
	// ErrLeaseLost: another run took the Lease; this one stopped moving
	// traffic and left it to the new holder.
	ErrLeaseLost = errors.New("rollout lease lost to another run")
	// ErrUnreachableWeights: the router cannot give the steps' weights
	// with the replicas there are; nothing was changed.
	ErrUnreachableWeights = errors.New("the steps' weights cannot be reached")
	// ErrPreempted: a rollback asked the running promotion to stop; it
	// returned all traffic to the stable colour and released the Lease.
	ErrPreempted = errors.New("preempted")
)

// Strategies.
const (
	BlueGreen = "blue-green"
	Canary    = "canary"
)

// Target is the app a run acts on, and how: its objects, the clients, the
// traffic router (by name, from traffic.NewRouter) and the run's bounds.
type Target struct {
	traffic.App
	Client  kubernetes.Interface
	Dynamic dynamic.Interface // for the gateway-api router
	// Router names the traffic router promote moves traffic with (see
	// traffic.Names); "" is service for blue-green and replicas for
	// canary. It is recorded, so rollback moves traffic the same way;
	// rollback itself takes the recorded one. HTTPRoute and Ingress are
	// the gateway-api and nginx routers' objects.
	Router    string
	HTTPRoute string
	Ingress   string
	// Owner names this run (recorded, and the Lease holder).
	Owner string
	// LockTimeout is how long to wait for another run's Lease;
	// LeaseDuration how long a Lease lives without renewal (default 15s).
	LockTimeout   time.Duration
	LeaseDuration time.Duration
	// Timeout bounds the whole run. For a promotion, 0 derives it from the
	// pauses and windows (Timeouts), and one no longer than they are is
	// refused; a rollback's default is 30 minutes.
	Timeout time.Duration
	// InterruptGrace bounds the clean-up of a run its caller cancelled (a
	// SIGTERM): traffic back on the stable colour, the state recorded, the
	// Lease released. The caller is about to be killed, so this must fit
	// in the time it has left (default 4s). A run that ends on its own
	// timeout gets 5 minutes for the same clean-up.
	InterruptGrace time.Duration
	// OnEvent, when set, hears progress ("25 % traffic"). A promotion
	// calls it from two goroutines (its own, and the one that hears the
	// control verbs): it must be safe for concurrent use.
	OnEvent func(Event)

	// live is the colour live now, for the events.
	live string
}

// Analyzer measures one colour and judges each measurement: Prometheus
// checks (*analysis.Analysis), or a probe of the colour's own URL
// (*verify.ProbeAnalysis) where there is no Prometheus.
type Analyzer interface {
	Run(ctx context.Context, v analysis.Vars) []analysis.Result
}

// Event is one piece of progress.
type Event struct {
	Phase   string
	Weight  int
	Message string
	// Results are the phase's last measurement, on "measured" (a step
	// whose pause passed its analysis).
	Results []analysis.Result
	// Live is the colour the live Service selects, once known.
	Live string
}

// Config is a promotion.
type Config struct {
	Target
	Container string // default: the only container
	Image     string
	Strategy  string
	Steps     []int
	// Pauses are the waits after each step but the last: one for all, or
	// one per step.
	Pauses []time.Duration
	// Analysis, when set, runs during every pause and over the
	// post-promotion window, every AnalysisInterval, and before traffic
	// moves when a Preview exercised the idle colour.
	Analysis          Analyzer
	AnalysisInterval  time.Duration
	FailureLimit      int
	InconclusiveLimit int
	// Preview, when set, checks the idle colour before any traffic moves
	// (health paths through the preview URL).
	Preview             func(ctx context.Context, colour string) error
	PostPromotionWindow time.Duration
	ScaleDownDelay      time.Duration
	// Chart, when set, renders the candidate colour from a Helm chart, as
	// its own release; without it the candidate is a copy of the live
	// colour's Deployment with the image set.
	Chart *Chart
	// Alerts, when set, are the firing alerts that gate the rollout: a
	// critical one refuses to start it, and aborts it before a step (its
	// measurements judge it too, through the analysis). Other severities
	// are reported as "alerts" events. When Prometheus cannot be asked the
	// gate is inconclusive: it stops the rollout unless InconclusiveLimit
	// allows some.
	Alerts *analysis.AlertCheck
	// PauseAt are the weights at which the rollout holds for a person,
	// after that step's pause, until resume or promote-full: 0 holds before
	// any traffic moves (blue-green's approval before the switch).
	// PauseTimeout bounds each hold; it then aborts (default 1h). The time
	// held does not count against Timeout.
	PauseAt      []int
	PauseTimeout time.Duration
	// Guard, when set, is asked while traffic is on the candidate: as each
	// step's pause and the post-promotion window begin and every second of
	// them, with the time traffic first moved in this run. An error aborts
	// the rollout as a failed analysis does (promote's availability probe
	// below min-availability).
	Guard func(since time.Time) error

	// trafficSince is when this run first moved traffic (set by the steps).
	trafficSince time.Time
	// router is Router, made by validate.
	router traffic.Router
	// ctl is the running promotion's command channel; measured hears
	// each measurement.
	ctl      *controller
	measured func([]analysis.Result)
}

func (c *Target) setDefaults() error {
	if c.Client == nil {
		return errors.New("rollout: a client is required")
	}
	if err := c.App.Check(); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	c.App = c.App.WithDefaults()
	if c.Owner == "" {
		return errors.New("rollout: owner is required")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Minute
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.InterruptGrace <= 0 {
		c.InterruptGrace = 4 * time.Second
	}
	return nil
}

// DefaultRouter is the traffic router of a strategy when none is named:
// the Service's selector for blue-green, the replica ratio (no mesh or
// gateway needed) for canary.
func DefaultRouter(strategy string) string {
	if strategy == Canary {
		return "replicas"
	}
	return "service"
}

func (c *Config) validate() error {
	if c.Timeout <= 0 {
		_, c.Timeout = Timeouts(c.Strategy, c.Steps, c.Pauses, c.PostPromotionWindow)
	} else if err := CheckTimeout(c.Timeout, c.Strategy, c.Steps, c.Pauses, c.PostPromotionWindow); err != nil {
		return fmt.Errorf("rollout: timeout %w", err)
	}
	if err := c.Target.setDefaults(); err != nil {
		return err
	}
	if c.Image == "" {
		return errors.New("rollout: image is required")
	}
	if c.Chart != nil {
		if c.Chart.Helm == nil {
			return errors.New("rollout: chart: a Helm client is required")
		}
		if err := c.Chart.check(c.App, c.Container, c.Image); err != nil {
			return fmt.Errorf("rollout: chart: %w", err)
		}
	}
	switch c.Strategy {
	case "", BlueGreen:
		c.Strategy = BlueGreen
		c.Steps = []int{100}
	case Canary:
		if len(c.Steps) == 0 || c.Steps[len(c.Steps)-1] != 100 {
			return fmt.Errorf("rollout: canary steps %v must end at 100", c.Steps)
		}
	default:
		return fmt.Errorf("rollout: unknown strategy %q", c.Strategy)
	}
	if c.Router == "" {
		c.Router = DefaultRouter(c.Strategy)
	}
	r, err := traffic.NewRouter(c.Router, c.routerConfig())
	if err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	if _, ok := r.(traffic.Splitter); !ok && c.Strategy == Canary {
		return fmt.Errorf("rollout: strategy canary needs a router that splits traffic; %q switches all at once", c.Router)
	}
	c.router = r
	if c.AnalysisInterval <= 0 {
		c.AnalysisInterval = 30 * time.Second
	}
	if c.PauseTimeout <= 0 {
		c.PauseTimeout = time.Hour
	}
	if err := CheckPauseAt(c.PauseAt, c.Strategy, c.Steps); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	return nil
}

// CheckPauseAt refuses a hold the rollout never reaches: each weight must
// be 0 (before any traffic) or a step's weight other than the last, whose
// move is the promotion itself.
func CheckPauseAt(pauseAt []int, strategy string, steps []int) error {
	if strategy != Canary {
		steps = []int{100}
	}
	for _, w := range pauseAt {
		if w != 0 && (!slices.Contains(steps, w) || w == steps[len(steps)-1]) {
			if strategy != Canary {
				return fmt.Errorf("pause-at %d: a %s promotion holds only at 0, before the switch", w, BlueGreen)
			}
			return fmt.Errorf("pause-at %d: not a step before the last of %v (0 holds before the first)", w, steps)
		}
	}
	return nil
}

// pause returns the wait after step i.
func (c *Config) pause(i int) time.Duration {
	switch {
	case i >= len(c.Steps)-1 || len(c.Pauses) == 0:
		return 0
	case len(c.Pauses) == 1:
		return c.Pauses[0]
	case i < len(c.Pauses):
		return c.Pauses[i]
	}
	return c.Pauses[len(c.Pauses)-1]
}

func (c *Target) emit(phase string, weight int, format string, args ...any) {
	if c.OnEvent != nil {
		c.OnEvent(Event{Phase: phase, Weight: weight, Message: fmt.Sprintf(format, args...), Live: c.live})
	}
}

func (c *Target) leaseName() string { return c.Service + "-rollout" }

func (c *Target) routerConfig() traffic.Config {
	return traffic.Config{App: c.App, Client: c.Client, Dynamic: c.Dynamic, HTTPRoute: c.HTTPRoute, Ingress: c.Ingress, Timeout: c.Timeout}
}
