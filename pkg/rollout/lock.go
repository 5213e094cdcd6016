package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// held is a run holding the Service's Lease.
type held struct {
	// ctx is cancelled with ErrLeaseLost when the Lease is lost, with
	// ErrPreempted when a rollback asks for it, and after the timeout.
	ctx context.Context
	// stop ends ctx with a cause of the caller's (an abort asked for).
	stop context.CancelCauseFunc
	// suspend stops the run's timeout until the returned resume is
	// called: the time a rollout holds for a person does not count
	// against it (a hold has its own bound, PauseTimeout). When the
	// timeout has fired already, both do nothing.
	suspend func() (resume func())
	release func()
	// since is when the Lease was taken, less a second for other clocks.
	since time.Time
}

// lockAndWatch takes the Service's Lease and watches it.
func (t *Target) lockAndWatch(ctx context.Context) (*held, error) {
	lock, err := kube.AcquireLease(ctx, t.Client, t.Namespace, t.leaseName(), kube.LeaseOptions{
		Holder: t.Owner, Duration: t.LeaseDuration, Wait: t.LockTimeout, Poll: t.LeaseDuration / 5,
	})
	if err != nil {
		return nil, err
	}
	if lock.TookOver != "" {
		t.emit("lock", -1, "took over lease %s from %q, which stopped renewing it", t.leaseName(), lock.TookOver)
	}
	h := &held{since: time.Now().Add(-time.Second)}
	ctx, cancel := context.WithCancelCause(ctx)
	var mu sync.Mutex
	deadline := time.Now().Add(t.Timeout)
	timer := time.AfterFunc(t.Timeout, func() { cancel(fmt.Errorf("timed out after %s", t.Timeout)) })
	h.suspend = func() func() {
		mu.Lock()
		defer mu.Unlock()
		if !timer.Stop() { // fired, or stopped by release
			return func() {}
		}
		left := time.Until(deadline)
		return func() {
			mu.Lock()
			defer mu.Unlock()
			deadline = time.Now().Add(left)
			timer.Reset(left)
		}
	}
	go func() {
		select {
		case <-lock.Lost():
			cancel(ErrLeaseLost)
		case req := <-lock.Requested():
			cancel(fmt.Errorf("%w (%s)", ErrPreempted, req))
		case <-ctx.Done():
		}
	}()
	h.ctx, h.stop = ctx, cancel
	h.release = func() {
		cancel(nil)
		timer.Stop()
		rctx, done := detach(ctx)
		defer done()
		_ = lock.Release(rctx)
	}
	return h, nil
}

type hardStopKey struct{}

// withHardStop returns the caller's ctx carrying the context every
// clean-up derives from. That context outlives the run's own end (its
// timeout, a lost Lease, an abort), but ends InterruptGrace after the
// caller cancels ctx, so a cancelled run returns within that time
// whatever it was writing.
func (t *Target) withHardStop(ctx context.Context) (context.Context, context.CancelFunc) {
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(t.InterruptGrace, cancel) })
	return context.WithValue(ctx, hardStopKey{}, hard), func() { stop(); cancel() }
}

// detach returns a context for a write that must finish once begun (the
// state on the Service, a scale-down, the Lease's release) even though
// ctx has ended, within the hard stop.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	if hard, ok := ctx.Value(hardStopKey{}).(context.Context); ok {
		return context.WithCancel(hard)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}

// interrupted reports whether the caller cancelled ctx (a SIGTERM), as
// opposed to the run ending on its own (its timeout, a lost Lease).
func interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled)
}

// switchWhenAvailable points the live Service at colour once its
// Deployment is available, waiting again if the check at the switch finds
// it is not (pods of a just-reverted scale-down can still be going away).
func (t *Target) switchWhenAvailable(ctx context.Context, colour string) error {
	for {
		if _, err := kube.WaitAvailable(ctx, t.Client, t.Namespace, t.DeploymentName(colour), t.Timeout, 0); err != nil {
			return err
		}
		err := traffic.SwitchSelector(ctx, t.routerConfig(), colour)
		if !errors.Is(err, traffic.ErrNotAvailable) {
			return err
		}
		t.emit("wait", -1, "%s: %v; waiting again", t.DeploymentName(colour), err)
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}
