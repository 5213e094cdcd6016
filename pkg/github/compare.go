package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v93/github"
)

// ErrUnknownCommit is the outcome of comparing a commit the repository
// does not have (or that the token cannot read).
var ErrUnknownCommit = errors.New("unknown commit")

// Comparison is what lies between two commits of the repository: the
// commits reachable from Head and not from Base.
type Comparison struct {
	Base, Head string // as asked
	// Status is GitHub's: "ahead" (Base is an ancestor of Head), "behind"
	// (Head is an ancestor of Base), "identical", or "diverged" (neither is
	// an ancestor of the other; Commits are then Head's side only).
	Status   string
	AheadBy  int
	BehindBy int
	// TotalCommits counts every commit between them; Commits holds the
	// first page of them (GitHub's default, 250), oldest first.
	TotalCommits int
	Commits      []Commit
	// HTMLURL is the compare page, https://github.com/o/r/compare/a...b.
	HTMLURL string
	// PullRequests are those the commits' messages name, in the order of
	// the commits, each once.
	PullRequests []PullRequest
}

// More is how many commits are between them beyond Commits.
func (c *Comparison) More() int {
	return max(c.TotalCommits-len(c.Commits), 0)
}

// Commit is one commit of a Comparison.
type Commit struct {
	SHA   string
	Title string // the first line of the message
	// Author is the author's GitHub login, or the name in the commit when
	// the email belongs to no account.
	Author string
	URL    string // the commit's page
	PR     int    // the pull request the message names; 0 when none
}

// PullRequest is a pull request a commit message names.
type PullRequest struct {
	Number int
	// Title is the pull request's, as the merge commit carries it: a
	// squash merge's first line without " (#N)", or the body's first line
	// of a merge commit. It may be empty.
	Title string
	URL   string
}

// Repository is the "owner/name" the client talks to.
func (c *Client) Repository() string {
	return c.owner + "/" + c.repo
}

// Compare lists the commits between base and head (base...head) with
// GitHub's compare API, reading its first page. A base or head GitHub does
// not know gives an error wrapping ErrUnknownCommit that names it. Errors
// never carry the client's token.
func (c *Client) Compare(ctx context.Context, base, head string) (*Comparison, error) {
	if base == "" || head == "" {
		return nil, errors.New("comparing needs a base and a head commit")
	}
	comp, _, err := c.gh.Repositories.CompareCommits(ctx, c.owner, c.repo, base, head, nil)
	if err != nil {
		if isNotFound(err) {
			err = c.unknown(ctx, base, head, err)
		}
		return nil, c.redact(fmt.Errorf("comparing %s...%s in %s: %w", base, head, c.Repository(), err))
	}
	return newComparison(base, head, comp), nil
}

func newComparison(base, head string, comp *gh.CommitsComparison) *Comparison {
	out := &Comparison{
		Base: base, Head: head,
		Status:       comp.GetStatus(),
		AheadBy:      comp.GetAheadBy(),
		BehindBy:     comp.GetBehindBy(),
		TotalCommits: comp.GetTotalCommits(),
		HTMLURL:      comp.GetHTMLURL(),
	}
	web, _, _ := strings.Cut(out.HTMLURL, "/compare/")
	seen := map[int]bool{}
	for _, rc := range comp.Commits {
		cm := Commit{SHA: rc.GetSHA(), URL: rc.GetHTMLURL(), Author: rc.GetAuthor().GetLogin()}
		if cm.Author == "" {
			cm.Author = rc.GetCommit().GetAuthor().GetName()
		}
		msg := rc.GetCommit().GetMessage()
		cm.Title = firstLine(msg)
		if web == "" {
			web, _, _ = strings.Cut(cm.URL, "/commit/")
		}
		if n, title := pullRequestOf(msg); n > 0 {
			cm.PR = n
			if !seen[n] {
				seen[n] = true
				pr := PullRequest{Number: n, Title: title}
				if web != "" {
					pr.URL = web + "/pull/" + strconv.Itoa(n)
				}
				out.PullRequests = append(out.PullRequests, pr)
			}
		}
		out.Commits = append(out.Commits, cm)
	}
	// total_commits is absent from some GitHub Enterprise versions.
	out.TotalCommits = max(out.TotalCommits, len(out.Commits))
	return out
}

// unknown says which of base and head GitHub does not know, after the
// compare API answered 404 (which does not say). It returns err when
// both are known, or when asking failed.
func (c *Client) unknown(ctx context.Context, base, head string, err error) error {
	var missing []string
	for _, ref := range []string{base, head} {
		_, _, probe := c.gh.Repositories.GetCommitSHA1(ctx, c.owner, c.repo, ref, "")
		switch {
		case probe == nil:
		case isNotFound(probe) || statusOf(probe) == http.StatusUnprocessableEntity:
			// 422 "No commit found for SHA" is GitHub's answer for a
			// commit the repository does not have.
			missing = append(missing, strconv.Quote(ref))
		default:
			return err
		}
	}
	switch len(missing) {
	case 0:
		return err
	case 1:
		return fmt.Errorf("%w %s", ErrUnknownCommit, missing[0])
	default:
		return fmt.Errorf("%w %s and %s (or the token cannot read the repository)", ErrUnknownCommit, missing[0], missing[1])
	}
}

func isNotFound(err error) bool {
	return statusOf(err) == http.StatusNotFound
}

// statusOf is the HTTP status of a GitHub error answer; 0 for other
// errors.
func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// redact removes the token from err's text. go-github's errors carry the
// request URL, which holds the token only when the API URL was given with
// it; the errors of Compare end up in step summaries, which the runner
// does not mask.
func (c *Client) redact(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), c.token, "***"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

var (
	// GitHub's merge commit: "Merge pull request #12 from owner/branch",
	// then a blank line and the pull request's title.
	mergeCommit = regexp.MustCompile(`^Merge pull request #([0-9]+) from \S`)
	// GitHub's squash merge: "The title (#12)".
	squashMerge = regexp.MustCompile(`^(.*?)\s*\(#([0-9]+)\)$`)
)

// pullRequestOf returns the pull request a commit message names as
// GitHub's merge or squash merge writes it, and its title; 0 when it
// names none.
func pullRequestOf(message string) (int, string) {
	lines := nonBlankLines(message)
	if len(lines) == 0 {
		return 0, ""
	}
	if m := mergeCommit.FindStringSubmatch(lines[0]); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 {
			return 0, ""
		}
		if len(lines) > 1 {
			return n, lines[1]
		}
		return n, ""
	}
	if m := squashMerge.FindStringSubmatch(lines[0]); m != nil {
		n, err := strconv.Atoi(m[2])
		if err != nil || n <= 0 {
			return 0, ""
		}
		return n, m[1]
	}
	return 0, ""
}

// firstLine is the first line of s that is not blank, trimmed.
func firstLine(s string) string {
	if lines := nonBlankLines(s); len(lines) > 0 {
		return lines[0]
	}
	return ""
}

// nonBlankLines are the lines of s that are not blank, trimmed. A lone
// '\r' ends a line too, so that no line carries one.
func nonBlankLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
