package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestAcquireLease(t *testing.T) {
	const hour = time.Hour
	tests := []struct {
		name            string
		lease           *coordinationv1.Lease // nil: none yet
		wait            time.Duration
		wantTookOver    string
		wantTransitions int32 // -1: not set
		wantNewAcquire  bool  // acquireTime is now
		wantErr         string
	}{
		{name: "a free name is created", wantTransitions: -1, wantNewAcquire: true},
		{name: "a released lease is taken", lease: heldBy("", 0, 15, 3), wantTransitions: 4, wantNewAcquire: true},
		{name: "our own live lease is taken back at once", lease: heldBy("us", 0, 3600, 2), wantTransitions: 2},
		{name: "an expired lease is taken over", lease: heldBy("gone", hour, 15, 2), wantTookOver: "gone",
			wantTransitions: 3, wantNewAcquire: true},
		{name: "a lease never renewed is taken over", lease: func() *coordinationv1.Lease {
			l := heldBy("gone", 0, 15, 0)
			l.Spec.RenewTime = nil
			return l
		}(), wantTookOver: "gone", wantTransitions: 1, wantNewAcquire: true},
		{name: "a live lease of another run fails at once", lease: heldBy("other", 0, 3600, 1),
			wantErr: `lease held by another run: lease prod/fx-lock is held by "other" (waited 0s)`},
		{name: "a live lease of another run fails after the wait", lease: heldBy("other", 0, 3600, 1), wait: 100 * time.Millisecond,
			wantErr: `is held by "other" (waited 100ms)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.lease != nil {
				objs = append(objs, tc.lease)
			}
			s := newAPIServer(objs...)
			start := time.Now()
			l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName,
				LeaseOptions{Holder: "us", Wait: tc.wait, Poll: 10 * time.Millisecond})
			if tc.wantErr != "" {
				if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrLeaseHeld containing %q", err, tc.wantErr)
				}
				if waited := time.Since(start); waited < tc.wait {
					t.Errorf("gave up after %s, before the wait of %s", waited, tc.wait)
				}
				if got := holderOf(s.lease(t)); got != holderOf(tc.lease) {
					t.Errorf("the lease is held by %s now, want %s still", got, holderOf(tc.lease))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer release(t, l)
			got := s.lease(t)
			if holderOf(got) != "us" || l.TookOver != tc.wantTookOver {
				t.Errorf("holder %s, TookOver %q; want us, %q", holderOf(got), l.TookOver, tc.wantTookOver)
			}
			transitions := int32(-1)
			if got.Spec.LeaseTransitions != nil {
				transitions = *got.Spec.LeaseTransitions
			}
			if transitions != tc.wantTransitions {
				t.Errorf("leaseTransitions %d, want %d", transitions, tc.wantTransitions)
			}
			if got.Spec.RenewTime == nil || got.Spec.RenewTime.Time.Before(start) {
				t.Errorf("renewTime %v, want at least %v", got.Spec.RenewTime, start)
			}
			if newAcquire := got.Spec.AcquireTime != nil && !got.Spec.AcquireTime.Time.Before(start); newAcquire != tc.wantNewAcquire {
				t.Errorf("acquireTime %v (start %v): new = %v, want %v", got.Spec.AcquireTime, start, newAcquire, tc.wantNewAcquire)
			}
			if secs := *got.Spec.LeaseDurationSeconds; secs != 15 {
				t.Errorf("leaseDurationSeconds %d, want the default 15", secs)
			}
		})
	}
}

func TestAcquireLeaseNeedsAHolder(t *testing.T) {
	if _, err := AcquireLease(context.Background(), fake.NewClientset(), leaseNS, leaseName, LeaseOptions{}); err == nil {
		t.Fatal("no error without a holder name")
	}
}

// While it waits for a live holder, AcquireLease ends with its context.
func TestAcquireLeaseContextEndsTheWait(t *testing.T) {
	s := newAPIServer(heldBy("other", 0, 3600, 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gets := 0
	s.setBefore(func(verb string, _ *apiServer) error {
		if verb == "get" {
			if gets++; gets == 2 {
				cancel()
			}
		}
		return nil
	})
	_, err := AcquireLease(ctx, s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Wait: time.Hour, Poll: 10 * time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// A holder that releases while we wait lets us in; that is no takeover.
func TestAcquireLeaseAfterTheHolderReleases(t *testing.T) {
	s := newAPIServer(heldBy("other", 0, 3600, 1))
	gets := 0
	s.setBefore(func(verb string, s *apiServer) error {
		if verb == "get" {
			if gets++; gets == 3 {
				return s.put(heldBy("", 0, 3600, 1))
			}
		}
		return nil
	})
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName,
		LeaseOptions{Holder: "us", Wait: time.Minute, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, l)
	if got := s.lease(t); holderOf(got) != "us" || l.TookOver != "" || *got.Spec.LeaseTransitions != 2 {
		t.Errorf("holder %s, TookOver %q, transitions %d; want us, \"\", 2", holderOf(got), l.TookOver, *got.Spec.LeaseTransitions)
	}
}

// Another run takes the expired Lease between our read and our write: the
// write is a Conflict, and the next read finds the rival's live Lease.
func TestAcquireLeaseLosesTheRaceToARival(t *testing.T) {
	s := newAPIServer(heldBy("gone", time.Hour, 15, 1))
	raced := false
	s.setBefore(func(verb string, s *apiServer) error {
		if verb == "update" && !raced {
			raced = true
			return s.put(heldBy("rival", 0, 15, 2)) // the update then finds a newer resourceVersion
		}
		return nil
	})
	_, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Poll: 10 * time.Millisecond})
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), `held by "rival"`) {
		t.Fatalf("got %v, want ErrLeaseHeld by rival", err)
	}
	if got := holderOf(s.lease(t)); got != "rival" {
		t.Errorf("holder %s, want rival", got)
	}
}

// Many runs start at once, on a free name or on an expired Lease: exactly
// one gets it, the others are told who holds it. The result holds for every
// interleaving the scheduler picks, so the rounds cannot flake.
func TestAcquireLeaseConcurrently(t *testing.T) {
	const runs = 8
	for round := range 20 {
		var objs []runtime.Object
		if round%2 == 1 {
			objs = append(objs, heldBy("gone", time.Hour, 15, 1))
		}
		s := newAPIServer(objs...)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []*Lock
			held    int
		)
		for i := range runs {
			wg.Go(func() {
				l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName,
					LeaseOptions{Holder: fmt.Sprintf("run-%d", i), Poll: time.Millisecond})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, l)
				case errors.Is(err, ErrLeaseHeld):
					held++
				default:
					t.Errorf("round %d, run %d: %v", round, i, err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 || held != runs-1 {
			t.Fatalf("round %d: %d winners, %d told it is held; want 1, %d", round, len(winners), held, runs-1)
		}
		if got := holderOf(s.lease(t)); got != winners[0].opts.Holder {
			t.Errorf("round %d: the lease is held by %s, the winner is %s", round, got, winners[0].opts.Holder)
		}
		release(t, winners[0])
	}
}

// A held Lock renews its Lease and is not lost.
func TestLeaseRenews(t *testing.T) {
	s := newAPIServer()
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, l)
	first := s.lease(t).Spec.RenewTime.Time
	for range 2 { // two renewals, each seen in the Lease
		prev := s.lease(t).Spec.RenewTime.Time
		deadline := time.Now().Add(10 * time.Second)
		for !s.lease(t).Spec.RenewTime.Time.After(prev) {
			if time.Now().After(deadline) {
				t.Fatalf("not renewed since %v", prev)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	got := s.lease(t)
	if holderOf(got) != "us" || !got.Spec.RenewTime.Time.After(first) || *got.Spec.LeaseDurationSeconds != 2 {
		t.Errorf("holder %s, renewed %v (first %v), %d s; want us, later, 2 s", holderOf(got), got.Spec.RenewTime, first, *got.Spec.LeaseDurationSeconds)
	}
	if isClosed(l.Lost()) {
		t.Error("Lost is closed while the lease renews")
	}
}

// Lost closes when the Lease is no longer ours; Release then leaves the
// Lease alone.
func TestLeaseLost(t *testing.T) {
	tests := []struct {
		name       string
		lose       func(t *testing.T, s *apiServer)
		wantHolder string // afterwards; "" when deleted
	}{
		{name: "another run overwrote it", wantHolder: "thief", lose: func(t *testing.T, s *apiServer) {
			s.edit(t, func(l *coordinationv1.Lease) { thief := "thief"; l.Spec.HolderIdentity = &thief })
		}},
		{name: "someone cleared the holder", wantHolder: "<nil>", lose: func(t *testing.T, s *apiServer) {
			s.edit(t, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = nil })
		}},
		{name: "someone deleted it", lose: func(t *testing.T, s *apiServer) {
			if err := s.client.CoordinationV1().Leases(leaseNS).Delete(context.Background(), leaseName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "renewals failed for longer than the duration", wantHolder: "us", lose: func(t *testing.T, s *apiServer) {
			s.setBefore(func(verb string, _ *apiServer) error {
				if verb == "update" {
					return apierrors.NewInternalError(errors.New("etcd is down"))
				}
				return nil
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newAPIServer()
			l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: 150 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			tc.lose(t, s)
			if !closedWithin(l.Lost(), 10*time.Second) {
				t.Fatal("Lost not closed")
			}
			s.setBefore(nil)
			if err := l.Release(context.Background()); err != nil {
				t.Errorf("release: %v", err)
			}
			got, err := s.stored()
			if tc.wantHolder == "" {
				if !apierrors.IsNotFound(err) {
					t.Errorf("got %v, %v; want the lease still deleted", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if holderOf(got) != tc.wantHolder {
				t.Errorf("after release the holder is %s, want %s", holderOf(got), tc.wantHolder)
			}
		})
	}
}

// Renewals that fail for less than the duration do not lose the Lease. The
// duration is long beside the failures, so a slow machine cannot turn the
// verdict.
func TestLeaseSurvivesBriefFailures(t *testing.T) {
	s := newAPIServer()
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, l)
	failed := make(chan struct{})
	s.setBefore(func(verb string, s *apiServer) error {
		if verb == "update" {
			s.setBefore(nil)
			close(failed)
			return apierrors.NewInternalError(errors.New("etcd is down"))
		}
		return nil
	})
	if !closedWithin(failed, 10*time.Second) {
		t.Fatal("no renewal was attempted")
	}
	before := s.lease(t).Spec.RenewTime.Time
	deadline := time.Now().Add(10 * time.Second)
	for !s.lease(t).Spec.RenewTime.Time.After(before) {
		if time.Now().After(deadline) {
			t.Fatal("not renewed after the failure")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if isClosed(l.Lost()) {
		t.Error("Lost closed after one failed renewal")
	}
}

func TestLeaseRelease(t *testing.T) {
	tests := []struct {
		name       string
		change     func(t *testing.T, s *apiServer) // after acquiring, before releasing
		before     func(verb string, s *apiServer) error
		wantHolder string // "" when deleted
		wantErr    string
	}{
		{name: "our lease is cleared", wantHolder: "<nil>"},
		{name: "another holder's lease is left alone", wantHolder: "next", change: func(t *testing.T, s *apiServer) {
			s.edit(t, func(l *coordinationv1.Lease) { next := "next"; l.Spec.HolderIdentity = &next })
		}},
		{name: "a conflict at the release is not an error", wantHolder: "us", before: func(verb string, s *apiServer) error {
			if verb == "update" {
				s.setBefore(nil)
				return apierrors.NewConflict(leases.GroupResource(), leaseName, errors.New("modified"))
			}
			return nil
		}},
		{name: "a deleted lease is not ours to release", change: func(t *testing.T, s *apiServer) {
			if err := s.client.CoordinationV1().Leases(leaseNS).Delete(context.Background(), leaseName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "an unreadable lease is an error", wantHolder: "us", wantErr: "releasing lease prod/fx-lock", before: func(verb string, s *apiServer) error {
			if verb == "get" {
				s.setBefore(nil)
				return apierrors.NewInternalError(errors.New("etcd is down"))
			}
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newAPIServer()
			// The default duration: no renewal runs before the release,
			// and if one did, the outcome would be the same.
			l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.change != nil {
				tc.change(t, s)
			}
			s.setBefore(tc.before)
			err = l.Release(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Errorf("release: %v", err)
			}
			s.setBefore(nil)
			if tc.wantHolder == "" {
				if _, err := s.stored(); !apierrors.IsNotFound(err) {
					t.Errorf("got %v, want the lease still deleted", err)
				}
				return
			}
			got := s.lease(t)
			if holderOf(got) != tc.wantHolder {
				t.Errorf("holder %s, want %s", holderOf(got), tc.wantHolder)
			}
			if tc.wantHolder == "<nil>" && got.Spec.RenewTime != nil {
				t.Errorf("renewTime %v after the release, want none", got.Spec.RenewTime)
			}
			if !isClosed(l.Lost()) {
				t.Error("Lost is open after the release")
			}
			if err := l.Release(context.Background()); err != nil {
				t.Errorf("a second release: %v", err)
			}
		})
	}
}

// A released Lease is taken at once by the next run, with no takeover.
func TestLeaseReleasedIsFreeForTheNextRun(t *testing.T) {
	s := newAPIServer()
	first, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "first"})
	if err != nil {
		t.Fatal(err)
	}
	release(t, first)
	next, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "next"})
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, next)
	if next.TookOver != "" {
		t.Errorf("TookOver %q after a release, want none", next.TookOver)
	}
}

// After losing the race for an expired Lease, the Lease the rival then
// released is taken with no takeover: TookOver names only a holder whose
// expired Lease the successful write replaced.
func TestAcquireLeaseTookOverNamesOnlyTheReplacedHolder(t *testing.T) {
	s := newAPIServer(heldBy("gone", time.Hour, 15, 1))
	raced, gets := false, 0
	s.setBefore(func(verb string, s *apiServer) error {
		switch {
		case verb == "update" && !raced:
			raced = true
			return s.put(heldBy("rival", 0, 3600, 2))
		case verb == "get" && raced:
			if gets++; gets == 2 { // the rival releases while we wait
				return s.put(heldBy("", 0, 3600, 2))
			}
		}
		return nil
	})
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName,
		LeaseOptions{Holder: "us", Wait: time.Minute, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, l)
	if holderOf(s.lease(t)) != "us" || l.TookOver != "" {
		t.Errorf("holder %s, TookOver %q; want us and no takeover", holderOf(s.lease(t)), l.TookOver)
	}
}

// A holder whose renewals fail stops (Lost closes) before anyone else may
// take the Lease over: before its last renew time plus its duration, with
// a third of the duration to spare for the holder to stop.
func TestLeaseLostBeforeOthersMayTakeOver(t *testing.T) {
	const d = 6 * time.Second
	s := newAPIServer()
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	s.setBefore(func(verb string, _ *apiServer) error {
		if verb == "update" {
			return apierrors.NewInternalError(errors.New("etcd is down"))
		}
		return nil
	})
	if !closedWithin(l.Lost(), 2*d) {
		t.Fatal("Lost not closed")
	}
	lostAt := time.Now()
	s.setBefore(nil)
	renewed := s.lease(t).Spec.RenewTime.Time
	release(t, l)
	if takeover := renewed.Add(d); !lostAt.Before(takeover) {
		t.Errorf("Lost closed at %v, not before others may take over at %v (renewed %v)", lostAt, takeover, renewed)
	}
}

// A renewal that hangs is a renewal that fails: once the duration has
// passed without one, Lost closes even though the request never returns.
func TestLeaseLostWhileARenewalHangs(t *testing.T) {
	s := newAPIServer()
	l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	s.setBefore(func(verb string, _ *apiServer) error {
		if verb == "update" {
			<-hang // holds the fake's lock: the test makes no request meanwhile
		}
		return nil
	})
	lost := closedWithin(l.Lost(), 10*time.Second)
	close(hang)
	release(t, l)
	if !lost {
		t.Fatal("Lost not closed while a renewal hung for longer than the lease's duration")
	}
}

// The Lease never claims less time than the holder keeps it: a duration
// between whole seconds rounds up.
func TestLeaseDurationSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int32
	}{{150 * time.Millisecond, 1}, {time.Second, 1}, {1400 * time.Millisecond, 2}, {15 * time.Second, 15}} {
		s := newAPIServer()
		l, err := AcquireLease(context.Background(), s.client, leaseNS, leaseName, LeaseOptions{Holder: "us", Duration: tc.d})
		if err != nil {
			t.Fatal(err)
		}
		if got := *s.lease(t).Spec.LeaseDurationSeconds; got != tc.want {
			t.Errorf("duration %s: leaseDurationSeconds %d, want %d", tc.d, got, tc.want)
		}
		release(t, l)
	}
}

// TestReleaseRequest: a request recorded on the Lease reaches its holder
// within RequestPoll; one made to another holder, or before this holder
// took the Lease, does not; nobody is asked on a free Lease.
func TestReleaseRequest(t *testing.T) {
	s := newAPIServer()
	ctx := context.Background()
	if holder, err := RequestRelease(ctx, s.client, leaseNS, leaseName, "rollback", "r"); err != nil || holder != "" {
		t.Fatalf("no lease: asked %q (%v), want nobody", holder, err)
	}
	l, err := AcquireLease(ctx, s.client, leaseNS, leaseName, LeaseOptions{Holder: "promote"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	if holder, err := RequestRelease(ctx, s.client, leaseNS, leaseName, "promote", "r"); err != nil || holder != "" {
		t.Fatalf("asking oneself: asked %q (%v), want nobody", holder, err)
	}
	select {
	case req := <-l.Requested():
		t.Fatalf("a request before anyone asked: %+v", req)
	case <-time.After(2 * RequestPoll):
	}
	holder, err := RequestRelease(ctx, s.client, leaseNS, leaseName, "rollback", "production is down")
	if err != nil || holder != "promote" {
		t.Fatalf("asked %q (%v), want promote", holder, err)
	}
	select {
	case req := <-l.Requested():
		if req.By != "rollback" || req.Reason != "production is down" || req.String() != "asked by rollback: production is down" {
			t.Errorf("request %+v", req)
		}
	case <-time.After(4 * RequestPoll):
		t.Fatal("the holder did not see the request")
	}

	// A new holder under the same name (a rerun) is not bound by a request
	// made to the one before it.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the slack for another clock
	again, err := AcquireLease(ctx, s.client, leaseNS, leaseName, LeaseOptions{Holder: "promote"})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release(ctx)
	select {
	case req := <-again.Requested():
		t.Errorf("a rerun saw the request made to the run before it: %+v", req)
	case <-time.After(3 * RequestPoll):
	}
}
