// Package github records deploys as GitHub Deployments: one deployment
// per commit and environment, with statuses in_progress, then success or
// failure, and earlier deployments of the environment made inactive. It
// also compares two commits, for the changes a failure report lists.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v93/github"
)

// DefaultAPIURL is github.com's REST API; GitHub Enterprise Server sets
// GITHUB_API_URL to its own (https://HOST/api/v3).
const DefaultAPIURL = "https://api.github.com"

// Client talks to one repository's Deployments and compare APIs.
type Client struct {
	gh          *gh.Client
	owner, repo string
	token       string // kept only to redact it from errors
}

// New makes a client for repository ("owner/name") at apiURL (default
// DefaultAPIURL) with token. httpClient may be nil.
func New(repository, token, apiURL string, httpClient *http.Client) (*Client, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("repository %q is not owner/name", repository)
	}
	if token == "" {
		return nil, errors.New("no token")
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL", apiURL)
	}
	baseURL := base.String()
	opts := []gh.ClientOptionsFunc{gh.WithAuthToken(token), gh.WithURLs(&baseURL, nil)}
	if httpClient != nil {
		opts = append(opts, gh.WithHTTPClient(httpClient))
	}
	c, err := gh.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("making a GitHub client: %w", err)
	}
	return &Client{gh: c, owner: owner, repo: repo, token: token}, nil
}

// Request describes a deployment to record.
type Request struct {
	Ref         string // the commit SHA deployed
	Environment string
	Description string
	// Payload is stored with the deployment (release, revision, image).
	Payload map[string]any
	// Production marks a production environment (GitHub never makes
	// production deployments inactive by itself).
	Production bool
	// LogURL links each status to the workflow run.
	LogURL string
}

// Deployment is one recorded deployment.
type Deployment struct {
	c   *Client
	ID  int64
	req Request
}

// Start creates the deployment and marks it in_progress.
func (c *Client) Start(ctx context.Context, req Request) (*Deployment, error) {
	if req.Ref == "" || req.Environment == "" {
		return nil, errors.New("a deployment needs a commit and an environment")
	}
	body := gh.DeploymentRequest{
		Ref:                   req.Ref,
		Task:                  gh.Ptr("deploy"),
		AutoMerge:             gh.Ptr(false),
		RequiredContexts:      []string{}, // the workflow already gated the commit
		Environment:           gh.Ptr(req.Environment),
		Description:           gh.Ptr(req.Description),
		ProductionEnvironment: gh.Ptr(req.Production),
		TransientEnvironment:  gh.Ptr(false),
	}
	if req.Payload != nil {
		body.Payload = req.Payload
	}
	dep, _, err := c.gh.Repositories.CreateDeployment(ctx, c.owner, c.repo, body)
	if err != nil {
		return nil, fmt.Errorf("creating the deployment of %s to %q: %w", req.Ref, req.Environment, err)
	}
	d := &Deployment{c: c, ID: dep.GetID(), req: req}
	if err := d.status(ctx, "in_progress", "Deploying", ""); err != nil {
		return d, err
	}
	return d, nil
}

// Succeed marks the deployment successful at environmentURL, then marks
// every earlier active deployment of the environment inactive.
func (d *Deployment) Succeed(ctx context.Context, description, environmentURL string) error {
	if err := d.status(ctx, "success", description, environmentURL); err != nil {
		return err
	}
	if err := d.inactivateEarlier(ctx); err != nil {
		return fmt.Errorf("success recorded, but marking earlier deployments inactive: %w", err)
	}
	return nil
}

// Progress posts another in_progress status, such as "25 % traffic on
// green", so the environment's page follows a rollout step by step.
func (d *Deployment) Progress(ctx context.Context, description string) error {
	return d.status(ctx, "in_progress", description, "")
}

// Fail marks the deployment failed.
func (d *Deployment) Fail(ctx context.Context, description string) error {
	return d.status(ctx, "failure", description, "")
}

func (d *Deployment) status(ctx context.Context, state, description, envURL string) error {
	body := gh.DeploymentStatusRequest{
		State:       state,
		Description: gh.Ptr(truncate(description, 140)),
		Environment: gh.Ptr(d.req.Environment),
		// Earlier deployments are made inactive explicitly (inactivateEarlier),
		// also in production environments where GitHub would not.
		AutoInactive: gh.Ptr(false),
	}
	if d.req.LogURL != "" {
		body.LogURL = gh.Ptr(d.req.LogURL)
	}
	if envURL != "" {
		body.EnvironmentURL = gh.Ptr(envURL)
	}
	if _, _, err := d.c.gh.Repositories.CreateDeploymentStatus(ctx, d.c.owner, d.c.repo, d.ID, body); err != nil {
		return fmt.Errorf("setting deployment %d to %s: %w", d.ID, state, err)
	}
	return nil
}

// inactivateEarlier marks inactive the earlier deployments of the
// environment whose latest status is success (the ones GitHub shows as
// active). It reads the newest 100, which is more than a workflow leaves
// active.
func (d *Deployment) inactivateEarlier(ctx context.Context) error {
	deps, _, err := d.c.gh.Repositories.ListDeployments(ctx, d.c.owner, d.c.repo, &gh.DeploymentsListOptions{
		Environment: d.req.Environment,
		ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return fmt.Errorf("listing deployments of %q: %w", d.req.Environment, err)
	}
	var errs []error
	for _, dep := range deps {
		if dep.GetID() == d.ID {
			continue
		}
		sts, _, err := d.c.gh.Repositories.ListDeploymentStatuses(ctx, d.c.owner, d.c.repo, dep.GetID(), &gh.ListOptions{PerPage: 1})
		if err != nil {
			errs = append(errs, fmt.Errorf("reading deployment %d: %w", dep.GetID(), err))
			continue
		}
		if len(sts) == 0 || sts[0].GetState() != "success" {
			continue
		}
		body := gh.DeploymentStatusRequest{
			State:       "inactive",
			Description: gh.Ptr(fmt.Sprintf("Superseded by deployment %d", d.ID)),
			Environment: gh.Ptr(d.req.Environment),
		}
		if _, _, err := d.c.gh.Repositories.CreateDeploymentStatus(ctx, d.c.owner, d.c.repo, dep.GetID(), body); err != nil {
			errs = append(errs, fmt.Errorf("making deployment %d inactive: %w", dep.GetID(), err))
		}
	}
	return errors.Join(errs...)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
