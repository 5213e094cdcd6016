package github

import "context"

// Run is the workflow run a deployment is recorded for.
type Run struct {
	Client *Client
	Commit string // the commit deployed (GITHUB_SHA)
	LogURL string // the run's page, linked from each status
}

// Start records a deployment of the run's commit, its statuses linked to
// the run's page; req needs no Ref or LogURL.
func (r *Run) Start(ctx context.Context, req Request) (*Deployment, error) {
	req.Ref, req.LogURL = r.Commit, r.LogURL
	return r.Client.Start(ctx, req)
}
