package helm

import (
	"context"
	"errors"
	"fmt"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// ErrReleaseNotFound is returned by Rollback for a release with no
// revision in the client's namespace.
var ErrReleaseNotFound = errors.New("release not found")

// RollbackRequest is one `helm rollback RELEASE [REVISION] --wait`.
type RollbackRequest struct {
	Release string
	// Revision is the revision to restore. 0 is the previous one: the
	// newest earlier revision that was deployed. Unlike the helm CLI, which
	// takes the current revision minus one, it never picks a revision that
	// failed.
	Revision int
	// Wait waits until every workload of the restored revision is ready,
	// with the watcher Deploy uses, for at most Timeout.
	Wait       bool
	Timeout    time.Duration
	MaxHistory int
	// Reason is recorded in the new revision's description.
	Reason string
}

// RollbackResult is what a rollback did. Rollback fills it as far as it
// got, also when it returns an error.
type RollbackResult struct {
	Release   string
	Namespace string
	// From is the revision current before the rollback and To the one
	// restored.
	From, To int
	// Revision and Status are the revision the rollback created (0 if it
	// created none) and its status.
	Revision int
	Status   string
	// Image is repository@digest from the restored values (image.repository
	// and image.digest, as deploy writes them), or "" when they carry none.
	Image string
	// StuckRevision is a pending revision, left by a killed run, that was
	// marked failed before the rollback (0 if none).
	StuckRevision int
	Waited        []WaitedObject
	WaitTook      time.Duration
}

// Rollback restores an earlier revision of a release as a new revision
// and waits for it. A current revision left pending by a killed run is
// marked failed first, as Deploy's recovery does.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (*RollbackResult, error) {
	res := &RollbackResult{Release: req.Release, Namespace: c.namespace}
	hist, err := c.History(req.Release)
	if err != nil {
		return res, err
	}
	if len(hist) == 0 {
		return res, fmt.Errorf("%w: %q in namespace %q", ErrReleaseNotFound, req.Release, c.namespace)
	}
	current := hist[len(hist)-1]
	res.From = current.Version
	target, err := rollbackTarget(hist, req.Revision)
	if err != nil {
		return res, fmt.Errorf("release %q: %w", req.Release, err)
	}
	res.To, res.Image = target.Version, imageOf(target.Config)
	if current.Info.Status.IsPending() {
		if err := c.markFailed(current, "superseded by a rollback"); err != nil {
			return res, err
		}
		res.StuckRevision = current.Version
	}

	description := fmt.Sprintf("Rollback to %d", target.Version)
	if req.Reason != "" {
		description += ": " + req.Reason
	}
	started := c.now()
	_, rerr := c.rollback(ctx, req.Release, target.Version, UndoOptions{Wait: req.Wait, Timeout: req.Timeout, MaxHistory: req.MaxHistory}, description)
	if req.Wait {
		res.Waited, res.WaitTook = c.rec.Waited(), c.now().Sub(started)
	}
	last, err := c.last(req.Release)
	if err != nil {
		return res, errors.Join(rerr, err)
	}
	if last != nil && last.Version > res.From {
		res.Revision, res.Status = last.Version, last.Info.Status.String()
	}
	return res, rerr
}

// rollbackTarget picks the revision to restore from a history sorted
// oldest first: the one asked for, or for 0 the newest revision before the
// current one that was deployed (now superseded, or deployed still when a
// stuck revision followed it).
func rollbackTarget(hist []*release.Release, revision int) (*release.Release, error) {
	current := hist[len(hist)-1]
	if revision > 0 {
		for _, h := range hist {
			if h.Version == revision {
				return h, nil
			}
		}
		return nil, fmt.Errorf("no revision %d (revisions %d to %d are stored)", revision, hist[0].Version, current.Version)
	}
	for i := len(hist) - 2; i >= 0; i-- {
		if st := hist[i].Info.Status; st == rcommon.StatusSuperseded || st == rcommon.StatusDeployed {
			return hist[i], nil
		}
	}
	return nil, fmt.Errorf("no deployed revision before revision %d to roll back to", current.Version)
}

// imageOf reads repository@digest from a revision's values, where deploy
// writes them by default.
func imageOf(values map[string]any) string {
	im, _ := values["image"].(map[string]any)
	repo, _ := im["repository"].(string)
	digest, _ := im["digest"].(string)
	if repo == "" || digest == "" {
		return ""
	}
	return repo + "@" + digest
}
