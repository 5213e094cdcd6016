package helm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	hkube "helm.sh/helm/v4/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WaitedObject is one object Helm's watcher waited on: how long until it
// was ready, or its last status if it never was.
type WaitedObject struct {
	Kind      string
	Namespace string
	Name      string
	Ready     bool
	// After is the time from the start of the wait to the first moment the
	// object was ready (kstatus "Current").
	After time.Duration
	// Status and Message are the last status kstatus computed.
	Status  string
	Message string
}

// recorder is a kstatus StatusReader that computes status as Helm's
// watcher does and notes, for each object of the current wait, when it
// first became Current. Helm's watcher calls it on every watch event, so
// the timings cost no extra API call.
type recorder struct {
	now    func() time.Time
	mapper func() (meta.RESTMapper, error)

	mu      sync.Mutex
	inner   engine.StatusReader
	start   time.Time
	objects []object.ObjMetadata
	ready   map[object.ObjMetadata]time.Duration
	last    map[object.ObjMetadata]*event.ResourceStatus
}

func newRecorder(now func() time.Time, mapper func() (meta.RESTMapper, error)) *recorder {
	return &recorder{now: now, mapper: mapper}
}

// begin starts timing a wait on resources.
func (r *recorder) begin(resources hkube.ResourceList) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start = r.now()
	r.objects = r.objects[:0]
	r.ready = map[object.ObjMetadata]time.Duration{}
	r.last = map[object.ObjMetadata]*event.ResourceStatus{}
	for _, res := range resources {
		if id, err := object.RuntimeToObjMeta(res.Object); err == nil {
			r.objects = append(r.objects, id)
		}
	}
}

// Waited returns the objects of the last wait, in the order Helm listed them.
func (r *recorder) Waited() []WaitedObject {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]WaitedObject, 0, len(r.objects))
	for _, id := range r.objects {
		w := WaitedObject{Kind: id.GroupKind.Kind, Namespace: id.Namespace, Name: id.Name, Status: status.UnknownStatus.String()}
		if d, ok := r.ready[id]; ok {
			w.Ready, w.After = true, d
		}
		if rs := r.last[id]; rs != nil {
			w.Status, w.Message = rs.Status.String(), rs.Message
		}
		out = append(out, w)
	}
	return out
}

func (r *recorder) reader() (engine.StatusReader, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inner == nil {
		m, err := r.mapper()
		if err != nil {
			return nil, fmt.Errorf("making a REST mapper for the wait: %w", err)
		}
		r.inner = statusreaders.NewStatusReader(m)
	}
	return r.inner, nil
}

func (r *recorder) note(rs *event.ResourceStatus) {
	if rs == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.objects, rs.Identifier) {
		return
	}
	r.last[rs.Identifier] = rs
	if _, seen := r.ready[rs.Identifier]; !seen && rs.Status == status.CurrentStatus {
		r.ready[rs.Identifier] = r.now().Sub(r.start)
	}
}

// Supports is true for every kind: the recorder delegates to kstatus's
// default readers, which fall back to generic conditions.
func (r *recorder) Supports(schema.GroupKind) bool { return true }

func (r *recorder) ReadStatus(ctx context.Context, cr engine.ClusterReader, id object.ObjMetadata) (*event.ResourceStatus, error) {
	inner, err := r.reader()
	if err != nil {
		return nil, err
	}
	rs, err := inner.ReadStatus(ctx, cr, id)
	r.note(rs)
	return rs, err
}

func (r *recorder) ReadStatusForObject(ctx context.Context, cr engine.ClusterReader, obj *unstructured.Unstructured) (*event.ResourceStatus, error) {
	inner, err := r.reader()
	if err != nil {
		return nil, err
	}
	rs, err := inner.ReadStatusForObject(ctx, cr, obj)
	r.note(rs)
	return rs, err
}

// timedKube is Helm's kube client with a readiness wait that is timed by
// a recorder. Hook waits keep Helm's own readers untouched.
type timedKube struct {
	hkube.Interface
	rec *recorder
}

var _ hkube.InterfaceWaitOptions = (*timedKube)(nil)

func (k *timedKube) GetWaiter(ws hkube.WaitStrategy) (hkube.Waiter, error) {
	return k.GetWaiterWithOptions(ws)
}

func (k *timedKube) GetWaiterWithOptions(ws hkube.WaitStrategy, opts ...hkube.WaitOption) (hkube.Waiter, error) {
	plain, err := k.waiter(ws, opts...)
	if err != nil || ws != hkube.StatusWatcherStrategy {
		return plain, err
	}
	timed, err := k.waiter(ws, append(slices.Clone(opts), hkube.WithKStatusReaders(k.rec))...)
	if err != nil {
		return nil, err
	}
	return &timedWaiter{Waiter: plain, timed: timed, rec: k.rec}, nil
}

func (k *timedKube) waiter(ws hkube.WaitStrategy, opts ...hkube.WaitOption) (hkube.Waiter, error) {
	if c, ok := k.Interface.(hkube.InterfaceWaitOptions); ok {
		return c.GetWaiterWithOptions(ws, opts...)
	}
	return k.Interface.GetWaiter(ws)
}

type timedWaiter struct {
	hkube.Waiter
	timed hkube.Waiter
	rec   *recorder
}

func (w *timedWaiter) Wait(resources hkube.ResourceList, timeout time.Duration) error {
	w.rec.begin(resources)
	return w.timed.Wait(resources, timeout)
}
