// Package ghdeploy is the GitHub Deployment input group of deploy, promote
// and rollback, and the one lifecycle they share: the inputs environment,
// environment-url and github-token, a deployment started for the run's
// commit, in_progress statuses while it runs, and a final status recorded
// within the time an interrupted step has left.
package ghdeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/github"
)

// Inputs are the group's inputs, added to an action's spec, with the
// environment an action deploys to by default.
func Inputs(environment string) []action.Input {
	return []action.Input{
		{Name: "environment", Default: environment, Description: "GitHub Deployment environment."},
		{Name: "environment-url", Description: "URL shown on the GitHub Deployment."},
		{Name: "github-token", Sensitive: true, Description: "When set, a GitHub Deployment is recorded for the commit (GITHUB_SHA) with statuses in_progress, then success or failure; earlier ones in the environment become inactive. Needs deployments: write."},
	}
}

// FinishTimeout bounds recording a final status when the run ended on its
// own. After an interruption the bound is a quarter of action.StopGrace:
// promote and rollback have used half of it to put traffic back, and the
// step must still report what happened instead of "did not stop".
const FinishTimeout = 30 * time.Second

// ProgressTimeout bounds recording one in_progress status. Progress is
// called from inside a rollout (a traffic step, an abort): a GitHub API
// that accepts the connection and never answers must not hold traffic on
// a canary, or an abort, past it.
const ProgressTimeout = 10 * time.Second

// Group is the parsed group.
type Group struct {
	Environment string
	// URL is environment-url, checked to be http(s).
	URL string
	// run is set when github-token is.
	run *github.Run
}

// Parse reads the group. Without github-token nothing is recorded; with
// it, a runner context that cannot name the commit fails the input. No
// request is made.
func Parse(a *action.Action, in *action.Inputs) Group {
	g := Group{Environment: in.String("environment"), URL: in.HTTPURL("environment-url")}
	token := in.String("github-token")
	if token == "" {
		return g
	}
	r, err := forRun(a, token)
	if err != nil {
		in.Fail("github-token", "%v", err)
		return g
	}
	g.run = &r
	return g
}

// Enabled reports whether a GitHub Deployment is recorded.
func (g Group) Enabled() bool { return g.run != nil }

// forRun makes a client for the runner's repository from its typed context:
// the repository, the commit, the API URL (GitHub Enterprise) and the run's
// page, linked from each status.
func forRun(a *action.Action, token string) (github.Run, error) {
	gh, err := a.Context()
	if err != nil {
		return github.Run{}, err
	}
	if gh.Repository == "" || gh.SHA == "" {
		return github.Run{}, errors.New("recording a deployment needs GITHUB_REPOSITORY and GITHUB_SHA (set by the runner)")
	}
	c, err := github.New(gh.Repository, token, gh.APIURL, nil)
	if err != nil {
		return github.Run{}, err
	}
	r := github.Run{Client: c, Commit: gh.SHA}
	if gh.RunID != 0 {
		r.LogURL = fmt.Sprintf("%s/%s/actions/runs/%d", strings.TrimSuffix(gh.ServerURL, "/"), gh.Repository, gh.RunID)
	}
	return r, nil
}

// Record is one GitHub Deployment being recorded. A nil *Record records
// nothing, so callers need not check whether the group is enabled.
type Record struct {
	a   *action.Action
	dep *github.Deployment
	url string
	// progressTimeout is ProgressTimeout (shorter in tests).
	progressTimeout time.Duration
}

// Start records a deployment to the group's environment, in_progress
// (nil, nil when github-token is not set). After an error the caller
// changes nothing; the Record is still returned when the deployment was
// created (its in_progress status was not), so its id can be reported.
func (g Group) Start(ctx context.Context, a *action.Action, req github.Request) (*Record, error) {
	if g.run == nil {
		return nil, nil
	}
	req.Environment = g.Environment
	sctx, cancel := context.WithTimeout(ctx, FinishTimeout)
	defer cancel()
	dep, err := g.run.Start(sctx, req)
	var r *Record
	if dep != nil {
		r = &Record{a: a, dep: dep, url: g.URL, progressTimeout: ProgressTimeout}
	}
	if err != nil {
		// Created but never in_progress: GitHub would show it as the
		// newest deployment, pending, for ever. Say it failed.
		r.Fail(ctx, "Not started: its in_progress status could not be recorded")
		return r, fmt.Errorf("recording the GitHub deployment (nothing was changed): %w", err)
	}
	return r, nil
}

// ID is the deployment's id (0 for a nil Record).
func (r *Record) ID() int64 {
	if r == nil {
		return 0
	}
	return r.dep.ID
}

// Progress records an in_progress status ("25 % traffic on green"),
// within ProgressTimeout. A status that cannot be recorded is a warning:
// the run goes on. Once ctx is done (an interruption) nothing is sent:
// the final status, which follows, says what happened.
func (r *Record) Progress(ctx context.Context, description string) {
	if r == nil || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.progressTimeout)
	defer cancel()
	if err := r.dep.Progress(ctx, description); err != nil {
		r.a.Warningf("GitHub deployment", "recording %q: %v", description, err)
	}
}

// Succeed records success, linked to environment-url.
func (r *Record) Succeed(ctx context.Context, description string) {
	r.finish(ctx, description, func(ctx context.Context) error { return r.dep.Succeed(ctx, description, r.url) })
}

// Fail records failure.
func (r *Record) Fail(ctx context.Context, description string) {
	r.finish(ctx, description, func(ctx context.Context) error { return r.dep.Fail(ctx, description) })
}

// finish records the final status even when ctx is done (the cluster is
// in its final state and GitHub should say so), within FinishTimeout, or
// a quarter of action.StopGrace once the step is interrupted. Failing to
// record it is a warning.
func (r *Record) finish(ctx context.Context, description string, record func(context.Context) error) {
	if r == nil {
		return
	}
	limit := FinishTimeout
	if ctx.Err() != nil {
		limit = action.StopGrace / 4
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	if err := record(ctx); err != nil {
		r.a.Warningf("GitHub deployment", "the cluster is in its final state; recording the GitHub deployment's final status (%q): %v", description, err)
	}
}

// Client is github-token's client for the run's repository (the compare
// API of a failure report); nil without a token.
func (g Group) Client() *github.Client {
	if g.run == nil {
		return nil
	}
	return g.run.Client
}
