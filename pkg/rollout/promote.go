package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// promotion is one run of Promote.
type promotion struct {
	cfg          *Config
	res          *Result
	st           State
	stable, cand string
	replicas     int32
	// scaleDownPending: promoted; the old colour goes after the delay.
	scaleDownPending bool
	// h is the held Lease; ctl the commands the run heard.
	h   *held
	ctl *controller
	// gateInconclusive counts the alert gates that could not ask.
	gateInconclusive int
}

// Promote rolls cfg.Image out to the idle colour and moves the traffic to
// it, blue-green or in steps, with analysis; see the package doc. On
// ErrAborted the traffic is back on the stable colour.
func Promote(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	res := &Result{Started: time.Now(), Image: cfg.Image}
	ctx, stop := cfg.withHardStop(ctx)
	defer stop()
	h, err := cfg.lockAndWatch(ctx)
	if err != nil {
		return nil, err
	}
	p := &promotion{cfg: &cfg, res: res, h: h, ctl: newController(h.since)}
	cfg.ctl = p.ctl
	cfg.measured = func(results []analysis.Result) {
		p.st.Analysis = summarize(results)
		_ = p.record(h.ctx)
	}
	lctx, stopListening := context.WithCancel(h.ctx)
	go cfg.listen(lctx, p.ctl, h.stop)
	err = p.run(h.ctx)
	stopListening()
	h.release()
	if err == nil && p.scaleDownPending {
		p.scaleDown(ctx)
	}
	res.Duration = time.Since(res.Started)
	return res, err
}

func (p *promotion) run(ctx context.Context) error {
	c := p.cfg
	svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, c.Service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && c.Chart != nil {
		return p.install(ctx)
	}
	if err != nil {
		return fmt.Errorf("reading service %q: %w", c.Service, err)
	}
	p.st = ReadState(svc)
	if err := p.st.checkApp(c.App); err != nil {
		return err
	}
	if p.stable, err = c.activeColour(ctx, svc, p.st); err != nil {
		return err
	}
	p.cand = Other(p.stable)
	c.live = p.stable
	live, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, c.DeploymentName(p.stable), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the live colour's deployment: %w", err)
	}
	stableImage, err := imageOf(live, c.Container)
	if err != nil {
		return err
	}
	p.res.ActiveColor, p.res.PreviousColor, p.res.PreviousImage = p.stable, p.cand, p.st.PreviousImage
	p.replicas = kube.DesiredReplicas(live)
	if p.st.Replicas > p.replicas {
		p.replicas = p.st.Replicas
	}
	// A release is a new image or, from a chart, anything else that
	// renders differently.
	changed := stableImage != c.Image
	if !changed && c.Chart != nil {
		same, err := c.Chart.rendersAs(c.App, p.stable)
		if err != nil {
			return err
		}
		changed = !same
	}
	if changed || p.st.Phase == PhaseProgressing {
		if err := p.checkWeights(); err != nil {
			return err
		}
		if err := p.checkAutoscalers(ctx); err != nil {
			return err
		}
	}
	start := 0
	switch {
	case p.st.Phase == PhaseProgressing && p.st.CandidateImage == c.Image && p.st.CandidateColor == p.cand && p.candidateRendered(ctx):
		start, p.res.Resumed = p.st.Step, true
		c.emit("resume", p.st.Weight, "resuming the rollout of %s at step %d", c.Image, start+1)
	case p.st.Phase == PhaseProgressing:
		c.emit("reset", 0, "a rollout of %s to %s was left half done; returning traffic to %s first", p.st.CandidateImage, p.st.CandidateColor, p.stable)
		if err := p.returnToStable(ctx, "superseded by "+c.Image, 0); err != nil {
			return err
		}
	case !changed:
		p.res.Outcome, p.res.Image = Unchanged, c.Image
		p.res.Reason = fmt.Sprintf("%s already serves %s", p.stable, c.Image)
		if c.Chart != nil {
			p.res.Reason += " rendered from the same chart and values"
			// The shared objects are the same for either colour: a change
			// to them alone (a port, the NetworkPolicy) needs no colour and
			// moves no traffic, so it is applied here.
			updated, err := c.Chart.applyShared(ctx, c.App, p.stable, c.Timeout)
			if err != nil {
				return err
			}
			if updated {
				p.res.Reason += fmt.Sprintf("; the shared objects changed and were applied (release %s)", c.Chart.releaseName(c.App, PartShared))
			}
		}
		return p.resumeScaleDown(ctx)
	}
	p.res.PreviousImage = stableImage
	if !p.res.Resumed {
		// Nothing has changed yet: a critical alert on the live service
		// refuses the release outright.
		if err := p.alertGate(ctx, "before the promotion"); err != nil {
			p.res.Outcome, p.res.ActiveColor, p.res.PreviousColor, p.res.Reason = Aborted, p.stable, p.cand, err.Error()
			return err
		}
	}
	if p.res.Resumed && p.st.Paused != "" {
		// A killed run was held for a person, who has not judged yet: hold
		// again, unless a resume comes first. The hold records itself anew.
		p.ctl.pause(Command{Verb: VerbPause, By: "a hold recorded before the restart (" + p.st.Paused + ")"})
		p.st.Paused = ""
	}
	if !p.res.Resumed {
		p.st = State{Phase: PhaseProgressing, ActiveColor: p.stable, ActiveImage: stableImage,
			PreviousColor: p.st.PreviousColor, PreviousImage: p.st.PreviousImage,
			CandidateColor: p.cand, CandidateImage: c.Image, StartedAt: time.Now(), Replicas: p.replicas}
	}
	if err := p.prepare(ctx, live); err != nil {
		return p.abort(ctx, err)
	}
	// Held before the first step (pause-at 0: the candidate is up and
	// checked, no traffic on it), or again where a killed run was held.
	if (start == 0 && slices.Contains(c.PauseAt, 0)) || p.ctl.pauseRequested() != nil {
		if err := p.hold(ctx, p.st.Weight); err != nil {
			return p.abort(ctx, err)
		}
	}
	last := len(c.Steps) - 1
	for i := start; i < len(c.Steps); i++ {
		if full := p.ctl.fullRequested(); full != nil && i < last {
			c.emit("skip", c.Steps[last], "%s: skipping steps %v", full, c.Steps[i:last])
			i = last
		}
		// No step is left to hold before once the last begins: a pause
		// heard since the last look holds here, later ones are refused.
		if i == last && p.ctl.closeHolds() != nil {
			if err := p.hold(ctx, p.st.Weight); err != nil {
				return p.abort(ctx, err)
			}
		}
		err := p.step(ctx, i)
		if errors.Is(err, errFull) {
			i = last - 1 // the loop's next step is the last
			continue
		}
		if err != nil {
			return p.abort(ctx, err)
		}
		if i < last && (slices.Contains(c.PauseAt, c.Steps[i]) || p.ctl.pauseRequested() != nil) {
			if err := p.hold(ctx, c.Steps[i]); err != nil {
				return p.abort(ctx, err)
			}
		}
	}
	return p.finish(ctx)
}

// hold keeps the traffic at weight until a person resumes the rollout or
// promotes it fully, or aborts it; after PauseTimeout it aborts. Analysis
// and the guard go on judging the candidate meanwhile, and the time held
// does not count against the run's timeout.
func (p *promotion) hold(ctx context.Context, weight int) error {
	c := p.cfg
	by := p.ctl.beginHold(Command{Verb: VerbPause, By: fmt.Sprintf("pause-at %d", weight)})
	ph := p.begin(fmt.Sprintf("hold at %d %%", weight), weight)
	started := time.Now()
	who := by.String()
	if strings.HasPrefix(by.By, "pause-at ") {
		who = by.By
	}
	p.st.Paused = fmt.Sprintf("held at %d %% since %s (%s)", weight, started.UTC().Format(time.RFC3339), who)
	if err := p.record(ctx); err != nil {
		p.ctl.endHold()
		return err
	}
	c.emit("hold", weight, "holding at %d %% until resume or promote-full (%s); aborting after %s", weight, who, c.PauseTimeout)
	resumeTimeout := p.h.suspend()
	judge := c.measure
	if _, scales := c.router.(traffic.Scaler); weight == 0 && (c.Preview == nil || scales) {
		// No traffic on the candidate, and no preview exercising it (or, on
		// the replicas router, no pod of it yet): there is nothing to
		// measure, as before the first step.
		judge = func(ctx context.Context, ph *Phase, _ string, window time.Duration) error {
			return c.wait(ctx, ph, window)
		}
	}
	err := judge(ctx, ph, p.cand, c.PauseTimeout)
	resumeTimeout()
	ended := p.ctl.endHold()
	p.st.Paused = ""
	switch {
	case errors.Is(err, errHoldOver) && ended != nil:
		p.end(ph, ended.Verb+" by "+ended.By)
		c.emit("resume", weight, "%s after %s held", ended, time.Since(started).Round(time.Second))
		return p.record(ctx)
	case err == nil:
		p.end(ph, "timed out")
		return fmt.Errorf("%w: held at %d %% for %s with no resume or promote-full (pause-timeout)", ErrAborted, weight, c.PauseTimeout)
	}
	p.end(ph, ph.Status)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// alertGate asks for the firing alerts matching the gate: a critical one
// is an error wrapping ErrAborted and analysis.ErrAlertFiring, warnings
// are reported as events, and an unreachable Prometheus is an error unless
// the inconclusive limit allows one (each gate that could not ask counts).
func (p *promotion) alertGate(ctx context.Context, when string) error {
	c := p.cfg
	if c.Alerts == nil {
		return nil
	}
	vars := analysis.Vars{Namespace: c.Namespace, Deployment: c.DeploymentName(p.cand), Color: p.cand, Service: c.Service}
	warnings, err := c.Alerts.Gate(ctx, vars)
	for _, a := range warnings {
		c.emit("alerts", -1, "%s: %s is firing", when, a)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, analysis.ErrInconclusive) && p.gateInconclusive < c.InconclusiveLimit:
		p.gateInconclusive++
		c.emit("alerts", -1, "%s: the alerts could not be read (%v); going on (%d of %d inconclusive allowed)", when, err, p.gateInconclusive, c.InconclusiveLimit)
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrAborted, when, err)
}

// candidateRendered reports whether the candidate colour's release is this
// run's render (a chart's), so a killed run of the same release resumes
// instead of starting over. Without a chart only the image tells.
func (p *promotion) candidateRendered(ctx context.Context) bool {
	c := p.cfg
	if c.Chart == nil {
		return true
	}
	same, err := c.Chart.rendersAs(c.App, p.cand)
	return err == nil && same
}

// checkWeights refuses, before anything changes, steps the router cannot
// meet: the replicas router's weights are multiples of 100/replicas, and
// with the strategy's 3 replicas "10 %" would be 33 %.
func (p *promotion) checkWeights() error {
	c := p.cfg
	if _, scales := c.router.(traffic.Scaler); !scales || c.Strategy != Canary {
		return nil
	}
	bad, reachable := traffic.Unreachable(p.replicas, c.Steps)
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: steps %v: with %d replicas the %s router cannot reach %v within %.1f points (it can reach %v %%); "+
		"give steps it reaches, more replicas, or traffic-router gateway-api or nginx, which split requests, not pods",
		ErrUnreachableWeights, c.Steps, p.replicas, c.Router, bad, traffic.WeightTolerance, reachable)
}

// resumeScaleDown finishes the scale-down of the old colour that a
// promotion of the same image left undone (killed in its scale-down delay):
// the rerun converges on the state a completed run leaves.
func (p *promotion) resumeScaleDown(ctx context.Context) error {
	c := p.cfg
	if p.st.Phase != PhasePromoted || p.st.PreviousColor != p.cand {
		return nil
	}
	old, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, c.DeploymentName(p.cand), metav1.GetOptions{})
	if err != nil || kube.DesiredReplicas(old) == 0 {
		return nil
	}
	p.res.Reason += fmt.Sprintf("; %s, left scaled up by an earlier run, is scaled down after the delay", p.cand)
	// scaleDown scales p.stable, the colour a promotion leaves behind.
	p.stable, p.cand = p.cand, p.stable
	p.scaleDownPending = true
	return nil
}

// activeColour is the recorded active colour, else the Service's selector.
func (t *Target) activeColour(ctx context.Context, svc *corev1.Service, st State) (string, error) {
	c := st.ActiveColor
	if c == "" {
		c = svc.Spec.Selector[t.ColorLabel]
	}
	if c == "" {
		// No state yet, and a selector over both colours (the usual
		// set-up for a replica-ratio canary): the colour with replicas is
		// the live one.
		return t.colourWithReplicas(ctx, svc)
	}
	if c != "blue" && c != "green" {
		return "", fmt.Errorf("service %q: the live colour is %q (selector %s); want blue or green", svc.Name, c, t.ColorLabel)
	}
	return c, nil
}

// colourWithReplicas is the one colour whose Deployment has replicas; with
// both or neither, which one is live cannot be told.
func (t *Target) colourWithReplicas(ctx context.Context, svc *corev1.Service) (string, error) {
	var with []string
	counts := map[string]string{}
	for _, colour := range []string{"blue", "green"} {
		d, err := t.Client.AppsV1().Deployments(t.Namespace).Get(ctx, t.DeploymentName(colour), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			counts[colour] = "does not exist"
			continue
		case err != nil:
			return "", fmt.Errorf("reading deployment %q: %w", t.DeploymentName(colour), err)
		}
		n := kube.DesiredReplicas(d)
		counts[colour] = fmt.Sprintf("has %d replicas", n)
		if n > 0 {
			with = append(with, colour)
		}
	}
	if len(with) == 1 {
		return with[0], nil
	}
	return "", fmt.Errorf("service %q selects no colour (no %s in its selector) and %s %s while %s %s: which colour is live cannot be told; "+
		"put %s: blue or %s: green in the Service's selector, or scale the colour that is not live to 0",
		svc.Name, t.ColorLabel, t.DeploymentName("blue"), counts["blue"], t.DeploymentName("green"), counts["green"], t.ColorLabel, t.ColorLabel)
}

// prepare makes the idle colour, waits for it and runs the pre-promotion
// checks.
func (p *promotion) prepare(ctx context.Context, liveDep *appsv1.Deployment) error {
	c := p.cfg
	ph := p.begin("create "+p.cand, -1)
	replicas := p.replicas
	if _, scales := c.router.(traffic.Scaler); scales {
		replicas = 0 // the router grows it step by step
		if p.res.Resumed {
			if cur, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, c.DeploymentName(p.cand), metav1.GetOptions{}); err == nil {
				replicas = kube.DesiredReplicas(cur)
			}
		}
	}
	if err := p.record(ctx); err != nil {
		return err
	}
	name := c.DeploymentName(p.cand)
	if cur, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, name, metav1.GetOptions{}); err == nil && !p.res.Resumed && kube.DesiredReplicas(cur) == 0 {
		// An aborted release's pods may still be draining: until they are
		// gone the colour's own Service, and so a probe of it, can reach
		// them, and a new release would be judged on the old one's answers.
		if err := kube.WaitPodsGone(ctx, c.Client, cur, c.Timeout); err != nil {
			return err
		}
	}
	if c.Chart != nil {
		if err := p.renderCandidate(ctx, liveDep, replicas); err != nil {
			return err
		}
	} else {
		d, err := candidateFrom(liveDep, name, c.ColorLabel, p.cand, c.Container, c.Image, replicas)
		if err != nil {
			return err
		}
		c.emit("create", 0, "deploying %s to %s", c.Image, name)
		if err := applyDeployment(ctx, c.Client, d); err != nil {
			return err
		}
	}
	if replicas > 0 {
		if _, err := kube.WaitAvailable(ctx, c.Client, c.Namespace, name, c.Timeout, 0); err != nil {
			return err
		}
	}
	p.end(ph, "done")
	if p.res.Resumed && p.st.Step > 0 {
		return nil
	}
	ph = p.begin("pre-promotion", -1)
	// A router that scales the colours (replicas) gives the candidate its
	// first pods with its first step: before that there is nothing to
	// check, and the step's analysis judges them. Any other router sends
	// traffic to the pods there are, none when the live colour has none:
	// the check runs, and fails.
	_, scales := c.router.(traffic.Scaler)
	checked := c.Preview != nil && (replicas > 0 || !scales)
	if checked {
		if err := c.Preview(ctx, p.cand); err != nil {
			p.end(ph, "fail")
			return fmt.Errorf("%w: pre-promotion health of %s: %w", ErrAborted, p.cand, err)
		}
	}
	// The idle colour has traffic to measure only when the preview was
	// exercised; without it the analysis waits for the first step.
	if c.Analysis != nil && c.Preview != nil && !scales {
		if err := c.measure(ctx, ph, p.cand, 0); err != nil {
			p.end(ph, ph.Status)
			return err
		}
	}
	if !checked {
		// Nothing judged the candidate here: the summary says so.
		p.end(ph, "skipped")
		return nil
	}
	p.end(ph, "pass")
	return nil
}

// step moves traffic to step i's weight and analyses it for its pause.
func (p *promotion) step(ctx context.Context, i int) error {
	c := p.cfg
	w := c.Steps[i]
	ph := p.begin(fmt.Sprintf("%d %%", w), w)
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if err := p.alertGate(ctx, fmt.Sprintf("before %d %%", w)); err != nil {
		p.end(ph, "fail")
		return err
	}
	c.emit("step", w, "%d %% traffic on %s", w, p.cand)
	if c.trafficSince.IsZero() {
		c.trafficSince = time.Now()
	}
	if err := c.router.Route(ctx, p.stable, p.cand, w); err != nil {
		p.end(ph, "fail")
		return fmt.Errorf("moving %d %% of traffic to %s: %w", w, p.cand, err)
	}
	if obs, err := c.router.Weight(ctx, p.stable, p.cand); err == nil {
		ph.Observed = obs
	}
	p.st.Weight = w
	if err := p.record(ctx); err != nil {
		return err
	}
	if i < len(c.Steps)-1 {
		// promote-full cuts the pause of any step but the last short.
		p.ctl.setMode(waitStep)
		defer p.ctl.setMode(waitOther)
	}
	if err := c.measure(ctx, ph, p.cand, c.pause(i)); err != nil {
		if errors.Is(err, errFull) {
			p.end(ph, "cut short: "+p.ctl.fullRequested().String())
			p.st.Step, p.res.StepsCompleted = i+1, i+1
			if err := p.record(ctx); err != nil {
				return err
			}
			return errFull
		}
		p.end(ph, ph.Status)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	p.end(ph, ph.Status)
	if c.OnEvent != nil {
		e := Event{Phase: "measured", Weight: w, Message: fmt.Sprintf("%d %% on %s: %s", w, p.cand, ph.Status), Live: c.live}
		if n := len(ph.Measurements); n > 0 {
			e.Results = ph.Measurements[n-1]
		}
		c.OnEvent(e)
	}
	p.st.Step = i + 1
	p.res.StepsCompleted = i + 1
	return p.record(ctx)
}

// finish makes the new colour the live one, watches it for the
// post-promotion window, then scales the old colour down after the delay.
func (p *promotion) finish(ctx context.Context) error {
	c := p.cfg
	if err := c.switchWhenAvailable(ctx, p.cand); err != nil {
		return p.abort(ctx, err)
	}
	if _, splits := c.router.(traffic.Splitter); splits {
		// The new colour is stable now: leave no weight on the old one.
		if err := c.router.Route(ctx, p.cand, p.stable, 0); err != nil {
			return p.abort(ctx, err)
		}
	}
	p.st = State{Phase: PhasePromoted, ActiveColor: p.cand, ActiveImage: c.Image, PreviousColor: p.stable,
		PreviousImage: p.st.ActiveImage, StartedAt: p.st.StartedAt, Step: len(c.Steps), Weight: 100, Replicas: p.replicas}
	if err := p.record(ctx); err != nil {
		return err
	}
	p.res.Outcome, p.res.ActiveColor, p.res.PreviousColor = Promoted, p.cand, p.stable
	p.res.StepsCompleted = len(c.Steps)
	c.live = p.cand
	c.emit("promoted", 100, "%s is live on %s", c.Image, p.cand)
	if c.PostPromotionWindow > 0 || c.Analysis != nil {
		ph := p.begin("post-promotion", 100)
		if err := c.measure(ctx, ph, p.cand, c.PostPromotionWindow); err != nil {
			p.end(ph, ph.Status)
			return p.switchBack(ctx, err)
		}
		p.end(ph, ph.Status)
	}
	p.scaleDownPending = true
	return nil
}

// scaleDown scales the old colour to zero after the delay, run after the
// Lease is released so a rollback need not wait for it. It takes the Lease
// again and skips the scale-down if the old colour is live again.
func (p *promotion) scaleDown(ctx context.Context) {
	c := p.cfg
	ph := p.begin("scale down "+p.stable, -1)
	if err := sleep(ctx, c.ScaleDownDelay); err != nil {
		p.end(ph, "skipped")
		p.res.Reason = fmt.Sprintf("%s left scaled up: %v", p.stable, err)
		return
	}
	lock, err := kube.AcquireLease(ctx, c.Client, c.Namespace, c.leaseName(), kube.LeaseOptions{Holder: c.Owner, Duration: c.LeaseDuration})
	if err != nil {
		p.end(ph, "skipped")
		p.res.Reason = fmt.Sprintf("%s left scaled up: %v", p.stable, err)
		return
	}
	defer func() {
		rctx, done := detach(ctx)
		defer done()
		_ = lock.Release(rctx)
	}()
	svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, c.Service, metav1.GetOptions{})
	if err == nil {
		if st := ReadState(svc); st.ActiveColor != p.cand || st.Phase != PhasePromoted || svc.Spec.Selector[c.ColorLabel] == p.stable {
			err = fmt.Errorf("the live Service changed since (phase %q, active %q)", st.Phase, st.ActiveColor)
		}
	}
	if err == nil {
		err = kube.Scale(ctx, c.Client, c.Namespace, c.DeploymentName(p.stable), 0)
	}
	if err == nil {
		// Return once its pods are gone, so a rollback starts from a settled colour.
		err = kube.WaitScaled(ctx, c.Client, c.Namespace, c.DeploymentName(p.stable), c.Timeout)
	}
	if err != nil {
		p.end(ph, "skipped")
		p.res.Reason = fmt.Sprintf("%s left scaled up: %v", p.stable, err)
		return
	}
	p.end(ph, "done")
}

// switchBack undoes a promotion whose post-promotion analysis failed.
func (p *promotion) switchBack(ctx context.Context, cause error) error {
	c := p.cfg
	p.st = State{Phase: PhaseProgressing, ActiveColor: p.stable, ActiveImage: p.res.PreviousImage,
		CandidateColor: p.cand, CandidateImage: c.Image, Step: len(c.Steps), Weight: 100, StartedAt: p.st.StartedAt, Replicas: p.replicas}
	p.res.ActiveColor, p.res.PreviousColor = p.stable, p.cand
	c.live = p.stable
	return p.abort(ctx, cause)
}

// abort returns all traffic to the stable colour at once, records it, and
// scales the candidate to zero after the delay. It finishes even when ctx
// was cancelled (SIGTERM, timeout), but not when the Lease was lost: the
// new holder owns the traffic then.
func (p *promotion) abort(ctx context.Context, cause error) error {
	if errors.Is(context.Cause(ctx), ErrLeaseLost) {
		p.res.Outcome, p.res.Reason = Aborted, ErrLeaseLost.Error()
		return fmt.Errorf("%w; stopped without moving traffic (step %d)", ErrLeaseLost, p.st.Step)
	}
	if ctx.Err() != nil && !strings.Contains(cause.Error(), context.Cause(ctx).Error()) {
		cause = fmt.Errorf("%w (%w)", cause, context.Cause(ctx))
	}
	c := p.cfg
	c.emit("abort", 0, "aborting: %v", cause)
	// The way back has 5 minutes after a failed analysis or a timeout.
	// After an interruption it has what the hard stop leaves, seconds: it
	// takes the fast way.
	actx, cancel := detach(ctx)
	defer cancel()
	actx, cancelTimeout := context.WithTimeout(actx, 5*time.Minute)
	defer cancelTimeout()
	back, delay := p.returnToStable, c.ScaleDownDelay
	switch {
	case interrupted(ctx):
		back = p.returnAtOnce
	case errors.Is(context.Cause(ctx), ErrPreempted):
		// A rollback waits for the Lease: the candidate goes at once, its
		// pods draining while the rollback runs.
		delay = 0
	}
	if err := back(actx, cause.Error(), delay); err != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrAborted, cause), err)
	}
	p.res.Outcome, p.res.ActiveColor, p.res.PreviousColor = Aborted, p.stable, p.cand
	p.res.Reason = cause.Error()
	if errors.Is(cause, ErrAborted) {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrAborted, cause)
}

// returnAtOnce is the way back of an interrupted run, which has seconds
// (InterruptGrace). It tries the router's own way back first, for three
// fifths of that: it keeps the live Service's capacity (the stable colour
// is back at its replicas before the candidate goes). When that does not
// fit (a new pod takes longer to start), traffic leaves the candidate at
// once anyway: the live Service selects the stable colour as it is, or,
// when the stable colour is still growing, the candidate is scaled to zero
// (its terminating pods leave the endpoints) while the stable colour comes
// back up on its own. Either way the abort is recorded, and a candidate
// left up is said to be.
func (p *promotion) returnAtOnce(ctx context.Context, reason string, _ time.Duration) error {
	c := p.cfg
	fctx, cancel := context.WithTimeout(ctx, c.InterruptGrace*3/5)
	err := c.router.Route(fctx, p.stable, p.cand, 0)
	if err == nil {
		err = traffic.SwitchSelector(fctx, c.routerConfig(), p.stable)
	}
	cancel()
	if err != nil && ctx.Err() == nil {
		c.emit("abort", 0, "no time for the full way back (%v): taking traffic off %s at once", err, p.cand)
		err = p.offCandidate(ctx)
	}
	if err != nil {
		return fmt.Errorf("returning traffic to %s: %w", p.stable, err)
	}
	p.st.Phase, p.st.Weight, p.st.Reason = PhaseAborted, 0, reason
	if err := p.record(ctx); err != nil {
		return err
	}
	cand := c.DeploymentName(p.cand)
	if d, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, cand, metav1.GetOptions{}); err == nil && kube.DesiredReplicas(d) > 0 {
		c.emit("abort", 0, "%s left up without traffic (%d replicas): interrupted, there is no time for its scale-down", cand, kube.DesiredReplicas(d))
	}
	return nil
}

// offCandidate takes traffic off the candidate without waiting for pods.
// A replica-scaling router's stable colour is scaled back to its replicas
// and the candidate to zero; other routers switch the selector (their
// stable colour kept its replicas) and follow with their own weights.
func (p *promotion) offCandidate(ctx context.Context) error {
	c := p.cfg
	if _, ok := c.router.(traffic.Scaler); ok {
		if err := kube.Scale(ctx, c.Client, c.Namespace, c.DeploymentName(p.stable), p.replicas); err != nil {
			return err
		}
		return kube.Scale(ctx, c.Client, c.Namespace, c.DeploymentName(p.cand), 0)
	}
	if err := traffic.SwitchSelector(ctx, c.routerConfig(), p.stable); err != nil {
		return err
	}
	if f, ok := c.router.(traffic.Follower); ok {
		return f.Follow(ctx, p.stable)
	}
	return nil
}

// returnToStable routes everything to the stable colour, records the
// abort, and scales the half-done colour (the recorded candidate) to zero
// after delay.
func (p *promotion) returnToStable(ctx context.Context, reason string, delay time.Duration) error {
	c := p.cfg
	cand := p.st.CandidateColor
	if cand == "" {
		cand = p.cand
	}
	if err := c.router.Route(ctx, p.stable, cand, 0); err != nil {
		return fmt.Errorf("returning traffic to %s: %w", p.stable, err)
	}
	if err := c.switchWhenAvailable(ctx, p.stable); err != nil {
		return fmt.Errorf("returning traffic to %s: %w", p.stable, err)
	}
	p.st.Phase, p.st.Weight, p.st.Reason = PhaseAborted, 0, reason
	if err := p.record(ctx); err != nil {
		return err
	}
	ph := p.begin("abort: scale down "+cand, -1)
	_ = sleep(ctx, delay)
	if err := kube.Scale(ctx, c.Client, c.Namespace, c.DeploymentName(cand), 0); err != nil {
		p.end(ph, "fail")
		return err
	}
	p.end(ph, "done")
	return nil
}

// record writes the state on the live Service.
func (p *promotion) record(ctx context.Context) error {
	c := p.cfg
	p.st.Owner, p.st.UpdatedAt = c.Owner, time.Now()
	p.st.Deployment, p.st.ColorLabel = c.Deployment, c.ColorLabel
	p.st.Router, p.st.HTTPRoute, p.st.Ingress = c.Router, c.HTTPRoute, c.Ingress
	wctx, done := detach(ctx)
	defer done()
	return kube.AnnotateService(wctx, c.Client, c.Namespace, c.Service, p.st.Annotations())
}

func (p *promotion) begin(name string, weight int) *Phase {
	ph := &Phase{Name: name, Weight: weight, Observed: -1, Start: time.Now()}
	p.res.Phases = append(p.res.Phases, ph)
	return ph
}

func (p *promotion) end(ph *Phase, status string) {
	ph.End, ph.Status = time.Now(), status
}
