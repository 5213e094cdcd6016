package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/changes"
	"github.com/fxplatform/deploy-actions/pkg/github"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
)

// ChangesTimeout bounds a failure report's reads (two image configs and
// one compare request): a registry or API that hangs must not hold the
// step's end.
const ChangesTimeout = 20 * time.Second

// Values are a measurement as an event's values.
func Values(results []analysis.Result) []pkgnotify.Value {
	out := make([]pkgnotify.Value, 0, len(results))
	for _, r := range results {
		out = append(out, pkgnotify.Value{Name: r.Name, Value: r.Current(), Target: r.Threshold.String(), Status: r.Status.String()})
	}
	return out
}

// Changes reports what changed between the stable and the candidate
// images (their revision labels and, with gh, the commits between them),
// within ChangesTimeout. It never fails: what it could not learn is in the
// report.
//
// After an interruption it reads nothing: the step has action.StopGrace in
// all, already spent in part on the way back, and the GitHub Deployment's
// final status and the notifications come after the report.
func Changes(ctx context.Context, a *action.Action, gh *github.Client, stable, candidate string) changes.Report {
	if ctx.Err() != nil {
		err := errors.New("not read: the run was interrupted")
		return changes.Report{Stable: changes.Revision{Image: stable}, StableErr: err, Candidate: changes.Revision{Image: candidate}, CandidateErr: err}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ChangesTimeout)
	defer cancel()
	host := ""
	if ref, err := name.ParseReference(candidate); err == nil {
		host = ref.Context().RegistryStr()
	}
	var c changes.Comparer
	if gh != nil { // a nil *github.Client in the interface would not be nil
		c = gh
	}
	return changes.Collect(ctx, stable, candidate, registry.Group{Credentials: registry.Runner(a, host)}.Remote(a), c)
}

// ChangeList is the report's commits as an event's changes.
func ChangeList(r changes.Report) []pkgnotify.Change {
	var out []pkgnotify.Change
	for _, c := range r.Changes() {
		out = append(out, pkgnotify.Change{SHA: c.SHA, Title: c.Title, Author: c.Author, URL: c.URL, PR: c.PR})
	}
	return out
}

// DeploymentsURL is the page of the environment's GitHub Deployments, or
// "" outside a runner.
func DeploymentsURL(a *action.Action, environment string) string {
	gh, err := a.Context()
	if err != nil || gh.ServerURL == "" || gh.Repository == "" || environment == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/deployments/%s", strings.TrimSuffix(gh.ServerURL, "/"), gh.Repository, url.PathEscape(environment))
}

// Close sends what is left within the notifier's budget, even after an
// interruption, when the step has a quarter of action.StopGrace left for it.
func Close(ctx context.Context, n *pkgnotify.Notifier) {
	if n == nil {
		return
	}
	limit := pkgnotify.DefaultBudget
	if ctx.Err() != nil {
		limit = action.StopGrace / 4
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	n.Close(cctx)
}
