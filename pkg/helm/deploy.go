package helm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	hkube "helm.sh/helm/v4/pkg/kube"
	ri "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// ErrInterrupted is returned when the context ended (SIGINT/SIGTERM)
// during the deploy.
var ErrInterrupted = errors.New("interrupted")

// InterruptRollbackTimeout bounds the rollback after an interruption. The
// runner kills a step 7.5-10 s after signalling it, and pkg/action gives a
// run 5 s; the rollback applies the previous manifest and does not wait.
const InterruptRollbackTimeout = 3 * time.Second

// Request is one deploy: helm upgrade --install with the given values.
type Request struct {
	Release         string
	Chart           *chart.Chart
	Values          map[string]any
	CreateNamespace bool
	// Wait waits until every workload the release owns is ready, with
	// Helm v4's kstatus watcher, for at most Timeout.
	Wait              bool
	Timeout           time.Duration
	RollbackOnFailure bool
	MaxHistory        int
	// DryRun renders against the cluster (server-side dry run) and changes
	// nothing.
	DryRun bool
	// Own is for releases a tool manages end to end (promote's colours):
	// objects of the rendered names that exist outside any release are
	// adopted (helm --take-ownership), and fields another field manager
	// changed since (a scale to zero) are set back to what the chart says
	// (server-side apply with --force-conflicts).
	Own bool
	// Forward recovers a revision left pending by a killed run by marking
	// it failed, not by rolling back to the last deployed one: for a
	// release whose last deployed manifest may be stale (the live Service
	// of promote's shared release, switched since), the upgrade that
	// follows renders what is wanted now, and a rollback would first put
	// the stale objects back.
	Forward bool
}

// Result is what a deploy did. Deploy fills it as far as it got, also
// when it returns an error.
type Result struct {
	Release      string
	Namespace    string
	Installed    bool // first revision of the release
	Revision     int  // the revision this deploy created
	Status       string
	ChartName    string
	ChartVersion string
	AppVersion   string
	Manifest     string
	// PreviousRevision is the revision deployed before (0 on install), and
	// PreviousManifest its manifest, the base of Changes.
	PreviousRevision int
	PreviousManifest string
	Changes          []ResourceChange
	Recovery         *Recovery
	Waited           []WaitedObject
	// WaitTook is how long the readiness wait lasted.
	WaitTook time.Duration
	// RolledBackTo is the revision restored after a failure, and
	// RollbackRevision the one the rollback created; Uninstalled is set
	// when a failed first install was removed instead.
	RolledBackTo     int
	RollbackRevision int
	Uninstalled      bool
	Interrupted      bool
}

// ManifestDigest is the sha256 of the rendered manifest.
func (r *Result) ManifestDigest() string { return ManifestDigest(r.Manifest) }

// Deploy recovers a stuck release, then installs or upgrades it and waits.
// On a failure (including ctx ending during the wait) the new revision is
// marked failed and, with RollbackOnFailure, the last deployed revision is
// restored, or a failed first install is uninstalled.
func (c *Client) Deploy(ctx context.Context, req Request) (*Result, error) {
	res := &Result{Release: req.Release, Namespace: c.namespace}
	if req.Chart == nil {
		return res, errors.New("no chart")
	}
	res.ChartName, res.ChartVersion, res.AppVersion = req.Chart.Metadata.Name, req.Chart.Metadata.Version, req.Chart.Metadata.AppVersion

	last, err := c.last(req.Release)
	if err != nil {
		return res, err
	}
	if last != nil && last.Info.Status.IsPending() {
		if req.DryRun {
			return res, fmt.Errorf("release %q is %s (revision %d); a real run would recover it first", req.Release, last.Info.Status, last.Version)
		}
		if req.Forward {
			if err := c.markFailed(last, "marked failed by the next upgrade"); err != nil {
				return res, err
			}
		} else if res.Recovery, err = c.Recover(ctx, req.Release, req.undoOptions()); err != nil {
			return res, fmt.Errorf("recovering stuck release %q: %w", req.Release, err)
		}
		if last, err = c.last(req.Release); err != nil {
			return res, err
		}
	}
	if good, err := c.lastGood(req.Release); err != nil {
		return res, err
	} else if good != nil && (last == nil || last.Info.Status != rcommon.StatusUninstalled) {
		res.PreviousRevision, res.PreviousManifest = good.Version, good.Manifest
	}

	install := last == nil || last.Info.Status == rcommon.StatusUninstalled
	res.Installed = install
	started := c.now()
	var rel *release.Release
	if install {
		rel, err = c.install(ctx, req, last != nil)
	} else {
		rel, err = c.upgrade(ctx, req)
	}
	if req.Wait && !req.DryRun {
		res.Waited, res.WaitTook = c.rec.Waited(), c.now().Sub(started)
	}
	created := false
	if !req.DryRun {
		after, lerr := c.last(req.Release)
		if lerr != nil {
			return res, errors.Join(err, lerr)
		}
		created = after != nil && (last == nil || after.Version > last.Version)
	}
	if rel != nil && (created || req.DryRun) {
		res.Revision, res.Status, res.Manifest = rel.Version, rel.Info.Status.String(), rel.Manifest
	}
	if rel != nil && rel.Manifest != "" {
		var derr error
		if res.Changes, derr = DiffManifests(res.PreviousManifest, rel.Manifest); derr != nil {
			return res, errors.Join(err, derr)
		}
	}
	if err == nil {
		return res, nil
	}
	deployErr := err
	if ctx.Err() != nil {
		res.Interrupted = true
		deployErr = fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	if created {
		res.Status = rcommon.StatusFailed.String()
	}
	if !created || !req.RollbackOnFailure {
		return res, deployErr
	}
	if rerr := c.undo(ctx, req, res); rerr != nil {
		return res, errors.Join(deployErr, rerr)
	}
	return res, deployErr
}

// undo rolls a failed revision back, or uninstalls a failed first install.
// After an interruption it works under a fresh, short context and does not
// wait, so the process can exit before the runner kills it.
func (c *Client) undo(ctx context.Context, req Request, res *Result) error {
	opts := req.undoOptions()
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), InterruptRollbackTimeout)
		defer cancel()
		opts.Wait, opts.Timeout = false, InterruptRollbackTimeout
	}
	good, err := c.lastGood(req.Release)
	if err != nil {
		return err
	}
	if good == nil {
		un := action.NewUninstall(c.cfg)
		un.WaitStrategy = hkube.HookOnlyStrategy
		un.WaitOptions = []hkube.WaitOption{hkube.WithWaitContext(ctx)}
		un.Timeout = opts.Timeout
		if _, err := un.Run(req.Release); err != nil {
			return fmt.Errorf("uninstalling failed release %q: %w", req.Release, err)
		}
		res.Uninstalled = true
		return nil
	}
	rev, err := c.rollback(ctx, req.Release, good.Version, opts, fmt.Sprintf("Rollback to %d: the deploy failed", good.Version))
	if err != nil {
		return err
	}
	res.RolledBackTo, res.RollbackRevision = good.Version, rev
	return nil
}

func (req Request) undoOptions() UndoOptions {
	return UndoOptions{Wait: req.Wait, Timeout: req.Timeout, MaxHistory: req.MaxHistory}
}

// waitSettings are the wait of every install, upgrade and rollback: with
// wait, Helm's kstatus watcher (timed by the recorder) until ctx ends;
// without, hooks only.
func waitSettings(ctx context.Context, wait bool) (hkube.WaitStrategy, []hkube.WaitOption) {
	opts := []hkube.WaitOption{hkube.WithWaitContext(ctx), hkube.WithStatusComputeWorkers(8)}
	if wait {
		return hkube.StatusWatcherStrategy, opts
	}
	return hkube.HookOnlyStrategy, opts
}

// install runs helm install. Helm is given a context that never ends, so
// that it finishes recording the release itself; the wait alone follows
// ctx, and ends when ctx does.
func (c *Client) install(ctx context.Context, req Request, replace bool) (*release.Release, error) {
	in := action.NewInstall(c.cfg)
	in.ReleaseName = req.Release
	in.Namespace = c.namespace
	in.CreateNamespace = req.CreateNamespace
	in.Replace = replace
	in.Timeout = req.Timeout
	in.TakeOwnership, in.ForceConflicts = req.Own, req.Own
	in.WaitStrategy, in.WaitOptions = waitSettings(ctx, req.Wait)
	if req.DryRun {
		in.DryRunStrategy = action.DryRunServer
	}
	r, err := in.RunWithContext(context.WithoutCancel(ctx), req.Chart, req.Values)
	return releaseOf(r, err)
}

// upgrade runs helm upgrade, with the same context rule as install.
func (c *Client) upgrade(ctx context.Context, req Request) (*release.Release, error) {
	up := action.NewUpgrade(c.cfg)
	up.Namespace = c.namespace
	up.Install = true
	up.Timeout = req.Timeout
	up.MaxHistory = req.MaxHistory
	up.TakeOwnership, up.ForceConflicts = req.Own, req.Own
	up.WaitStrategy, up.WaitOptions = waitSettings(ctx, req.Wait)
	if req.DryRun {
		up.DryRunStrategy = action.DryRunServer
	}
	r, err := up.RunWithContext(context.WithoutCancel(ctx), req.Release, req.Chart, req.Values)
	return releaseOf(r, err)
}

func releaseOf(r ri.Releaser, err error) (*release.Release, error) {
	if r == nil {
		return nil, err
	}
	rel, cerr := v1(r)
	if cerr != nil {
		return nil, errors.Join(err, cerr)
	}
	return rel, err
}
