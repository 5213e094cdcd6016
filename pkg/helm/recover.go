package helm

import (
	"context"
	"fmt"
	"sort"
	"time"

	"helm.sh/helm/v4/pkg/action"
	hkube "helm.sh/helm/v4/pkg/kube"
	ri "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// Recovery says how a release left pending by a killed run was put back
// in order before the deploy.
type Recovery struct {
	// StuckRevision and StuckStatus are the pending revision found
	// (pending-install, pending-upgrade or pending-rollback).
	StuckRevision int
	StuckStatus   string
	// RolledBackTo is the last deployed revision restored, and NewRevision
	// the revision the rollback created; both are 0 when the release had
	// never been deployed and was uninstalled instead.
	RolledBackTo int
	NewRevision  int
	Uninstalled  bool
}

func (r *Recovery) String() string {
	if r.Uninstalled {
		return fmt.Sprintf("revision %d was %s and the release had never been deployed: uninstalled it", r.StuckRevision, r.StuckStatus)
	}
	return fmt.Sprintf("revision %d was %s: marked it failed and rolled back to revision %d (now revision %d)", r.StuckRevision, r.StuckStatus, r.RolledBackTo, r.NewRevision)
}

// Recover puts a release that a killed run left pending back in order: the
// pending revision is marked failed, then the release is rolled back to
// its last deployed revision, or uninstalled if it never had one. It
// returns nil when the release is not pending (or does not exist).
func (c *Client) Recover(ctx context.Context, name string, opts UndoOptions) (*Recovery, error) {
	last, err := c.last(name)
	if err != nil || last == nil || !last.Info.Status.IsPending() {
		return nil, err
	}
	rec := &Recovery{StuckRevision: last.Version, StuckStatus: last.Info.Status.String()}
	if err := c.markFailed(last, "recovered by deploy"); err != nil {
		return nil, err
	}
	good, err := c.lastGood(name)
	if err != nil {
		return nil, err
	}
	if good == nil {
		un := action.NewUninstall(c.cfg)
		un.WaitStrategy = hkube.HookOnlyStrategy
		un.WaitOptions = []hkube.WaitOption{hkube.WithWaitContext(ctx)}
		un.Timeout = opts.Timeout
		if _, err := un.Run(name); err != nil {
			return nil, fmt.Errorf("uninstalling never-deployed release %q: %w", name, err)
		}
		rec.Uninstalled = true
		return rec, nil
	}
	rev, err := c.rollback(ctx, name, good.Version, opts, fmt.Sprintf("Rollback to %d: recovering from an interrupted deploy", good.Version))
	if err != nil {
		return nil, err
	}
	rec.RolledBackTo, rec.NewRevision = good.Version, rev
	return rec, nil
}

// markFailed records a revision left pending by a killed run as failed.
func (c *Client) markFailed(stuck *release.Release, by string) error {
	stuck.SetStatus(rcommon.StatusFailed, fmt.Sprintf("Interrupted while %s; %s", stuck.Info.Status, by))
	if err := c.cfg.Releases.Update(stuck); err != nil {
		return fmt.Errorf("marking stuck revision %d failed: %w", stuck.Version, err)
	}
	return nil
}

// UndoOptions say how a recovery or a rollback after a failure waits.
type UndoOptions struct {
	Wait       bool
	Timeout    time.Duration
	MaxHistory int
}

// rollback restores revision to and returns the revision it created. The
// description is recorded on that revision (cut to Helm's limit).
func (c *Client) rollback(ctx context.Context, name string, to int, opts UndoOptions, description string) (int, error) {
	rb := action.NewRollback(c.cfg)
	rb.Version = to
	rb.Timeout = opts.Timeout
	rb.MaxHistory = opts.MaxHistory
	rb.WaitStrategy, rb.WaitOptions = waitSettings(ctx, opts.Wait)
	if r := []rune(description); len(r) > action.MaxDescriptionLength {
		description = string(r[:action.MaxDescriptionLength-1]) + "…"
	}
	rb.Description = description
	if err := rb.Run(name); err != nil {
		return 0, fmt.Errorf("rolling %q back to revision %d: %w", name, to, err)
	}
	last, err := c.last(name)
	if err != nil {
		return 0, err
	}
	return last.Version, nil
}

// last is the newest revision of the release, or nil if there is none.
func (c *Client) last(name string) (*release.Release, error) {
	hist, err := c.History(name)
	if err != nil || len(hist) == 0 {
		return nil, err
	}
	return hist[len(hist)-1], nil
}

// lastGood is the newest deployed revision, else the newest superseded
// one (the revision Helm's own rollback-on-failure picks), or nil.
func (c *Client) lastGood(name string) (*release.Release, error) {
	hist, err := c.History(name)
	if err != nil {
		return nil, err
	}
	for _, want := range []rcommon.Status{rcommon.StatusDeployed, rcommon.StatusSuperseded} {
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Info.Status == want {
				return hist[i], nil
			}
		}
	}
	return nil, nil
}

func v1(r ri.Releaser) (*release.Release, error) {
	switch r := r.(type) {
	case *release.Release:
		return r, nil
	case release.Release:
		return &r, nil
	}
	return nil, fmt.Errorf("unsupported release type %T", r)
}

func sortByRevision(rs []*release.Release) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Version < rs[j].Version })
}
