package github

import (
	"context"
	"errors"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

// Run is the workflow run a deployment is recorded for.
type Run struct {
	Client *Client
	Commit string // the commit deployed (GITHUB_SHA)
	LogURL string // the run's page, linked from each status
}

// ForRun makes a client for the runner's repository from its context
// variables, read through getenv: GITHUB_REPOSITORY, GITHUB_SHA,
// GITHUB_API_URL (GitHub Enterprise), GITHUB_SERVER_URL and GITHUB_RUN_ID.
// It makes no request.
func ForRun(getenv func(string) string, token string) (Run, error) {
	repo, sha := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_SHA")
	if repo == "" || sha == "" {
		return Run{}, errors.New("recording a deployment needs GITHUB_REPOSITORY and GITHUB_SHA (set by the runner)")
	}
	c, err := New(repo, token, getenv("GITHUB_API_URL"), nil)
	if err != nil {
		return Run{}, err
	}
	r := Run{Client: c, Commit: sha}
	if server, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_RUN_ID"); server != "" && id != "" {
		r.LogURL = strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
	}
	return r, nil
}

// FromInputs reads the github-token input of deploy, promote and rollback:
// nil when it is empty (no deployment is recorded), else the run to record
// deployments for. A runner context that cannot make one fails the input.
func FromInputs(a *action.Action, in *action.Inputs) *Run {
	token := in.String("github-token")
	if token == "" {
		return nil
	}
	r, err := ForRun(a.Getenv, token)
	if err != nil {
		in.Fail("github-token", "%v", err)
		return nil
	}
	return &r
}

// Start records a deployment of the run's commit, its statuses linked to
// the run's page; req needs no Ref or LogURL.
func (r *Run) Start(ctx context.Context, req Request) (*Deployment, error) {
	req.Ref, req.LogURL = r.Commit, r.LogURL
	return r.Client.Start(ctx, req)
}
