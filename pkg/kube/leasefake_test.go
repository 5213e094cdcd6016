package kube

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The fake clientset stores objects without resourceVersions and never
// refuses a stale update. apiServer adds what the API server does for
// Leases: every write stamps a new resourceVersion, and an update whose
// resourceVersion is not the stored one is a Conflict. Its reactors run
// under the fake's lock, so a check and its write are one step; other
// reactors may change the stored Lease with put, under the same lock.
type apiServer struct {
	client  *fake.Clientset
	version int

	mu sync.Mutex
	// before runs ahead of every lease request, under the fake's lock;
	// a non-nil error answers the request.
	before func(verb string, s *apiServer) error
}

func (s *apiServer) setBefore(f func(verb string, s *apiServer) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = f
}

var leases = coordinationv1.SchemeGroupVersion.WithResource("leases")

const leaseNS, leaseName = "prod", "fx-lock"

func newAPIServer(objs ...runtime.Object) *apiServer {
	s := &apiServer{client: fake.NewClientset()}
	for _, o := range objs {
		if err := s.put(o.(*coordinationv1.Lease)); err != nil {
			panic(err)
		}
	}
	tracker := s.client.Tracker()
	react := k8stesting.ObjectReaction(tracker)
	s.client.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.mu.Lock()
		before := s.before
		s.mu.Unlock()
		if before != nil {
			if err := before(a.GetVerb(), s); err != nil {
				return true, nil, err
			}
		}
		switch a.GetVerb() {
		case "create":
			l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
			s.version++
			l.ResourceVersion = strconv.Itoa(s.version)
			return react(k8stesting.NewCreateAction(leases, a.GetNamespace(), l))
		case "update":
			l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
			cur, err := tracker.Get(leases, a.GetNamespace(), l.Name)
			if err != nil {
				return true, nil, err
			}
			if cur.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
				return true, nil, apierrors.NewConflict(leases.GroupResource(), l.Name, errors.New("the object has been modified"))
			}
			s.version++
			l.ResourceVersion = strconv.Itoa(s.version)
			return react(k8stesting.NewUpdateAction(leases, a.GetNamespace(), l))
		}
		return false, nil, nil
	})
	return s
}

// put stores a Lease as another client's write would: from a reactor (under
// the fake's lock) or before the test starts.
func (s *apiServer) put(l *coordinationv1.Lease) error {
	l = l.DeepCopy()
	if l.Namespace == "" {
		l.Namespace = leaseNS
	}
	s.version++
	l.ResourceVersion = strconv.Itoa(s.version)
	if _, err := s.client.Tracker().Get(leases, l.Namespace, l.Name); apierrors.IsNotFound(err) {
		return s.client.Tracker().Create(leases, l, l.Namespace)
	}
	return s.client.Tracker().Update(leases, l, l.Namespace)
}

// stored reads the Lease from the tracker; from a reactor too.
func (s *apiServer) stored() (*coordinationv1.Lease, error) {
	o, err := s.client.Tracker().Get(leases, leaseNS, leaseName)
	if err != nil {
		return nil, err
	}
	return o.(*coordinationv1.Lease), nil
}

func (s *apiServer) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := s.client.CoordinationV1().Leases(leaseNS).Get(context.Background(), leaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// edit changes the stored Lease through the API, as another run would.
func (s *apiServer) edit(t *testing.T, f func(*coordinationv1.Lease)) {
	t.Helper()
	for {
		l := s.lease(t)
		f(l)
		_, err := s.client.CoordinationV1().Leases(leaseNS).Update(context.Background(), l, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// heldBy is a Lease of holder ("" for none) renewed renewed ago, valid for
// secs seconds, changed hands transitions times.
func heldBy(holder string, renewed time.Duration, secs, transitions int32) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: leaseName, Namespace: leaseNS},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &secs, LeaseTransitions: &transitions}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
		at := metav1.NewMicroTime(time.Now().Add(-renewed))
		l.Spec.AcquireTime, l.Spec.RenewTime = &at, &at
	}
	return l
}

func holderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return "<nil>"
	}
	return *l.Spec.HolderIdentity
}

func release(t *testing.T, l *Lock) {
	t.Helper()
	if err := l.Release(context.Background()); err != nil {
		t.Errorf("release: %v", err)
	}
}

// closedWithin reports whether ch closes within d: a bound on a wait,
// never a verdict on timing.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
