package rollout

import (
	"time"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// Outcomes of a promotion.
const (
	Promoted  = "promoted"
	Aborted   = "aborted"
	Unchanged = "unchanged"
	// Installed: the first release of an app from its chart; there was
	// no live colour, so no traffic moved.
	Installed = "installed"
)

// Result is what a promotion did, for outputs and the step summary.
type Result struct {
	Outcome        string
	ActiveColor    string
	PreviousColor  string
	Image          string
	PreviousImage  string
	StepsCompleted int
	Resumed        bool
	Started        time.Time
	Duration       time.Duration
	Phases         []*Phase
	// Reason says why the promotion was aborted or unchanged.
	Reason string
}

// Phase is one timed part of a promotion: creating the idle colour,
// pre-promotion analysis, a traffic step, the post-promotion window.
type Phase struct {
	Name     string
	Weight   int // traffic on the new colour during the phase; -1 if none
	Observed int // the weight read back from the cluster objects; -1 if not read
	Start    time.Time
	End      time.Time
	// Measurements are the analysis runs, in order.
	Measurements [][]analysis.Result
	Status       string // pass, fail, inconclusive, done
}
