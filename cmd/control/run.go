package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Inputs are control's inputs, parsed and checked.
type Inputs struct {
	traffic.App
	Verb, Reason        string
	AckTimeout, Timeout time.Duration
	Kube                *kube.Config
	Owner               string
	Notify              notify.Group
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	p := Inputs{App: cluster.App(in), Verb: in.Enum("command"), Reason: in.String("reason")}
	p.AckTimeout, p.Timeout = positive(in, "ack-timeout"), positive(in, "timeout")
	p.Kube = cluster.Parse(a, in)
	p.Notify = notify.Parse(a, in)
	gh, err := a.Context()
	p.Owner = kube.Holder(gh.Repository, gh.RunID, "control")
	if gh.Actor != "" {
		p.Owner += " (" + gh.Actor + ")"
	}
	if err := errors.Join(in.Err(), err); err != nil {
		return Inputs{}, err
	}
	return p, nil
}

// positive reads a duration input that must be above 0, with one error
// when it is not.
func positive(in *action.Inputs, name string) time.Duration {
	d, err := action.ParseDuration(in.String(name))
	if err == nil && d <= 0 {
		in.Fail(name, "must be above 0")
	}
	return in.Duration(name) // reports a value that is not a duration
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	client, err := in.Kube.Clientset()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(in.Kube.REST())
	if err != nil {
		return err
	}
	res, cerr := rollout.Control(ctx, rollout.ControlConfig{
		Target: rollout.Target{App: in.App, Client: client, Dynamic: dyn, Owner: in.Owner, Timeout: in.Timeout,
			InterruptGrace: action.StopGrace / 2,
			OnEvent:        func(e rollout.Event) { a.Infof("%s", e.Message) }},
		Verb: in.Verb, Reason: in.Reason, AckTimeout: in.AckTimeout,
	})
	if res == nil || res.Status == nil {
		return cerr
	}
	if res.Ack != nil && res.Ack.Refused {
		a.Warningf("refused", "%s: %s", in.Verb, res.Ack.Result)
	} else if ev, ok := controlEvent(in, res, cerr); ok {
		nt := in.Notify.Notifier(a, "")
		nt.Notify(ev)
		notify.Close(ctx, nt)
	}
	st := res.Status
	answer := ""
	if res.Ack != nil {
		answer = res.Ack.Result
	}
	err = errors.Join(cerr, a.SetOutputs("phase", st.State.Phase, "active-color", st.State.ActiveColor,
		"candidate-image", st.State.CandidateImage, "step", strconv.Itoa(st.State.Step), "weight", strconv.Itoa(st.State.Weight),
		"paused", st.State.Paused, "holder", st.Holder, "analysis", st.State.Analysis, "answer", answer),
		a.AddSummary(summary(in, res)))
	if err == nil && res.Undone != nil {
		a.Noticef("undone", "no promote was running: the half-done rollout was rolled back to %s in %s", res.Undone.ActiveColor, res.Undone.Duration.Round(time.Millisecond))
	}
	return err
}

// controlEvent is the notification of a verb that changed something:
// pause and resume as a hold and a resume, abort, promote-full as a step.
// status notifies nothing.
func controlEvent(in Inputs, res *rollout.ControlResult, cerr error) (pkgnotify.Event, bool) {
	kinds := map[string]pkgnotify.Kind{rollout.VerbPause: pkgnotify.Hold, rollout.VerbResume: pkgnotify.Resume,
		rollout.VerbAbort: pkgnotify.Abort, rollout.VerbPromoteFull: pkgnotify.Step}
	kind, ok := kinds[in.Verb]
	if !ok {
		return pkgnotify.Event{}, false
	}
	st := res.Status.State
	ev := pkgnotify.Event{Kind: kind, Action: "control", Service: in.Namespace + "/" + in.Service, Image: st.CandidateImage,
		StableImage: st.ActiveImage, Weight: st.Weight, Reason: in.Reason,
		Title: fmt.Sprintf("control %s: %s by %s", in.Namespace+"/"+in.Service, in.Verb, in.Owner)}
	switch {
	case cerr != nil:
		ev.Kind, ev.Message = pkgnotify.Failure, cerr.Error()
	case res.Ack != nil:
		ev.Message = res.Ack.Result
	case res.Undone != nil:
		ev.Kind, ev.Duration = pkgnotify.Rollback, res.Undone.Duration
		ev.Message = fmt.Sprintf("no promote was running: the half-done rollout was rolled back to %s", res.Undone.ActiveColor)
	}
	return ev, true
}

// summary is the step summary: what was asked, the answer, and the
// rollout's state after it.
func summary(in Inputs, res *rollout.ControlResult) string {
	st := res.Status
	rows := [][]string{{"service", in.Namespace + "/" + in.Service}, {"command", in.Verb}}
	if in.Reason != "" {
		rows = append(rows, []string{"reason", in.Reason})
	}
	if res.Ack != nil {
		rows = append(rows, []string{"answer", fmt.Sprintf("%s (%s)", res.Ack.Result, report.Code(res.Ack.Holder))})
	}
	if res.Undone != nil {
		rows = append(rows, []string{"undone", fmt.Sprintf("no promote was running: rolled back to %s in %s", res.Undone.ActiveColor, res.Undone.Duration.Round(time.Millisecond))})
	}
	holder := "none"
	if st.Holder != "" {
		holder = report.Code(st.Holder)
	}
	weight := ""
	if st.State.Phase == rollout.PhaseProgressing {
		weight = fmt.Sprintf("%d %%", st.State.Weight)
		if st.Weight >= 0 && math.Abs(float64(st.Weight-st.State.Weight)) > traffic.WeightTolerance {
			weight += fmt.Sprintf(" (the router's objects say %d %%)", st.Weight)
		}
	}
	rows = append(rows,
		[]string{"phase", st.State.Phase}, []string{"live colour", st.State.ActiveColor},
		[]string{"candidate", report.Code(st.State.CandidateImage)}, []string{"steps completed", strconv.Itoa(st.State.Step)},
		[]string{"weight", weight}, []string{"held", st.State.Paused}, []string{"lease holder", holder},
		[]string{"last analysis", st.State.Analysis})
	if st.State.Reason != "" {
		rows = append(rows, []string{"recorded reason", st.State.Reason})
	}
	return "### control: " + in.Verb + "\n\n" + report.Table([]string{"", ""}, rows) + "\n"
}
