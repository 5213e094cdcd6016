package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"github.com/fxplatform/deploy-actions/cmd/internal/charts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// Inputs are deploy's inputs, parsed and checked.
type Inputs struct {
	Notify            notify.Group
	Chart             charts.Group
	Release           string
	Namespace         string
	CreateNamespace   bool
	Image             *name.Digest
	Kube              *kube.Config // nil after an input problem
	Wait              bool
	Timeout           time.Duration
	RollbackOnFailure bool
	MaxHistory        int
	DryRun            bool
	// GitHub records the GitHub Deployment (not for a dry run).
	GitHub ghdeploy.Group
	// Gate is the signature policy the image must pass (off when no
	// verify-* input is set).
	Gate sign.Policy
}

// parseInputs reads and checks every input without a network call: a
// local chart is loaded, values files read, --set lines parsed and the
// kubeconfig parsed, so bad input changes nothing.
func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var p Inputs
	p.Release = in.String("release")
	if p.Release != "" {
		if err := chartutil.ValidateReleaseName(p.Release); err != nil {
			in.Fail("release", "%q is not a valid release name (lower-case letters, digits and '-', at most 53 characters)", p.Release)
		}
	}
	if p.Namespace = cluster.Name(in, "namespace", cluster.NamespaceName, ""); p.Namespace == "" {
		in.Fail("namespace", "is required")
	}
	p.CreateNamespace = in.Bool("create-namespace")

	raw := in.String("image")
	if raw != "" {
		if d := in.Digest("image"); d.DigestStr() != "" {
			p.Image = &d
		}
	}
	var img name.Digest
	if p.Image != nil {
		img = *p.Image
	}
	if p.Gate = gate.Parse(a, in, img); p.Gate.Enabled() && raw == "" {
		in.Fail("image", "is required when a verify-* input is set: the gate checks the image's signature")
	}
	p.Chart = charts.Parse(in, p.Image, raw)

	p.Kube = cluster.Parse(a, in)

	p.Wait = in.Bool("wait")
	p.Timeout = in.Duration("timeout")
	if p.Wait && p.Timeout == 0 {
		in.Fail("timeout", "must be above 0 when wait is true")
	}
	p.RollbackOnFailure = in.Bool("rollback-on-failure")
	p.MaxHistory = in.Int("max-history", 0, 1000)
	p.DryRun = in.Bool("dry-run")
	p.Notify = notify.Parse(a, in)
	if p.GitHub = ghdeploy.Parse(a, in); p.DryRun {
		p.GitHub = ghdeploy.Group{Environment: p.GitHub.Environment, URL: p.GitHub.URL}
	}
	if err := in.Err(); err != nil {
		return Inputs{}, err
	}
	return p, nil
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	if in.Image != nil {
		if err := gate.Check(ctx, a, *in.Image, in.Gate, "deploy"); err != nil {
			return err
		}
	}
	if err := a.SetOutput("release", in.Release); err != nil {
		return err
	}
	ch, err := in.Chart.Load(ctx, a, "deploy-actions/deploy")
	if err != nil {
		return err
	}
	client, err := helm.New(in.Kube.Getter(), in.Namespace, helm.WithLogger(a.DebugLog("helm")))
	if err != nil {
		return err
	}

	dep, err := in.GitHub.Start(ctx, a, github.Request{
		Description: fmt.Sprintf("%s to %s", in.Release, in.Namespace),
		Payload:     payload(in),
	})
	if dep != nil {
		if err := a.SetOutput("deployment-id", fmt.Sprint(dep.ID())); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}

	var nt *pkgnotify.Notifier
	if !in.DryRun {
		nt = in.Notify.Notifier(a, notify.DeploymentsURL(a, in.GitHub.Environment))
	}
	defer notify.Close(ctx, nt)
	base := pkgnotify.Event{Action: "deploy", Service: in.Namespace + "/" + in.Release, Environment: in.GitHub.Environment, Weight: -1}
	if in.Image != nil {
		base.Image = in.Image.String()
	}
	start, began := base, time.Now()
	start.Kind, start.Title = pkgnotify.Start, fmt.Sprintf("deploy: release %s to %s", in.Release, in.Namespace)
	nt.Notify(start)
	verb := "Deploying"
	if in.DryRun {
		verb = "Rendering (dry run)"
	}
	a.Infof("%s release %q in namespace %q on %s (%s)", verb, in.Release, in.Namespace, in.Kube.Host(), in.Kube.Origin())
	res, derr := client.Deploy(ctx, helm.Request{
		Release: in.Release, Chart: ch, Values: in.Chart.Values, CreateNamespace: in.CreateNamespace,
		Wait: in.Wait, Timeout: in.Timeout, RollbackOnFailure: in.RollbackOnFailure, MaxHistory: in.MaxHistory, DryRun: in.DryRun,
	})
	logResult(a, res)
	// The GitHub Deployment's final status says what the cluster did,
	// whatever happens to the step's own report.
	reportErr := errors.Join(writeOutputs(a, res), a.AddSummary(summary(in, res, derr)))
	end := base
	end.Duration = time.Since(began)
	if derr == nil {
		end.Kind, end.Weight = pkgnotify.Success, 100
		end.Title = fmt.Sprintf("deploy: revision %d of %s deployed to %s", res.Revision, in.Release, in.Namespace)
	} else {
		end.Kind, end.Reason = pkgnotify.Failure, derr.Error()+undone(res)
		end.Title = fmt.Sprintf("deploy: release %s to %s failed", in.Release, in.Namespace)
	}
	nt.Notify(end)
	if derr == nil {
		dep.Succeed(ctx, fmt.Sprintf("Revision %d of %s deployed", res.Revision, in.Release))
	} else {
		dep.Fail(ctx, "Deploy failed"+undone(res))
	}
	if derr != nil {
		return errors.Join(fmt.Errorf("deploying %q: %w%s", in.Release, derr, undone(res)), reportErr)
	}
	return reportErr
}

func writeOutputs(a *action.Action, res *helm.Result) error {
	if res.Revision == 0 {
		return nil
	}
	return a.SetOutputs(
		"revision", fmt.Sprint(res.Revision),
		"status", res.Status,
		"manifest-digest", res.ManifestDigest(),
	)
}

func payload(in Inputs) map[string]any {
	p := map[string]any{"release": in.Release, "namespace": in.Namespace}
	if in.Image != nil {
		p["image"] = in.Image.String()
	}
	return p
}

// undone says how a failure was undone, for messages.
func undone(res *helm.Result) string {
	switch {
	case res.RolledBackTo > 0:
		return fmt.Sprintf("; rolled back to revision %d (now revision %d)", res.RolledBackTo, res.RollbackRevision)
	case res.Uninstalled:
		return "; the failed first install was uninstalled"
	}
	return ""
}

func logResult(a *action.Action, res *helm.Result) {
	if res.Recovery != nil {
		a.Warningf("stuck release recovered", "%s", res.Recovery)
	}
	for _, w := range res.Waited {
		if w.Ready {
			a.Infof("ready after %s: %s/%s", w.After.Round(time.Millisecond), w.Kind, w.Name)
		} else {
			a.Infof("not ready: %s/%s (%s: %s)", w.Kind, w.Name, w.Status, w.Message)
		}
	}
	if res.Revision > 0 {
		a.Infof("release %q revision %d: %s", res.Release, res.Revision, res.Status)
	}
}
