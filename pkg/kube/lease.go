package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ErrLeaseHeld is returned when another holder kept renewing the Lease for
// as long as the caller was willing to wait.
var ErrLeaseHeld = errors.New("lease held by another run")

// LeaseOptions configure [AcquireLease].
type LeaseOptions struct {
	// Holder names this run; a Lease already held under the same name is
	// taken at once (a rerun of the same workflow run).
	Holder string
	// Duration is how long the Lease stays valid without a renewal; a
	// holder that stopped renewing for longer is taken over. Default 15s.
	Duration time.Duration
	// Wait is how long to wait for a live holder to release. Default 0:
	// fail at once.
	Wait time.Duration
	// Poll is the interval between attempts while waiting. Default 500ms.
	Poll time.Duration
}

// Lock is a held Lease, renewed in the background until Release. When it
// cannot be renewed (another holder took it, or renewals failed for two
// thirds of its duration, a third before anyone may take it over) Lost is
// closed: the holder must stop changing what the Lease guards.
type Lock struct {
	client          kubernetes.Interface
	namespace, name string
	opts            LeaseOptions
	// TookOver names the holder whose expired Lease was taken, or "".
	TookOver string

	lost     chan struct{}
	lostOnce sync.Once
	stop     context.CancelFunc
	done     chan struct{}
	// requested receives the first request to release the Lease that
	// names this holder and was made after it took the Lease.
	requested chan ReleaseRequest
	acquired  time.Time
}

// AnnotationReleaseRequest, on a Lease, asks its holder to release it:
// a ReleaseRequest as JSON. A holder sees it within RequestPoll.
const AnnotationReleaseRequest = "coordination.fxplatform.dev/release-request"

// RequestPoll is how often a Lock looks for a request to release it.
const RequestPoll = 500 * time.Millisecond

// ReleaseRequest is one run asking the holder of a Lease to give it up
// (rollback asking a running promote to abort).
type ReleaseRequest struct {
	Holder string    `json:"holder"` // the holder asked
	By     string    `json:"by"`     // who asks
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

func (r ReleaseRequest) String() string {
	if r.Reason == "" {
		return "asked by " + r.By
	}
	return fmt.Sprintf("asked by %s: %s", r.By, r.Reason)
}

// RequestRelease asks the live holder of a Lease to release it, by
// recording the request on the Lease. It returns the holder asked, or ""
// when there is none to ask: no Lease, no holder or an expired one, or
// by itself.
func RequestRelease(ctx context.Context, client kubernetes.Interface, namespace, name, by, reason string) (string, error) {
	leases := client.CoordinationV1().Leases(namespace)
	for {
		lease, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading lease %s/%s: %w", namespace, name, err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" || *lease.Spec.HolderIdentity == by || expired(lease, time.Now()) {
			return "", nil
		}
		holder := *lease.Spec.HolderIdentity
		data, err := json.Marshal(ReleaseRequest{Holder: holder, By: by, Reason: reason, At: time.Now().UTC()})
		if err != nil {
			return "", err
		}
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		lease.Annotations[AnnotationReleaseRequest] = string(data)
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue // renewed meanwhile: ask again
		}
		if err != nil {
			return "", fmt.Errorf("asking %q to release lease %s/%s: %w", holder, namespace, name, err)
		}
		return holder, nil
	}
}

// LeaseHolder is the live holder of a Lease: "" when there is no Lease,
// no holder, or one that stopped renewing.
func LeaseHolder(ctx context.Context, client kubernetes.Interface, namespace, name string) (string, error) {
	lease, err := client.CoordinationV1().Leases(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading lease %s/%s: %w", namespace, name, err)
	}
	if lease.Spec.HolderIdentity == nil || expired(lease, time.Now()) {
		return "", nil
	}
	return *lease.Spec.HolderIdentity, nil
}

// Requested receives the first request to release the Lease made to this
// holder after it took the Lease.
func (l *Lock) Requested() <-chan ReleaseRequest { return l.requested }

// watchRequests polls the Lease for a request naming this holder.
func (l *Lock) watchRequests(ctx context.Context) {
	t := time.NewTicker(RequestPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.lost:
			return
		case <-t.C:
		}
		lease, err := l.client.CoordinationV1().Leases(l.namespace).Get(ctx, l.name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		var req ReleaseRequest
		if raw := lease.Annotations[AnnotationReleaseRequest]; raw == "" || json.Unmarshal([]byte(raw), &req) != nil {
			continue
		}
		if req.Holder == l.opts.Holder && req.At.After(l.acquired) {
			l.requested <- req
			return
		}
	}
}

// AcquireLease takes the Lease namespace/name for opts.Holder, creating it
// if needed, waiting up to opts.Wait for a live holder, and taking over a
// holder that stopped renewing.
func AcquireLease(ctx context.Context, client kubernetes.Interface, namespace, name string, opts LeaseOptions) (*Lock, error) {
	if opts.Holder == "" {
		return nil, errors.New("acquiring a lease: no holder name")
	}
	if opts.Duration <= 0 {
		opts.Duration = 15 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	l := &Lock{client: client, namespace: namespace, name: name, opts: opts, lost: make(chan struct{}), done: make(chan struct{}),
		requested: make(chan ReleaseRequest, 1)}
	deadline := time.Now().Add(opts.Wait)
	for {
		holder, err := l.try(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLeaseHeld) && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("acquiring lease %s/%s: %w", namespace, name, err)
		}
		if errors.Is(err, ErrLeaseHeld) && !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: lease %s/%s is held by %q (waited %s)", ErrLeaseHeld, namespace, name, holder, opts.Wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = cancel
	// A second's slack: the request's time comes from another clock.
	l.acquired = time.Now().Add(-time.Second)
	go l.renew(rctx)
	go l.watchRequests(rctx)
	return l, nil
}

// try takes the Lease once; on ErrLeaseHeld it returns the live holder.
func (l *Lock) try(ctx context.Context) (string, error) {
	leases := l.client.CoordinationV1().Leases(l.namespace)
	now := metav1.NewMicroTime(time.Now())
	// Rounded up: the Lease may not claim less time than renew keeps it.
	secs := int32((l.opts.Duration + time.Second - 1) / time.Second)
	lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: l.name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &l.opts.Holder, LeaseDurationSeconds: &secs,
				AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		return "", err
	}
	if err != nil {
		return "", err
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	if holder != "" && holder != l.opts.Holder && !expired(lease, time.Now()) {
		return holder, ErrLeaseHeld
	}
	tookOver := ""
	if holder != l.opts.Holder {
		tookOver = holder
		n := int32(1)
		if lease.Spec.LeaseTransitions != nil {
			n = *lease.Spec.LeaseTransitions + 1
		}
		lease.Spec.LeaseTransitions = &n
		lease.Spec.AcquireTime = &now
	}
	lease.Spec.HolderIdentity = &l.opts.Holder
	lease.Spec.LeaseDurationSeconds = &secs
	lease.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		return "", err
	}
	// Only now: a write that lost a race took nothing over.
	l.TookOver = tookOver
	return "", nil
}

func expired(lease *coordinationv1.Lease, now time.Time) bool {
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second))
}

// renew refreshes the Lease every fifth of its duration until stopped. It
// closes lost when another holder has it, or when two thirds of the
// duration pass without a renewal, even while a request hangs: others may
// take the Lease over once a whole duration has passed since its renew
// time, and by then this holder has long stopped (client-go's leader
// election keeps the same margin, 10 s of 15).
func (l *Lock) renew(ctx context.Context) {
	defer close(l.done)
	renewDeadline := 2 * l.opts.Duration / 3
	deadline := time.AfterFunc(renewDeadline, l.markLost)
	defer deadline.Stop()
	t := time.NewTicker(l.opts.Duration / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.lost:
			return
		case <-t.C:
		}
		// The renew time written is after start, so the deadline counted
		// from start is never later than the one others count.
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, renewDeadline)
		err := l.renewOnce(rctx)
		cancel()
		switch {
		case errors.Is(err, ErrLeaseHeld):
			l.markLost()
			return
		case err == nil:
			deadline.Reset(renewDeadline - time.Since(start))
		}
	}
}

func (l *Lock) renewOnce(ctx context.Context) error {
	leases := l.client.CoordinationV1().Leases(l.namespace)
	lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ErrLeaseHeld // deleted: someone else decided
	}
	if err != nil {
		return err
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.opts.Holder {
		return ErrLeaseHeld
	}
	now := metav1.NewMicroTime(time.Now())
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

func (l *Lock) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// Lost is closed when the Lease is no longer held by this Lock.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release stops renewing and, if the Lease is still this holder's, clears
// its holder so the next run takes it at once.
func (l *Lock) Release(ctx context.Context) error {
	l.stop()
	<-l.done
	select {
	case <-l.lost:
		return nil
	default:
	}
	l.markLost()
	leases := l.client.CoordinationV1().Leases(l.namespace)
	lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // deleted: no longer ours, as renew would have found
	}
	if err != nil {
		return fmt.Errorf("releasing lease %s/%s: %w", l.namespace, l.name, err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.opts.Holder {
		return nil
	}
	lease.Spec.HolderIdentity = nil
	lease.Spec.RenewTime = nil
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("releasing lease %s/%s: %w", l.namespace, l.name, err)
	}
	return nil
}

// Holder names a run as a Lease holder: the workflow run of repository
// ("acme/fx/runs/42", so a re-run of it takes its Lease back at once),
// else, outside a runner (no repository or run id), the host and process;
// role, when set, tells apart the actions of one run (promote and
// rollback).
func Holder(repository string, runID int64, role string) string {
	name := ""
	if repository != "" && runID != 0 {
		name = fmt.Sprintf("%s/runs/%d", repository, runID)
	} else {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s/pid-%d", host, os.Getpid())
	}
	if role != "" {
		name += "/" + role
	}
	return name
}
