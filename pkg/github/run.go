package github

import (
	"errors"
	"strings"
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
