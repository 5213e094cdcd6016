//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// The rollback button preempts a running promotion, on the real node:
// rollback asks the promote holding the Lease to stop; the promote puts all
// traffic back on its stable colour and releases the Lease; the rollback
// keeps that colour. Each test keeps the probe going through the live
// Service, asserts 0 failed requests, and reports the time from the
// rollback's start to the last answer from the candidate.

// preempt starts the rollback button against the running promotion and
// returns its result and when it started.
func preempt(t *testing.T, target rollout.Target) (*rollout.RollbackResult, time.Time) {
	t.Helper()
	rb := target
	rb.Owner, rb.LockTimeout = "test/rollback-button", time.Minute
	start := time.Now()
	res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "production is down", Preempt: true})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	return res, start
}

// lastAnswerFrom is when the last request answered by version was sent,
// or the zero time.
func lastAnswerFrom(m *verify.Monitor, version string) time.Time {
	var last time.Time
	for _, s := range m.Samples() {
		if s.Version == version && s.At.After(last) {
			last = s.At
		}
	}
	return last
}

// A canary paused at its first step (34 % on the replicas router, a pause
// of an hour) is stopped by the rollback button.
func TestRealNodeRollbackPreemptsACanary(t *testing.T) {
	a := newRealApp(t, 3, "v1", "v2") // 34 % is one pod of three
	target := a.target(t, "replicas")
	target.LeaseDuration = 15 * time.Second // preempted, not expired
	target.Timeout = 0                      // derived from the hour-long pauses
	m := a.Probe(t)
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], Strategy: rollout.Canary,
			Steps: []int{34, 67, 100}, Pauses: []time.Duration{time.Hour}, ScaleDownDelay: time.Hour})
		promoted <- err
	}()
	// At 34 %: the state says so, and the probe has seen v2 answer.
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		st := rollout.ReadState(a.service(t))
		return st.Phase == rollout.PhaseProgressing && st.Weight == 34 && m.Since(time.Now().Add(-time.Second)).Versions["v2"] > 0, nil
	})
	if err != nil {
		select {
		case perr := <-promoted:
			t.Fatalf("the canary never served at 34 %%: %v; the promote returned %v", err, perr)
		default:
		}
		t.Fatalf("the canary never served at 34 %%: %v; state %+v", err, rollout.ReadState(a.service(t)))
	}

	res, start := preempt(t, target)
	if res.Preempted != target.Owner || res.Stopped == "" || res.ActiveColor != "blue" {
		t.Errorf("rollback: %+v; want it to have stopped %q, with blue live", res, target.Owner)
	}
	select {
	case err := <-promoted:
		if !errors.Is(err, rollout.ErrAborted) || !errors.Is(err, rollout.ErrPreempted) {
			t.Errorf("the promote returned %v, want it aborted as preempted", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the promote did not return")
	}
	rollouttest.Settle(t, m, "v1")
	t.Logf("from the rollback's start to the last answer from v2: %s (the rollback took %s)", lastAnswerFrom(m, "v2").Sub(start).Round(time.Millisecond), res.Duration.Round(time.Millisecond))
	rollouttest.CheckProbe(t, "a canary at 34 % stopped by the rollback button", m, "v1", "v2")
	if st := rollout.ReadState(a.service(t)); st.Phase != rollout.PhaseRolledBack || st.ActiveColor != "blue" {
		t.Errorf("state %+v, want rolled back with blue live", st)
	}
}

// A blue-green promote waiting for its candidate (ready only after a
// minute) is stopped before any traffic moves.
func TestRealNodeRollbackPreemptsAWait(t *testing.T) {
	a := newRealApp(t, replicas, "v1")
	a.images["v2-slow"] = rollouttest.Image(t, "v2-slow", "READY_AFTER=60s")
	target := a.target(t, "service")
	m := a.Probe(t)
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2-slow"], ScaleDownDelay: time.Hour})
		promoted <- err
	}()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := a.client.AppsV1().Deployments(a.ns).Get(ctx, "fx-platform-green", metav1.GetOptions{})
		return err == nil && d.Status.Replicas > 0, nil
	})
	if err != nil {
		t.Fatalf("the candidate never started: %v", err)
	}

	res, start := preempt(t, target)
	if res.Preempted != target.Owner || res.ActiveColor != "blue" {
		t.Errorf("rollback: %+v; want it to have stopped %q, with blue live", res, target.Owner)
	}
	if err := <-promoted; !errors.Is(err, rollout.ErrPreempted) {
		t.Errorf("the promote returned %v, want it preempted", err)
	}
	if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
		t.Errorf("green has %d replicas after the preempted promote, want 0", got)
	}
	t.Logf("the rollback took %s from its start at %s", res.Duration.Round(time.Millisecond), start.Format("15:04:05.000"))
	rollouttest.CheckProbe(t, "a blue-green promote stopped while it waited", m, "v1")
}

// The strategy's emergency scale: the rollback brings the previous colour
// up to at least the replicas asked, all of them ready, before the switch.
func TestRealNodeRollbackEmergencyScale(t *testing.T) {
	a := newRealApp(t, 2, "v1", "v2")
	target := a.target(t, "service")
	if res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"]}); err != nil || res.Outcome != rollout.Promoted {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	rb := target
	rb.Owner = "test/rollback-button"
	var readyAtSwitch int32 = -1
	rb.OnEvent = func(e rollout.Event) {
		if e.Phase == "rolled-back" {
			if d, err := a.client.AppsV1().Deployments(a.ns).Get(context.Background(), "fx-platform-blue", metav1.GetOptions{}); err == nil {
				readyAtSwitch = d.Status.ReadyReplicas
			}
		}
	}
	m := a.Probe(t)
	res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "scale the previous version to 4", Replicas: 4})
	if err != nil || res.ActiveColor != "blue" || res.Warm {
		t.Fatalf("rollback: %+v, %v; want a cold rollback to blue", res, err)
	}
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "an emergency rollback to 4 replicas", m, "v1", "v2")
	if got := *a.deployment(t, "blue").Spec.Replicas; got != 4 || readyAtSwitch != 4 {
		t.Errorf("blue has %d replicas, %d of them ready at the switch; want 4 and 4", got, readyAtSwitch)
	}
}
