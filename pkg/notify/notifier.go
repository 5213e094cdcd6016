package notify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultBudget is how long Close may delay a rollout by default.
const DefaultBudget = 5 * time.Second

// MaxRequestTime bounds one request by default, so that a receiver that
// accepts connections and never answers does not keep events queued
// behind it for the whole run.
const MaxRequestTime = 5 * time.Second

// Options configure a Notifier.
type Options struct {
	// Warn gets every failure, one line each (the action makes them
	// ::warning). Nil drops them. Calls are never concurrent, and none
	// comes after Close returned.
	Warn func(string)
	// Budget bounds the time Close may block the caller (DefaultBudget
	// when 0): a rollout must not wait on a chat service. Notify never
	// waits on the network, so this is all the time notifying costs a run.
	Budget time.Duration
	// RequestTimeout bounds each request (when 0: the smaller of Budget
	// and MaxRequestTime).
	RequestTimeout time.Duration
	// RunURL and DeploymentURL fill the events that have none.
	RunURL, DeploymentURL string
	// Now stamps the events that have no Time (time.Now when nil).
	Now func() time.Time
}

// failuresToDisable is how many failures in a row turn a receiver off for
// the rest of the run: after that, each event would cost a time out.
const failuresToDisable = 2

// Notifier sends events to its receivers in the background. Each receiver
// gets every event, in order, from a goroutine of its own, so a slow one
// does not delay the others. A nil *Notifier, or one with no receivers,
// does nothing.
type Notifier struct {
	opts    Options
	timeout time.Duration
	// ctx bounds the requests. It is not the caller's: a notification of
	// an interrupted run (the abort it caused) is still worth sending, and
	// Close bounds the wait by Budget; Close cancels it when it gives up.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	cond   *sync.Cond // signals an event queued, or closing
	queues []*queue
	closed bool // by Close: no more events; workers drain and stop
	quiet  bool // Close returned: no more warnings
}

// queue is one receiver's pending events and health; guarded by mu.
type queue struct {
	r        Receiver
	events   []Event
	inFlight *Event
	failures int // in a row
	disabled bool
}

// New starts a goroutine per receiver; nil receivers are skipped. Close
// must be called to stop them.
func New(opts Options, receivers ...Receiver) *Notifier {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := &Notifier{opts: opts, timeout: opts.RequestTimeout}
	if n.timeout <= 0 {
		n.timeout = min(opts.Budget, MaxRequestTime)
	}
	n.cond = sync.NewCond(&n.mu)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, r := range receivers {
		if r == nil {
			continue
		}
		q := &queue{r: r}
		n.queues = append(n.queues, q)
		n.wg.Add(1)
		go n.deliver(q)
	}
	return n
}

// Notify queues e for every receiver and returns at once. It fills Time,
// Title, RunURL and DeploymentURL when they are empty. Events after Close
// are dropped.
func (n *Notifier) Notify(e Event) {
	if n == nil || len(n.queues) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = n.opts.Now()
	}
	if e.Title == "" {
		e.Title = e.headline()
	}
	if e.RunURL == "" {
		e.RunURL = n.opts.RunURL
	}
	if e.DeploymentURL == "" {
		e.DeploymentURL = n.opts.DeploymentURL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	for _, q := range n.queues {
		if !q.disabled {
			// Each queue gets its own slices: a receiver must not see
			// another's changes, nor the caller's later ones.
			q.events = append(q.events, clone(e))
		}
	}
	n.cond.Broadcast()
}

func clone(e Event) Event {
	e.Values = append([]Value(nil), e.Values...)
	e.Changes = append([]Change(nil), e.Changes...)
	return e
}

// deliver sends q's events in order until Close, then what is left.
func (n *Notifier) deliver(q *queue) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		for len(q.events) == 0 && !n.closed {
			n.cond.Wait()
		}
		if len(q.events) == 0 {
			n.mu.Unlock()
			return
		}
		e := q.events[0]
		q.events = q.events[1:]
		q.inFlight = &e
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
		err := q.r.Send(ctx, e)
		cancel()

		n.mu.Lock()
		q.inFlight = nil
		n.record(q, e, err)
		n.mu.Unlock()
	}
}

// record counts a delivery's outcome and warns of a failure; n.mu is held.
func (n *Notifier) record(q *queue, e Event, err error) {
	if err == nil {
		q.failures = 0
		return
	}
	q.failures++
	msg := fmt.Sprintf("%s: the %s notification was not sent: %v", q.r.Name(), e.Kind, err)
	if q.failures >= failuresToDisable {
		q.disabled = true
		if dropped := len(q.events); dropped > 0 {
			msg += fmt.Sprintf(" (%d more dropped)", dropped)
		}
		msg += fmt.Sprintf("; %d failures in a row: %s gets no more notifications in this run", q.failures, q.r.Name())
		q.events = nil
	}
	n.warn(msg)
}

func (n *Notifier) warn(msg string) {
	if !n.quiet && n.opts.Warn != nil {
		n.opts.Warn(msg)
	}
}

// Close sends what is queued and stops the goroutines. It returns when all
// is sent, when Budget is spent or when ctx is done, whichever comes
// first; what is not sent by then is dropped with a warning per receiver.
// After an interruption, pass a context that is not done yet
// (context.WithoutCancel, with a deadline within the step's grace) to
// still send the last events. Close is idempotent.
func (n *Notifier) Close(ctx context.Context) {
	if n == nil {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.cond.Broadcast()
	n.mu.Unlock()

	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(n.opts.Budget)
	defer t.Stop()
	var why string
	select {
	case <-done:
	case <-t.C:
		why = fmt.Sprintf("within the %s budget", n.opts.Budget)
	case <-ctx.Done():
		why = "in the time the run had left"
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	for _, q := range n.queues {
		if left := pending(q); len(left) > 0 && !q.disabled {
			n.warn(fmt.Sprintf("%s: %d notification(s) not sent %s: %s", q.r.Name(), len(left), why, strings.Join(left, ", ")))
		}
		q.events = nil
	}
	n.quiet = true
	n.cancel()
}

// pending lists the kinds of q's events not sent, the one in flight
// first; n.mu is held.
func pending(q *queue) []string {
	var k []string
	if q.inFlight != nil {
		k = append(k, string(q.inFlight.Kind))
	}
	for _, e := range q.events {
		k = append(k, string(e.Kind))
	}
	return k
}
