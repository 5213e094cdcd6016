package rollout

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The controller's answers, and which waits each command ends.
func TestControllerCommands(t *testing.T) {
	k := newController(time.Now())
	cmd := func(verb string) Command { return Command{ID: verb, Verb: verb, By: "alice"} }
	if err := k.interruption(); err != nil {
		t.Fatalf("no command yet: %v", err)
	}
	if got := k.apply(cmd(VerbResume)); got != "not paused: nothing to resume" {
		t.Errorf("resume before a pause: %q", got)
	}
	k.setMode(waitStep)
	woken := k.woken()
	if got := k.apply(cmd(VerbPause)); got != "holds at the current weight before the next traffic step; analysis goes on" {
		t.Errorf("pause in a step: %q", got)
	}
	select {
	case <-woken:
	default:
		t.Error("a command did not wake the wait")
	}
	if err := k.interruption(); err != nil {
		t.Errorf("pause ended a step's pause early: %v", err)
	}
	if p := k.pauseRequested(); p == nil || p.By != "alice" {
		t.Errorf("pause requested: %+v", p)
	}
	if by := k.beginHold(Command{Verb: VerbPause, By: "pause-at 25"}); by.By != "alice" {
		t.Errorf("the hold is %+v, want alice's pause", by)
	}
	if err := k.interruption(); err != nil {
		t.Errorf("a hold ended before resume: %v", err)
	}
	if got := k.apply(cmd(VerbResume)); got != "resumed" {
		t.Errorf("resume in a hold: %q", got)
	}
	if err := k.interruption(); !errors.Is(err, errHoldOver) {
		t.Errorf("resume: %v, want the hold over", err)
	}
	if ended := k.endHold(); ended == nil || ended.Verb != VerbResume {
		t.Errorf("the hold ended by %+v, want resume", ended)
	}

	// A pause-at hold, ended by promote-full, which then cuts steps short.
	k.beginHold(Command{Verb: VerbPause, By: "pause-at 50"})
	k.apply(cmd(VerbPromoteFull))
	if err := k.interruption(); !errors.Is(err, errHoldOver) {
		t.Errorf("promote-full in a hold: %v, want the hold over", err)
	}
	if ended := k.endHold(); ended == nil || ended.Verb != VerbPromoteFull {
		t.Errorf("the hold ended by %+v, want promote-full", ended)
	}
	k.setMode(waitStep)
	if err := k.interruption(); !errors.Is(err, errFull) {
		t.Errorf("a step after promote-full: %v, want it cut short", err)
	}
	if got := k.apply(cmd(VerbPause)); got != "not paused: promote-full was asked for already" {
		t.Errorf("pause after promote-full: %q", got)
	}
	k.setMode(waitOther)
	if err := k.interruption(); err != nil {
		t.Errorf("the post-promotion window was cut short: %v", err)
	}
}

// A nil controller (no promotion listening) never interrupts or wakes.
func TestNilController(t *testing.T) {
	var k *controller
	if k.interruption() != nil || k.woken() != nil || k.pauseRequested() != nil || k.fullRequested() != nil {
		t.Error("a nil controller acted")
	}
	k.setMode(waitHold)
}

// Once the last traffic step has begun there is no step to hold before:
// a pause is refused, not acknowledged as a hold that never comes; one
// heard just before still holds.
func TestPauseAfterTheLastStepBegan(t *testing.T) {
	k := newController(time.Now())
	k.apply(Command{ID: "1", Verb: VerbPause, By: "alice"})
	if late := k.closeHolds(); late == nil || late.By != "alice" {
		t.Errorf("a pause heard before the last step: %+v, want alice's to hold", late)
	}
	k.beginHold(Command{Verb: VerbPause, By: "pause-at 50"})
	k.apply(Command{ID: "2", Verb: VerbResume, By: "alice"})
	k.endHold()
	if got := k.apply(Command{ID: "3", Verb: VerbPause, By: "bob"}); !strings.HasPrefix(got, "not paused: no traffic step is left") {
		t.Errorf("pause during the last step: %q", got)
	}
	if k.pauseRequested() != nil || k.closeHolds() != nil {
		t.Error("a refused pause was kept")
	}
	// promote-full asked for: nothing holds before the last step.
	k = newController(time.Now())
	k.apply(Command{ID: "1", Verb: VerbPause, By: "alice"})
	k.apply(Command{ID: "2", Verb: VerbPromoteFull, By: "bob"})
	if late := k.closeHolds(); late != nil {
		t.Errorf("a pause before promote-full held before the last step: %+v", late)
	}
}
