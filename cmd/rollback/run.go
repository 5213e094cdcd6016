package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/client-go/dynamic"

	"github.com/fxplatform/deploy-actions/cmd/internal/availability"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	progressgw "github.com/fxplatform/deploy-actions/cmd/internal/progress"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/changes"
	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
	"github.com/google/go-containerregistry/pkg/name"
)

// Inputs are rollback's inputs, parsed and checked.
type Inputs struct {
	traffic.App
	Container, To, Reason string
	Preempt               bool
	Replicas              int32
	LockTimeout, Timeout  time.Duration
	Kube                  *kube.Config // nil after an input problem
	GitHub                ghdeploy.Group
	Notify                notify.Group
	Progress              progressgw.Group
	Owner                 string
	Availability          availability.Probe
	// Gate is the signature policy an image given as to must pass before
	// anything changes (off when no verify-* input is set). A colour
	// needs none: it was live once, after its own gate.
	Gate sign.Policy

	// Release, when set, is the Helm release rolled back to Revision
	// (0: the previous one) instead of a colour switch.
	Release  string
	Revision int
	// Migration is the down migration to run with the rollback; nil for
	// none.
	Migration *downMigration
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var p Inputs
	p.App = cluster.App(in)
	parseRelease(in, &p)
	p.Container = in.String("container")
	switch p.To = in.String("to"); {
	case p.Release != "" && p.To != "previous":
		in.Fail("to", "%q cannot be combined with release: a Helm release is rolled back to a revision (input revision)", p.To)
	case p.Release != "", p.To == "previous", p.To == "blue", p.To == "green":
	default:
		if d := in.Digest("to"); d.DigestStr() != "" {
			p.To = d.String()
			p.Gate = gate.Parse(a, in, d)
		}
	}
	p.Reason = in.String("reason")
	p.Preempt = in.Bool("preempt")
	if in.String("replicas") != "" {
		p.Replicas = int32(in.Int("replicas", 1, 1000))
		if p.Release != "" {
			in.Fail("replicas", "scales the colour a rollback restores; a Helm release is rolled back to its revision's own replicas")
		}
	}
	p.Migration = parseDownMigration(in)
	p.LockTimeout = in.Duration("lock-timeout")
	p.Timeout = in.Duration("timeout")
	if p.Timeout <= 0 {
		in.Fail("timeout", "must be above 0")
	}
	p.Kube = cluster.Parse(a, in)
	p.GitHub = ghdeploy.Parse(a, in)
	p.Availability = availability.Parse(in, p.GitHub.URL, "/api/health")
	p.Notify = notify.Parse(a, in)
	p.Progress = progressgw.Parse(in)
	gh, err := a.Context()
	p.Owner = kube.Holder(gh.Repository, gh.RunID, "rollback")
	if err := errors.Join(in.Err(), err); err != nil {
		return Inputs{}, err
	}
	return p, nil
}

// parseRelease reads release and revision, and requires service and
// deployment when no release is given.
func parseRelease(in *action.Inputs, p *Inputs) {
	p.Release = in.String("release")
	if p.Release != "" {
		if err := chartutil.ValidateReleaseName(p.Release); err != nil {
			in.Fail("release", "%q is not a valid release name (lower-case letters, digits and '-', at most 53 characters)", p.Release)
		}
	}
	if in.String("revision") != "" {
		p.Revision = in.Int("revision", 0, math.MaxInt32)
		if p.Release == "" {
			in.Fail("revision", "is set but release is not")
		}
	}
	if p.Release != "" {
		return
	}
	for _, name := range []string{"service", "deployment"} {
		if in.String(name) == "" {
			in.Fail(name, "is required unless release is set")
		}
	}
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	if in.Release != "" {
		return rollbackRelease(ctx, a, in)
	}
	if d, err := name.NewDigest(in.To); err == nil {
		if err := gate.Check(ctx, a, d, in.Gate, "roll back to"); err != nil {
			return err
		}
	}
	client, err := in.Kube.Clientset()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(in.Kube.REST())
	if err != nil {
		return err
	}
	// The down migration's pod and image are those of the release rolled
	// back from: found before anything changes.
	var down *preparedMigration
	if in.Migration != nil {
		if down, err = in.Migration.prepare(ctx, client, in); err != nil {
			return err
		}
	}
	dep, err := in.GitHub.Start(ctx, a, github.Request{Production: true,
		Description: fmt.Sprintf("Rollback of %s to %s: %s", in.Service, in.To, in.Reason),
		Payload:     map[string]any{"rollback": in.To, "service": in.Service, "namespace": in.Namespace, "reason": in.Reason}})
	if err != nil {
		return err
	}
	nt := in.Notify.Notifier(a, notify.DeploymentsURL(a, in.GitHub.Environment))
	defer notify.Close(ctx, nt)
	if down != nil && down.when == beforeSwitch {
		if err := down.run(ctx, a, client); err != nil {
			err = fmt.Errorf("rolling back %s: %w; the traffic was not switched", in.Service, err)
			nt.Notify(rollbackEvent(in, nil, err, changes.Report{}))
			dep.Fail(ctx, "Rollback stopped: the down migration failed")
			return err
		}
	}
	a.Infof("Rolling %s/%s back to %s", in.Namespace, in.Service, in.To)
	probe, err := in.Availability.Start(ctx, in.LockTimeout+in.Timeout+availability.Settle+time.Minute)
	if err != nil {
		return err
	}
	res, rerr := rollout.Rollback(ctx, rollout.RollbackConfig{
		Target: rollout.Target{App: in.App, Client: client, Dynamic: dyn, Owner: in.Owner, LockTimeout: in.LockTimeout, Timeout: in.Timeout,
			InterruptGrace: action.StopGrace / 2,
			OnEvent:        func(e rollout.Event) { a.Infof("%s", e.Message) }},
		To: in.To, Container: in.Container, Reason: in.Reason, Preempt: in.Preempt, Replicas: in.Replicas,
	})
	// A report that cannot be written fails the step, after the GitHub
	// Deployment's final status, which says what the cluster did.
	var report changes.Report
	if res != nil && rerr == nil && !res.Unchanged && res.FromImage != "" && res.FromImage != res.Image {
		report = notify.Changes(ctx, a, in.GitHub.Client(), res.Image, res.FromImage)
	}
	nt.Notify(rollbackEvent(in, res, rerr, report))
	if res != nil && rerr == nil && !res.Unchanged {
		pg := in.Progress.Pusher(a)
		pg.Update(monitoring.Progress{Namespace: in.Namespace, Service: in.Service, Phase: rollout.PhaseRolledBack, Result: rollout.PhaseRolledBack,
			LiveColor: res.ActiveColor, Duration: res.Duration})
		progressgw.Close(ctx, pg)
	}
	var reportErr error
	if res != nil && rerr == nil {
		reportErr = errors.Join(a.SetOutputs("active-color", res.ActiveColor, "image", res.Image,
			"duration", res.Duration.Round(time.Millisecond).String()), a.AddSummary(summary(in, res)+changesSection(res, report)))
	}
	// The probe goes on past the switch, until the Service's new endpoints
	// are in force, so its answers show the version rolled back to; a
	// rollback that failed reports at once.
	var settleUntil time.Time
	if rerr == nil {
		settleUntil = res.Switched.Add(availability.Settle)
	}
	if _, err := in.Availability.Finish(ctx, a, probe, settleUntil); err != nil {
		rerr = errors.Join(rerr, err)
	}
	// After the switch, the old release, which the expand left working,
	// serves while the schema is contracted back.
	switch {
	case rerr != nil || down == nil || down.when != afterSwitch:
	case res.Unchanged:
		// Nothing was rolled back: the pod at hand is the live release's,
		// whose down migration is not this rollback's to run.
		a.Warningf("down migration skipped", "%s was already live on %s: the rollback changed nothing, so its down migration did not run", res.Image, res.ActiveColor)
	default:
		if rerr = down.waitDrained(ctx, a, client, in.Service); rerr == nil {
			rerr = down.run(ctx, a, client)
		}
	}
	if rerr == nil {
		dep.Succeed(ctx, fmt.Sprintf("Rolled back: 100 %% traffic on %s", res.ActiveColor))
	} else {
		dep.Fail(ctx, "Rollback failed")
	}
	if rerr != nil {
		return errors.Join(fmt.Errorf("rolling back %s: %w", in.Service, rerr), reportErr)
	}
	if reportErr != nil {
		return reportErr
	}
	if res.Unchanged {
		a.Noticef("unchanged", "%s is already live on %s", res.Image, res.ActiveColor)
	}
	return nil
}

// rollbackEvent is the notification of a rollback: its duration, and the
// changes it took out of production; or its failure.
func rollbackEvent(in Inputs, res *rollout.RollbackResult, rerr error, report changes.Report) pkgnotify.Event {
	ev := pkgnotify.Event{Action: "rollback", Service: in.Namespace + "/" + in.Service, Environment: in.GitHub.Environment, Reason: in.Reason, Weight: -1}
	if rerr != nil || res == nil {
		ev.Kind, ev.Title, ev.Message = pkgnotify.Failure, "rollback "+ev.Service+": failed", fmt.Sprint(rerr)
		return ev
	}
	ev.Kind, ev.Image, ev.StableImage, ev.Duration, ev.Weight = pkgnotify.Rollback, res.FromImage, res.Image, res.Duration, 100
	ev.Title = fmt.Sprintf("rollback %s: %s live on %s in %s", ev.Service, res.Image, res.ActiveColor, res.Duration.Round(time.Millisecond))
	if res.Unchanged {
		ev.Title = fmt.Sprintf("rollback %s: unchanged, %s already live on %s", ev.Service, res.Image, res.ActiveColor)
	}
	ev.Message, ev.Changes = report.Summary(), notify.ChangeList(report)
	if res.Unchanged || res.FromImage == "" || res.FromImage == res.Image {
		ev.Message = ""
	}
	return ev
}

// changesSection lists the changes the rollback took out of production.
func changesSection(res *rollout.RollbackResult, report changes.Report) string {
	if res.Unchanged || res.FromImage == "" || res.FromImage == res.Image {
		return ""
	}
	return "\n" + report.Markdown()
}

func summary(in Inputs, res *rollout.RollbackResult) string {
	mode := "cold: scaled up first"
	if res.Warm {
		mode = "warm: switched at once"
	}
	if res.Unchanged {
		mode = "unchanged"
	}
	rows := [][]string{
		{"live colour", res.ActiveColor}, {"image", report.Code(res.Image)}, {"was", res.From},
		{"mode", mode}, {"duration", res.Duration.Round(time.Millisecond).String()}, {"reason", in.Reason},
	}
	if res.Preempted != "" {
		stopped := res.Stopped
		if stopped == "" {
			stopped = "it had finished when the rollback took over"
		}
		rows = append(rows, []string{"preempted", fmt.Sprintf("%s (%s)", report.Code(res.Preempted), stopped)})
	}
	return "### rollback\n\n" + report.Table([]string{"", ""}, rows) + "\n"
}
