package rollout

import (
	"fmt"
	"time"
)

// WaitAllowance is what a derived timeout gives each change of traffic (a
// canary step, and the switch that ends every promotion) for the colours'
// replicas to become available: half of Kubernetes' default progress
// deadline for a Deployment.
const WaitAllowance = 5 * time.Minute

// Timeouts returns what a promotion spends waiting by design, the pauses
// after each canary step but the last and the post-promotion window, and
// the timeout derived from it: that plus WaitAllowance for each change of
// traffic. The strategy's 10,25,50,100 with pauses of 5m, 10m and 15m
// commits 30m, and derives 55m.
func Timeouts(strategy string, steps []int, pauses []time.Duration, window time.Duration) (committed, derived time.Duration) {
	c := Config{Strategy: strategy, Steps: steps, Pauses: pauses}
	if strategy != Canary {
		c.Steps = []int{100}
	}
	for i := range c.Steps {
		committed += c.pause(i)
	}
	committed += window
	changes := len(c.Steps) + 1 // each step, and the switch
	if strategy != Canary {
		changes = 2 // the candidate made available, and the switch
	}
	return committed, committed + time.Duration(changes)*WaitAllowance
}

// CheckTimeout refuses a timeout that leaves no time beyond what the
// promotion waits by design: such a run could only time out and abort.
func CheckTimeout(timeout time.Duration, strategy string, steps []int, pauses []time.Duration, window time.Duration) error {
	committed, derived := Timeouts(strategy, steps, pauses, window)
	if timeout > committed {
		return nil
	}
	return fmt.Errorf("%s leaves no time for the rollout: its pauses and post-promotion window alone take %s; "+
		"give more, or leave timeout empty for the derived %s (%s for each change of traffic on top)", timeout, committed, derived, WaitAllowance)
}
