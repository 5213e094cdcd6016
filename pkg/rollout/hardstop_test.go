package rollout

import (
	"context"
	"testing"
	"time"
)

// TestHardStop: a clean-up write outlives the run's own end (its timeout),
// but not the caller's cancellation by more than InterruptGrace.
func TestHardStop(t *testing.T) {
	tgt := &Target{InterruptGrace: 50 * time.Millisecond}
	caller, cancelCaller := context.WithCancel(context.Background())
	defer cancelCaller()
	ctx, stop := tgt.withHardStop(caller)
	defer stop()

	run, cancelRun := context.WithTimeout(ctx, time.Millisecond)
	defer cancelRun()
	<-run.Done()
	if interrupted(run) {
		t.Error("a run that timed out counts as interrupted")
	}
	w, done := detach(run)
	defer done()
	select {
	case <-w.Done():
		t.Fatal("the write's context ended with the run's timeout")
	case <-time.After(100 * time.Millisecond): // twice the grace
	}

	cancelCaller()
	if !interrupted(ctx) {
		t.Error("a run whose caller cancelled it does not count as interrupted")
	}
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the write's context outlived the caller's cancellation by far more than InterruptGrace")
	}
}
