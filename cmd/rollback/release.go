package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxplatform/deploy-actions/cmd/internal/availability"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"k8s.io/client-go/kubernetes"
)

// rollbackRelease rolls a Helm release back to a revision and waits until
// its workloads are ready: the staging counterpart of a colour switch.
func rollbackRelease(ctx context.Context, a *action.Action, in Inputs) error {
	started := time.Now()
	client, err := helm.New(in.Kube.Getter(), in.Namespace, helm.WithLogger(a.DebugLog("helm")))
	if err != nil {
		return err
	}
	var down *preparedMigration
	var kc kubernetes.Interface
	if in.Migration != nil {
		if kc, err = in.Kube.Clientset(); err != nil {
			return err
		}
		if down, err = in.Migration.prepare(ctx, kc, in); err != nil {
			return err
		}
	}
	description := fmt.Sprintf("Rollback of %s to %s", in.Release, revisionName(in.Revision))
	if in.Reason != "" {
		description += ": " + in.Reason
	}
	dep, err := in.GitHub.Start(ctx, a, github.Request{Production: in.GitHub.Environment == "production", Description: description,
		Payload: map[string]any{"rollback": in.Revision, "release": in.Release, "namespace": in.Namespace, "reason": in.Reason}})
	if err != nil {
		return err
	}
	a.Infof("Rolling release %q in namespace %q back to %s on %s (%s)", in.Release, in.Namespace, revisionName(in.Revision), in.Kube.Host(), in.Kube.Origin())
	if down != nil && down.when == beforeSwitch {
		if err := down.run(ctx, a, kc); err != nil {
			dep.Fail(ctx, "Rollback stopped: the down migration failed")
			return fmt.Errorf("rolling release %s back: %w; the release was not rolled back", in.Release, err)
		}
	}
	probe, err := in.Availability.Start(ctx, in.Timeout+availability.Settle+time.Minute)
	if err != nil {
		return err
	}
	res, rerr := client.Rollback(ctx, helm.RollbackRequest{Release: in.Release, Revision: in.Revision, Wait: true, Timeout: in.Timeout, Reason: in.Reason})
	took := time.Since(started)
	if res.StuckRevision > 0 {
		a.Warningf("stuck release", "revision %d was left pending by a killed run: marked it failed", res.StuckRevision)
	}
	for _, w := range res.Waited {
		if w.Ready {
			a.Infof("ready after %s: %s/%s", w.After.Round(time.Millisecond), w.Kind, w.Name)
		} else {
			a.Infof("not ready: %s/%s (%s: %s)", w.Kind, w.Name, w.Status, w.Message)
		}
	}
	// As for a colour, the GitHub Deployment's final status comes first.
	var reportErr error
	if res.Revision > 0 {
		reportErr = errors.Join(a.SetOutputs("revision", fmt.Sprint(res.Revision), "image", res.Image,
			"duration", took.Round(time.Millisecond).String()), a.AddSummary(releaseSummary(in, res, took)))
	}
	// As for a colour: the probe goes on until the restored revision's
	// endpoints are in force.
	var settleUntil time.Time
	if rerr == nil {
		settleUntil = time.Now().Add(availability.Settle)
	}
	if _, err := in.Availability.Finish(ctx, a, probe, settleUntil); err != nil {
		rerr = errors.Join(rerr, err)
	}
	if rerr == nil && down != nil && down.when == afterSwitch {
		if rerr = down.waitDrained(ctx, a, kc, ""); rerr == nil {
			rerr = down.run(ctx, a, kc)
		}
	}
	ev := pkgnotify.Event{Kind: pkgnotify.Rollback, Action: "rollback", Service: in.Namespace + "/" + in.Release, Environment: in.GitHub.Environment,
		Image: res.Image, Reason: in.Reason, Duration: took, Weight: -1,
		Title: fmt.Sprintf("rollback %s/%s: revision %d restores revision %d in %s", in.Namespace, in.Release, res.Revision, res.To, took.Round(time.Millisecond))}
	if rerr != nil {
		ev.Kind, ev.Title, ev.Message = pkgnotify.Failure, fmt.Sprintf("rollback %s/%s: failed", in.Namespace, in.Release), rerr.Error()
	}
	nt := in.Notify.Notifier(a, notify.DeploymentsURL(a, in.GitHub.Environment))
	nt.Notify(ev)
	notify.Close(ctx, nt)
	if rerr == nil {
		dep.Succeed(ctx, fmt.Sprintf("Rolled back: revision %d of %s restores revision %d", res.Revision, in.Release, res.To))
	} else {
		dep.Fail(ctx, "Rollback failed")
	}
	if rerr != nil {
		return errors.Join(fmt.Errorf("rolling back release %q: %w", in.Release, rerr), reportErr)
	}
	if reportErr != nil {
		return reportErr
	}
	a.Infof("release %q revision %d (restores revision %d): %s", in.Release, res.Revision, res.To, res.Status)
	return nil
}

func revisionName(revision int) string {
	if revision == 0 {
		return "the previous revision"
	}
	return fmt.Sprintf("revision %d", revision)
}

func releaseSummary(in Inputs, res *helm.RollbackResult, took time.Duration) string {
	status := "✅ " + res.Status
	if res.Status != "deployed" {
		status = "❌ " + res.Status
	}
	rows := [][]string{
		{"release", report.Code(in.Namespace + "/" + in.Release)}, {"from revision", fmt.Sprint(res.From)},
		{"to revision", fmt.Sprintf("%d (restored as revision %d)", res.To, res.Revision)}, {"status", status},
	}
	if res.Image != "" {
		rows = append(rows, []string{"image", report.Code(res.Image)})
	}
	rows = append(rows, []string{"duration", took.Round(time.Millisecond).String()}, []string{"reason", in.Reason})
	return "### rollback\n\n" + report.Table([]string{"", ""}, rows) + "\n"
}
