package rollout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// The verbs of a running rollout, as kubectl argo rollouts names them.
const (
	// VerbAbort returns all traffic to the stable colour at once.
	VerbAbort = "abort"
	// VerbPause holds the rollout at its weight before its next traffic
	// step, until resume or promote-full; analysis goes on meanwhile.
	VerbPause = "pause"
	// VerbResume ends a hold (a pause, or a pause-at step).
	VerbResume = "resume"
	// VerbPromoteFull skips the remaining steps and their pauses: the
	// next move is to 100 %, then the switch (the post-promotion window is
	// kept: it watches the new live colour, it delays no traffic).
	VerbPromoteFull = "promote-full"
	// VerbStatus only reads.
	VerbStatus = "status"
)

// Verbs are the control verbs, in the order a user reads them.
var Verbs = []string{VerbAbort, VerbPause, VerbResume, VerbPromoteFull, VerbStatus}

// The command channel: a Command written on the live Service, heard by
// the promotion holding the Lease within CommandPoll, which acknowledges
// it with an Ack. Both sit next to the state, so any job on any machine
// with access to the Service can drive a rollout another job runs.
const (
	AnnotationCommand = Prefix + "command"
	AnnotationAck     = Prefix + "command-ack"
)

// CommandPoll is how often a running promotion reads the Service for a
// command.
const CommandPoll = 500 * time.Millisecond

// ErrAbortRequested: a person asked the running promotion to abort (the
// control action); traffic is back on the stable colour.
var ErrAbortRequested = errors.New("abort requested")

// ErrNotRunning: no promotion holds the Lease, so nothing hears a command.
var ErrNotRunning = errors.New("no promotion is running")

// Command is one verb for the running promotion.
type Command struct {
	ID     string    `json:"id"`
	Verb   string    `json:"verb"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

func (c Command) String() string {
	s := c.Verb + " by " + c.By
	if c.Reason != "" {
		s += ": " + c.Reason
	}
	return s
}

// Ack is the promotion's answer to a Command: what it will do.
type Ack struct {
	ID     string `json:"id"`
	Verb   string `json:"verb"`
	Holder string `json:"holder"`
	Result string `json:"result"`
	// Refused: the promotion will not do what was asked (resume with
	// nothing held, pause with no step left to hold before).
	Refused bool      `json:"refused,omitempty"`
	At      time.Time `json:"at"`
}

// refused reports whether apply's answer turns the command down: those
// answers, and only those, begin "not " or "ignored".
func refused(result string) bool {
	return strings.HasPrefix(result, "not ") || strings.HasPrefix(result, "ignored")
}

// errFull ends a step's pause early (promote-full); errHoldOver ends a
// hold (resume or promote-full). Neither leaves the promotion.
var (
	errFull     = errors.New("promote-full requested")
	errHoldOver = errors.New("hold over")
)

// What the promotion is waiting in, for the commands that end a wait.
const (
	waitOther = iota
	waitStep  // a step's pause: promote-full ends it
	waitHold  // a hold: resume and promote-full end it
)

// controller is a running promotion's side of the command channel: a
// goroutine reads commands and keeps what they ask for here; the
// promotion's waits read it, and wake when it changes.
type controller struct {
	mu     sync.Mutex
	since  time.Time // commands older than the promotion are stale
	last   string    // the ID of the last command heard
	paused *Command  // a pause (or a pause-at hold) not yet resumed
	full   *Command
	resume *Command // what ended the last hold
	mode   int
	// final: the last traffic step has begun, so there is no step left
	// to hold before; a pause is refused from then on.
	final bool
	wake  chan struct{}
}

func newController(since time.Time) *controller {
	return &controller{since: since, wake: make(chan struct{})}
}

// woken is closed at the next change; a nil controller never wakes.
func (k *controller) woken() <-chan struct{} {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.wake
}

// interruption says why the current wait must end early, or nil.
func (k *controller) interruption() error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.mode == waitStep && k.full != nil:
		return errFull
	case k.mode == waitHold && (k.full != nil || k.paused == nil):
		return errHoldOver
	}
	return nil
}

func (k *controller) setMode(mode int) {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.mode = mode
	k.mu.Unlock()
}

// pauseRequested is the pause asked for and not yet resumed, or nil.
func (k *controller) pauseRequested() *Command {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.paused
}

func (k *controller) fullRequested() *Command {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.full
}

// pause asks for a hold before the next traffic step, as a pause command
// does.
func (k *controller) pause(cmd Command) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.paused == nil && k.full == nil {
		k.paused = &cmd
	}
}

// closeHolds marks the start of the last traffic step: from here on a
// pause is refused. It returns a pause heard since the promotion last
// looked (it holds once more before the last step), or nil.
func (k *controller) closeHolds() *Command {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.final = true
	if k.full != nil {
		return nil
	}
	return k.paused
}

// beginHold holds for pause (a pause-at step) unless a person's pause
// already does, and returns the pause holding.
func (k *controller) beginHold(pause Command) Command {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.paused == nil {
		k.paused = &pause
	}
	k.mode, k.resume = waitHold, nil
	return *k.paused
}

// endHold returns what ended the hold (nil: nothing, it timed out).
func (k *controller) endHold() *Command {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mode, k.paused = waitOther, nil
	if k.full != nil {
		return k.full
	}
	return k.resume
}

// apply records cmd and says what the promotion will do about it; an
// answer that turns it down begins "not " or "ignored" (refused).
func (k *controller) apply(cmd Command) string {
	k.mu.Lock()
	defer func() {
		close(k.wake)
		k.wake = make(chan struct{})
		k.mu.Unlock()
	}()
	switch cmd.Verb {
	case VerbPause:
		if k.full != nil {
			return "not paused: promote-full was asked for already"
		}
		if k.paused != nil {
			return "already held (" + k.paused.String() + ")"
		}
		if k.final {
			return "not paused: no traffic step is left to hold before (next or already done: 100 % and the switch); abort returns all traffic to the stable colour"
		}
		k.paused = &cmd
		if k.mode == waitHold {
			return "held"
		}
		return "holds at the current weight before the next traffic step; analysis goes on"
	case VerbResume:
		if k.paused == nil {
			return "not paused: nothing to resume"
		}
		k.paused, k.resume = nil, &cmd
		return "resumed"
	case VerbPromoteFull:
		if k.full == nil {
			k.full = &cmd
		}
		return "skipping the remaining steps and pauses: next, 100 % and the switch"
	case VerbAbort:
		return "aborting: all traffic back on the stable colour"
	}
	return "ignored: unknown verb " + cmd.Verb
}

// listen reads the Service for commands every CommandPoll until ctx ends,
// acknowledges each new one, and calls abort for an abort.
func (t *Target) listen(ctx context.Context, k *controller, abort func(error)) {
	tick := time.NewTicker(CommandPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		svc, err := t.Client.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
		if err != nil {
			continue
		}
		var cmd Command
		if raw := svc.Annotations[AnnotationCommand]; raw == "" || json.Unmarshal([]byte(raw), &cmd) != nil {
			continue
		}
		if cmd.ID == "" || cmd.ID == k.last || !cmd.At.After(k.since) {
			continue
		}
		k.last = cmd.ID
		result := k.apply(cmd)
		// This goroutine runs beside the promotion's: its event carries no
		// live colour, which only the promotion's goroutine writes.
		if t.OnEvent != nil {
			t.OnEvent(Event{Phase: "control", Weight: -1, Message: fmt.Sprintf("%s: %s", cmd, result)})
		}
		ack, _ := json.Marshal(Ack{ID: cmd.ID, Verb: cmd.Verb, Holder: t.Owner, Result: result, Refused: refused(result), At: time.Now().UTC()})
		_ = kube.AnnotateService(ctx, t.Client, t.Namespace, t.Service, map[string]string{AnnotationAck: string(ack)})
		if cmd.Verb == VerbAbort {
			abort(fmt.Errorf("%w (%s)", ErrAbortRequested, cmd))
			return
		}
	}
}

// ControlConfig is one verb sent to the rollout of a Service.
type ControlConfig struct {
	Target
	Verb   string
	Reason string
	// AckTimeout bounds the wait for the running promotion to acknowledge
	// (default 15s: it reads every CommandPoll).
	AckTimeout time.Duration
}

// Status is what a Service's rollout looks like now.
type Status struct {
	State State
	// Holder is the live holder of the Lease ("" when none): the running
	// promote or rollback.
	Holder string
	// LastCommand and LastAck are the last command sent and answered.
	LastCommand *Command
	LastAck     *Ack
	// Weight is the candidate's share read from the router's objects, or
	// -1 when it cannot be read.
	Weight int
}

// ControlResult is what a verb did.
type ControlResult struct {
	Command Command
	Ack     *Ack
	// Undone is set when abort found no running promotion but a half-done
	// one, and rolled it back itself.
	Undone *RollbackResult
	// Status after the verb.
	Status *Status
}

// Control sends a verb to the promotion running on cfg's Service and
// waits for its answer; abort also waits for the traffic to be back on
// the stable colour. status only reads. With no promotion running, abort
// undoes a half-done one (a rollback to its stable colour) and the other
// verbs fail with ErrNotRunning: only a running promote moves traffic.
func Control(ctx context.Context, cfg ControlConfig) (*ControlResult, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if !slices.Contains(Verbs, cfg.Verb) {
		return nil, fmt.Errorf("rollout: unknown verb %q; want one of %s", cfg.Verb, strings.Join(Verbs, ", "))
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 15 * time.Second
	}
	st, err := ReadStatus(ctx, cfg.Target)
	if err != nil {
		return nil, err
	}
	res := &ControlResult{Status: st}
	if cfg.Verb == VerbStatus {
		return res, nil
	}
	if st.Holder == "" {
		if cfg.Verb == VerbAbort && st.State.Phase == PhaseProgressing {
			// The promote that left it half done is gone: nobody else
			// will put the traffic back.
			reason := "abort: the promotion of " + st.State.CandidateImage + " was left half done"
			if cfg.Reason != "" {
				reason += "; " + cfg.Reason
			}
			rb, err := Rollback(ctx, RollbackConfig{Target: cfg.Target, To: "previous", Reason: reason})
			res.Undone = rb
			if err != nil {
				return res, err
			}
			res.Status, err = ReadStatus(ctx, cfg.Target)
			return res, err
		}
		hint := ""
		if st.State.Phase == PhaseProgressing {
			hint = fmt.Sprintf("; the rollout of %s was left at step %d (%d %%): rerun promote with the same image to resume it, or abort",
				st.State.CandidateImage, st.State.Step, st.State.Weight)
		}
		return res, fmt.Errorf("%w on service %s/%s (phase %q, no live Lease holder): nothing to %s%s",
			ErrNotRunning, cfg.Namespace, cfg.Service, st.State.Phase, cfg.Verb, hint)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	res.Command = Command{ID: hex.EncodeToString(id), Verb: cfg.Verb, By: cfg.Owner, Reason: cfg.Reason, At: time.Now().UTC()}
	raw, err := json.Marshal(res.Command)
	if err != nil {
		return res, err
	}
	if err := kube.AnnotateService(ctx, cfg.Client, cfg.Namespace, cfg.Service, map[string]string{AnnotationCommand: string(raw)}); err != nil {
		return res, err
	}
	cfg.emit("control", -1, "sent %s to %q", res.Command, st.Holder)
	deadline := time.Now().Add(cfg.AckTimeout)
	for res.Ack == nil || res.Ack.ID != res.Command.ID {
		if !time.Now().Before(deadline) {
			if c := res.Status.LastCommand; c != nil && c.ID != res.Command.ID {
				// One command at a time: another was written over this one
				// before the promote read it.
				return res, fmt.Errorf("%s was replaced on the Service by %s (sent at %s) before %q read it: it was not obeyed; send it again",
					cfg.Verb, c, c.At.Format(time.RFC3339), st.Holder)
			}
			return res, fmt.Errorf("%q, which holds the Lease, did not answer %s within %s (a rollback holds it, or a promote from before the control verbs)",
				st.Holder, cfg.Verb, cfg.AckTimeout)
		}
		if err := sleep(ctx, CommandPoll/2); err != nil {
			return res, err
		}
		if res.Status, err = ReadStatus(ctx, cfg.Target); err != nil {
			return res, err
		}
		res.Ack = res.Status.LastAck
	}
	cfg.emit("control", -1, "%q: %s", res.Ack.Holder, res.Ack.Result)
	if cfg.Verb != VerbAbort {
		return res, nil
	}
	// Back on the stable colour once the abort is recorded (the Lease is
	// released then, the candidate's scale-down may follow later), within
	// cfg.Timeout.
	deadline = time.Now().Add(cfg.Timeout)
	for res.Status.State.Phase == PhaseProgressing || res.Status.State.Phase == PhasePromoted && res.Status.Holder == st.Holder {
		if !time.Now().Before(deadline) {
			if res.Status.State.Phase == PhasePromoted {
				break // its scale-down of the old colour holds the Lease
			}
			return res, fmt.Errorf("%q answered abort, but the rollout is still %s (%d %% on the candidate) after %s: the abort did not finish; "+
				"run control abort again (with no promote running it rolls the rollout back) or rollback", st.Holder, res.Status.State.Phase, res.Status.State.Weight, cfg.Timeout)
		}
		if err := sleep(ctx, CommandPoll/2); err != nil {
			return res, err
		}
		if res.Status, err = ReadStatus(ctx, cfg.Target); err != nil {
			return res, err
		}
	}
	if res.Status.State.Phase == PhasePromoted {
		// The promotion ended between reading the abort and obeying it.
		return res, fmt.Errorf("%q answered abort, but the promotion completed first: %s is live on %s; to undo it, roll back",
			st.Holder, res.Status.State.ActiveImage, res.Status.State.ActiveColor)
	}
	return res, nil
}

// ReadStatus reads the rollout state on the Service, its Lease and the
// command channel.
func ReadStatus(ctx context.Context, t Target) (*Status, error) {
	svc, err := t.Client.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading service %q: %w", t.Service, err)
	}
	st := &Status{State: ReadState(svc), Weight: -1}
	if err := st.State.checkApp(t.App); err != nil {
		return nil, err
	}
	if raw := svc.Annotations[AnnotationCommand]; raw != "" {
		var c Command
		if json.Unmarshal([]byte(raw), &c) == nil {
			st.LastCommand = &c
		}
	}
	if raw := svc.Annotations[AnnotationAck]; raw != "" {
		var a Ack
		if json.Unmarshal([]byte(raw), &a) == nil {
			st.LastAck = &a
		}
	}
	if st.Holder, err = kube.LeaseHolder(ctx, t.Client, t.Namespace, t.leaseName()); err != nil {
		return nil, err
	}
	if st.State.Router != "" && st.State.CandidateColor != "" && st.State.ActiveColor != "" {
		tc := t
		tc.HTTPRoute, tc.Ingress = st.State.HTTPRoute, st.State.Ingress
		if r, err := traffic.NewRouter(st.State.Router, tc.routerConfig()); err == nil {
			if w, err := r.Weight(ctx, st.State.ActiveColor, st.State.CandidateColor); err == nil {
				st.Weight = w
			}
		}
	}
	return st, nil
}

// summarize writes a measurement in a line, for the state on the Service.
func summarize(results []analysis.Result) string {
	parts := make([]string, 0, len(results))
	at := time.Time{}
	for _, r := range results {
		parts = append(parts, fmt.Sprintf("%s %s (%s) %s", r.Name, r.Current(), r.Threshold, r.Status))
		if r.At.After(at) {
			at = r.At
		}
	}
	s := strings.Join(parts, "; ")
	if !at.IsZero() {
		s += " at " + at.UTC().Format(time.RFC3339)
	}
	return s
}
