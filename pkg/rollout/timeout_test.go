package rollout

import (
	"strings"
	"testing"
	"time"
)

func TestTimeouts(t *testing.T) {
	const m = time.Minute
	for _, tc := range []struct {
		name              string
		strategy          string
		steps             []int
		pauses            []time.Duration
		window            time.Duration
		committed, derive time.Duration
	}{
		{"the strategy's canary", Canary, []int{10, 25, 50, 100}, []time.Duration{5 * m, 10 * m, 15 * m}, 0, 30 * m, 55 * m},
		{"one pause for every step", Canary, []int{34, 67, 100}, []time.Duration{m}, 0, 2 * m, 22 * m},
		{"more pauses than steps: the last step has none", Canary, []int{50, 100}, []time.Duration{m, 7 * m, 9 * m}, 0, m, 16 * m},
		{"a post-promotion window", Canary, []int{100}, nil, 10 * m, 10 * m, 20 * m},
		{"blue-green ignores the canary's pauses", BlueGreen, []int{10, 100}, []time.Duration{5 * m}, 2 * m, 2 * m, 12 * m},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, d := Timeouts(tc.strategy, tc.steps, tc.pauses, tc.window)
			if c != tc.committed || d != tc.derive {
				t.Errorf("Timeouts = %s, %s; want %s, %s", c, d, tc.committed, tc.derive)
			}
			if err := CheckTimeout(tc.committed, tc.strategy, tc.steps, tc.pauses, tc.window); err == nil || !strings.Contains(err.Error(), "leaves no time") {
				t.Errorf("a timeout of exactly the committed %s: %v, want refused", tc.committed, err)
			}
			if err := CheckTimeout(tc.committed+time.Second, tc.strategy, tc.steps, tc.pauses, tc.window); err != nil {
				t.Errorf("a timeout past the committed time: %v", err)
			}
		})
	}
}
