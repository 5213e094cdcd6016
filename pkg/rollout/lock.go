package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// lockAndWatch takes the Service's Lease and returns a context cancelled
// with ErrLeaseLost when the Lease is lost, or after the run's timeout.
func (t *Target) lockAndWatch(ctx context.Context) (context.Context, func(), *kube.Lock, error) {
	lock, err := kube.AcquireLease(ctx, t.Client, t.Namespace, t.leaseName(), kube.LeaseOptions{
		Holder: t.Owner, Duration: t.LeaseDuration, Wait: t.LockTimeout, Poll: t.LeaseDuration / 5,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if lock.TookOver != "" {
		t.emit("lock", -1, "took over lease %s from %q, which stopped renewing it", t.leaseName(), lock.TookOver)
	}
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, t.Timeout, fmt.Errorf("timed out after %s", t.Timeout))
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-lock.Lost():
			cancel(ErrLeaseLost)
		case req := <-lock.Requested():
			cancel(fmt.Errorf("%w (%s)", ErrPreempted, req))
		case <-ctx.Done():
		}
	}()
	release := func() {
		cancel(nil)
		cancelTimeout()
		rctx, done := detach(ctx)
		defer done()
		_ = lock.Release(rctx)
	}
	return ctx, release, lock, nil
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
