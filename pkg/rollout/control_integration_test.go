//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

// The control verbs against a live rollout on the real node, sent as the
// control action sends them (a command on the Service, another owner),
// with the probe going through the live Service all along.

// control sends verb as a person's run would, and fails the test on error.
func control(t *testing.T, target rollout.Target, verb string) *rollout.ControlResult {
	t.Helper()
	c := target
	c.Owner = "test/control-" + verb
	res, err := rollout.Control(context.Background(), rollout.ControlConfig{Target: c, Verb: verb, Reason: "test"})
	if err != nil {
		t.Fatalf("%s: %v", verb, err)
	}
	return res
}

// waitFor polls the state on the Service until ok, failing the test
// (with the promote's error, if it returned) after limit.
func waitFor(t *testing.T, a *realApp, promoted <-chan error, what string, limit time.Duration, ok func(rollout.State) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, limit, true, func(context.Context) (bool, error) {
		return ok(rollout.ReadState(a.service(t))), nil
	})
	if err == nil {
		return
	}
	select {
	case perr := <-promoted:
		t.Fatalf("%s: %v; the promote returned %v", what, err, perr)
	default:
	}
	t.Fatalf("%s: %v; state %+v", what, err, rollout.ReadState(a.service(t)))
}

// pause, resume and promote-full, and status along the way: a canary of
// four steps with short pauses is paused at 25 %, holds there past its
// pause, resumes to 50 %, and promote-full takes it from 50 % to 100 %
// without the 75 % step.
func TestRealNodeControlPauseResumePromoteFull(t *testing.T) {
	a := newRealApp(t, 4, "v1", "v2")
	target := a.target(t, "replicas")
	target.Timeout = 0                      // derived from the hour-long pause
	target.LeaseDuration = 15 * time.Second // a minute long: no renewal may miss
	m := a.Probe(t)
	var result *rollout.Result
	promoted := make(chan error, 1)
	go func() {
		var err error
		result, err = rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], Strategy: rollout.Canary,
			Steps: []int{25, 50, 75, 100}, Pauses: []time.Duration{4 * time.Second, time.Hour},
			Analysis: &analysis.Analysis{Provider: &scripted{values: []float64{0}}, Checks: errorRateCheck(t)}, AnalysisInterval: time.Second,
			ScaleDownDelay: time.Second})
		promoted <- err
	}()
	waitFor(t, a, promoted, "at 25 %", 2*time.Minute, func(st rollout.State) bool {
		return st.Phase == rollout.PhaseProgressing && st.Weight == 25
	})

	st := control(t, target, rollout.VerbStatus).Status
	if st.Holder != target.Owner || st.State.Weight != 25 || st.Weight != 25 || st.State.CandidateImage != a.images["v2"] {
		t.Errorf("status at 25 %%: %+v; want %q holding, 25 %% recorded and read back", st, target.Owner)
	}
	res := control(t, target, rollout.VerbPause)
	if res.Ack == nil || res.Ack.Holder != target.Owner || !strings.Contains(res.Ack.Result, "holds") {
		t.Errorf("pause: ack %+v", res.Ack)
	}
	// The step's 4 s pause ends; the hold begins and keeps 25 %.
	waitFor(t, a, promoted, "held at 25 %", time.Minute, func(st rollout.State) bool { return st.Paused != "" })
	time.Sleep(6 * time.Second)
	st = control(t, target, rollout.VerbStatus).Status
	if st.State.Weight != 25 || st.Weight != 25 || st.State.Step != 1 || !strings.Contains(st.State.Paused, "held at 25 %") {
		t.Errorf("paused past the step's pause: %+v; want held at 25 %% after step 1", st.State)
	}
	if !strings.Contains(st.State.Analysis, "error-rate") {
		t.Errorf("status: the last analysis is %q, want the error-rate check's value (analysis goes on while held)", st.State.Analysis)
	}

	control(t, target, rollout.VerbResume)
	waitFor(t, a, promoted, "resumed to 50 %", time.Minute, func(st rollout.State) bool { return st.Weight == 50 && st.Paused == "" })
	// 50 % pauses for an hour: promote-full cuts it short, and 75 % never comes.
	control(t, target, rollout.VerbPromoteFull)
	select {
	case err := <-promoted:
		if err != nil || result.Outcome != rollout.Promoted {
			t.Fatalf("promote after promote-full: %+v, %v", result, err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("promote-full did not finish the rollout")
	}
	var names []string
	for _, ph := range result.Phases {
		names = append(names, ph.Name+": "+ph.Status)
	}
	got := strings.Join(names, "; ")
	for _, want := range []string{"hold at 25 %: resume by test/control-resume", "50 %: cut short: promote-full by test/control-promote-full", "100 %"} {
		if !strings.Contains(got, want) {
			t.Errorf("phases %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "75 %") {
		t.Errorf("phases %q: promote-full should have skipped 75 %%", got)
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "a canary paused, resumed and promoted fully", m, "v1", "v2")
}

// A manual judgement (pause-at 34) holds the canary until a person acts;
// abort puts all traffic back on the stable version.
func TestRealNodeControlAbortAHold(t *testing.T) {
	a := newRealApp(t, 3, "v1", "v2")
	target := a.target(t, "replicas")
	m := a.Probe(t)
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], Strategy: rollout.Canary,
			Steps: []int{34, 67, 100}, Pauses: []time.Duration{time.Second}, PauseAt: []int{34}, ScaleDownDelay: time.Second})
		promoted <- err
	}()
	waitFor(t, a, promoted, "held at 34 %", 2*time.Minute, func(st rollout.State) bool {
		return st.Weight == 34 && strings.Contains(st.Paused, "pause-at 34")
	})
	if m.Since(time.Now().Add(-2 * time.Second)).Versions["v2"] == 0 {
		t.Error("held at 34 %, but the canary answered nothing")
	}
	start := time.Now()
	res := control(t, target, rollout.VerbAbort)
	if err := <-promoted; !errors.Is(err, rollout.ErrAborted) || !errors.Is(err, rollout.ErrAbortRequested) {
		t.Errorf("the promote returned %v, want it aborted on request", err)
	}
	if res.Status.State.Phase != rollout.PhaseAborted || res.Status.State.ActiveColor != "blue" {
		t.Errorf("after abort: %+v, want aborted with blue live", res.Status.State)
	}
	rollouttest.Settle(t, m, "v1")
	t.Logf("from abort to the last answer from v2: %s", lastAnswerFrom(m, "v2").Sub(start).Round(time.Millisecond))
	rollouttest.CheckProbe(t, "a held canary aborted", m, "v1", "v2")
}

// A hold nobody acts on aborts after pause-timeout; a blue-green hold
// (pause-at 0) moves no traffic meanwhile.
func TestRealNodeControlHoldTimesOut(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2")
	target := a.target(t, "service")
	m := a.Probe(t)
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"],
		PauseAt: []int{0}, PauseTimeout: 3 * time.Second, ScaleDownDelay: time.Second})
	if !errors.Is(err, rollout.ErrAborted) || !strings.Contains(err.Error(), "pause-timeout") {
		t.Fatalf("promote: %+v, %v; want aborted after pause-timeout", res, err)
	}
	if _, err := rollout.Control(context.Background(), rollout.ControlConfig{Target: target, Verb: rollout.VerbResume}); !errors.Is(err, rollout.ErrNotRunning) {
		t.Errorf("resume with no promote running: %v, want ErrNotRunning", err)
	}
	rollouttest.CheckProbe(t, "a blue-green hold that timed out", m, "v1")
}

// A promote SIGKILLed while held for a person: nobody answers a verb
// meanwhile; a rerun of the same image resumes and holds again where the
// person had not yet judged, and a resume then promotes it.
func TestRealNodeKilledWhileHeld(t *testing.T) {
	a := newRealApp(t, 3, "v1", "v2")
	m := a.Probe(t)
	kill := startHelper(t, a.app, "held-at-34", "ROLLOUT_HELPER_IMAGE="+a.images["v2"])
	waitFor(t, a, nil, "held at 34 %", 2*time.Minute, func(st rollout.State) bool { return st.Weight == 34 && st.Paused != "" })
	kill()
	target := a.target(t, "replicas")
	c := target
	c.Owner = "test/control"
	if _, err := rollout.Control(context.Background(), rollout.ControlConfig{Target: c, Verb: rollout.VerbResume, AckTimeout: 2 * time.Second}); err == nil {
		t.Error("resume of a killed promote succeeded; nobody was there to hear it")
	}
	rerun := helperConfig(t, a.app, "held-at-34")
	rerun.Image, rerun.LockTimeout = a.images["v2"], time.Minute
	var res *rollout.Result
	promoted := make(chan error, 1)
	go func() {
		var err error
		res, err = rollout.Promote(context.Background(), rerun)
		promoted <- err
	}()
	waitFor(t, a, promoted, "held again after the rerun", 2*time.Minute, func(st rollout.State) bool {
		return st.Owner == rerun.Owner && st.Weight == 34 && st.Paused != ""
	})
	control(t, target, rollout.VerbResume)
	if err := <-promoted; err != nil || res.Outcome != rollout.Promoted || !res.Resumed {
		t.Fatalf("rerun: %+v, %v; want resumed and promoted", res, err)
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "a held canary killed, rerun, resumed", m, "v1", "v2")
}

// With the promote that held it dead, abort rolls the half-done canary
// back itself.
func TestRealNodeAbortWithNoPromoteRunning(t *testing.T) {
	a := newRealApp(t, 3, "v1", "v2")
	m := a.Probe(t)
	kill := startHelper(t, a.app, "held-at-34", "ROLLOUT_HELPER_IMAGE="+a.images["v2"])
	waitFor(t, a, nil, "held at 34 %", 2*time.Minute, func(st rollout.State) bool { return st.Weight == 34 && st.Paused != "" })
	kill()
	target := a.target(t, "replicas")
	target.LockTimeout = time.Minute // the dead holder's Lease expires first
	var res *rollout.ControlResult
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		var err error
		c := target
		c.Owner = "test/control-abort"
		res, err = rollout.Control(context.Background(), rollout.ControlConfig{Target: c, Verb: rollout.VerbAbort, AckTimeout: time.Second})
		return err == nil, nil // until the dead holder's Lease has expired
	})
	if err != nil || res.Undone == nil || res.Undone.ActiveColor != "blue" || res.Status.State.Phase != rollout.PhaseRolledBack {
		t.Fatalf("abort with no promote running: %+v, %v; want the half-done canary rolled back to blue", res, err)
	}
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "a dead promote's canary aborted", m, "v1", "v2")
	if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
		t.Errorf("green has %d replicas, want 0", got)
	}
}
