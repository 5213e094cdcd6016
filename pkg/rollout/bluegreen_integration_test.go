//go:build integration

package rollout_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

const replicas = 3

func TestBlueGreenServiceRouter(t *testing.T) {
	a := newApp(t, replicas)
	w := watchEndpoints(t, a, replicas)
	cfg := rollout.Config{Target: a.target(t, "service"), Image: imageV2, Strategy: rollout.BlueGreen}
	res, err := rollout.Promote(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	a.waitEndpoints(t, "green", replicas)
	w.check(t)

	svc := a.service(t)
	st := rollout.ReadState(svc)
	blue := a.deployment(t, "blue")
	green := a.deployment(t, "green")
	checks := []struct {
		name      string
		got, want any
	}{
		{"outcome", res.Outcome, rollout.Promoted},
		{"result active colour", res.ActiveColor, "green"},
		{"result previous colour", res.PreviousColor, "blue"},
		{"steps completed", res.StepsCompleted, 1},
		{"service selector", svc.Spec.Selector["version"], "green"},
		{"recorded phase", st.Phase, rollout.PhasePromoted},
		{"recorded active colour", st.ActiveColor, "green"},
		{"recorded active image", st.ActiveImage, imageV2},
		{"recorded previous colour", st.PreviousColor, "blue"},
		{"recorded previous image", st.PreviousImage, imageV1},
		{"recorded owner", st.Owner, cfg.Owner},
		{"green image", green.Spec.Template.Spec.Containers[0].Image, imageV2},
		{"green colour label", green.Spec.Template.Labels["version"], "green"},
		{"green replicas", *green.Spec.Replicas, int32(replicas)},
		{"blue scaled down", *blue.Spec.Replicas, int32(0)},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}

	t.Run("rerun with the same image is unchanged", func(t *testing.T) {
		res, err := rollout.Promote(context.Background(), cfg)
		if err != nil || res.Outcome != rollout.Unchanged {
			t.Fatalf("got %+v, %v; want unchanged", res, err)
		}
	})
}

// TestRollback rolls back after a completed promotion, with the previous
// colour still scaled (warm: the promote is still in its scale-down delay)
// and scaled down (cold).
func TestRollback(t *testing.T) {
	tests := []struct {
		name string
		warm bool
	}{
		{name: "warm before scale-down", warm: true},
		{name: "cold after scale-down", warm: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, replicas)
			target := a.target(t, "service")
			cfg := rollout.Config{Target: target, Image: imageV2}
			promoted := make(chan error, 1)
			pctx, cancelPromote := context.WithCancel(context.Background())
			defer cancelPromote()
			if tc.warm {
				cfg.ScaleDownDelay = time.Hour // cancelled below
				go func() { _, err := rollout.Promote(pctx, cfg); promoted <- err }()
				waitPhase(t, a, rollout.PhasePromoted)
			} else {
				if _, err := rollout.Promote(pctx, cfg); err != nil {
					t.Fatal(err)
				}
				if got := *a.deployment(t, "blue").Spec.Replicas; got != 0 {
					t.Fatalf("blue has %d replicas after the promotion, want 0", got)
				}
			}
			a.waitEndpoints(t, "green", replicas)
			w := watchEndpoints(t, a, replicas)
			rb := target
			rb.Owner = "test/rollback"
			rb.LockTimeout = time.Minute
			res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
			if err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			a.waitEndpoints(t, "blue", replicas)
			w.check(t)
			t.Logf("rollback took %s (warm=%v)", res.Duration, res.Warm)
			if res.Warm != tc.warm || res.ActiveColor != "blue" || res.Image != imageV1 {
				t.Errorf("got warm=%v active=%s image=%s; want warm=%v active=blue image=%s", res.Warm, res.ActiveColor, res.Image, tc.warm, imageV1)
			}
			st := rollout.ReadState(a.service(t))
			if st.Phase != rollout.PhaseRolledBack || st.ActiveColor != "blue" || st.PreviousColor != "green" || st.PreviousImage != imageV2 {
				t.Errorf("recorded %+v; want rolled-back to blue from green/%s", st, imageV2)
			}
			if tc.warm {
				cancelPromote()
				if err := <-promoted; err != nil {
					t.Errorf("promote: %v", err)
				}
				if got := *a.deployment(t, "blue").Spec.Replicas; got != replicas {
					t.Errorf("the promote's scale-down touched blue after the rollback: %d replicas", got)
				}
			}
			t.Run("rolling back again returns to green", func(t *testing.T) {
				res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous"})
				if err != nil || res.ActiveColor != "green" {
					t.Fatalf("got %+v, %v", res, err)
				}
				a.waitEndpoints(t, "green", replicas)
			})
		})
	}
}

func waitPhase(t *testing.T, a *app, phase string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return rollout.ReadState(a.service(t)).Phase == phase, nil
	})
	if err != nil {
		t.Fatalf("the service never recorded phase %q: %v", phase, err)
	}
}
