package rollout

import (
	"context"
	"testing"
	"time"
)

// TestPauseWithoutAnalysis: a pause with no analysis is "unmonitored" when
// nothing judged the candidate, "availability only" when promote's probe
// did, and a step with no pause is simply done; never "pass".
func TestPauseWithoutAnalysis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		guard  func(time.Time) error
		window time.Duration
		want   string
	}{
		{"a pause, nothing watching", nil, time.Millisecond, StatusUnmonitored},
		{"a pause the availability probe watched", func(time.Time) error { return nil }, time.Millisecond, StatusAvailabilityOnly},
		{"no pause", nil, 0, "done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Guard: tc.guard, trafficSince: time.Now()}
			ph := &Phase{Name: "34 %"}
			if err := c.measure(context.Background(), ph, "green", tc.window); err != nil {
				t.Fatal(err)
			}
			if ph.Status != tc.want {
				t.Errorf("status %q, want %q", ph.Status, tc.want)
			}
		})
	}
}
