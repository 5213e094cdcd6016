package changes

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

// Comparer lists the commits between two; *github.Client is one.
type Comparer interface {
	// Repository is the "owner/name" the commits are compared in.
	Repository() string
	Compare(ctx context.Context, base, head string) (*github.Comparison, error)
}

// Report is what changed between the stable and the candidate images.
type Report struct {
	Stable, Candidate Revision
	// StableErr and CandidateErr say why an image could not be read.
	StableErr, CandidateErr error
	// Repository is the "owner/name" the revisions were compared in; ""
	// when there was no comparer.
	Repository string
	// Comparison is the commits between the revisions; nil when they were
	// not compared: a revision is unknown, both are the same, there was
	// no comparer, or comparing failed (CompareErr).
	Comparison *github.Comparison
	CompareErr error
	// Notes are remarks that are no failure, such as an image whose
	// source names another repository than the one compared in.
	Notes []string
}

// Collect reads the revisions of the stable and the candidate images and,
// with c, compares them; c is nil when there is no GitHub token, and the
// report then gives the revisions only. It never fails: what it could not
// learn is in the report, since the report of a failed rollout must not
// fail itself. ctx bounds all of it.
func Collect(ctx context.Context, stable, candidate string, r image.Remote, c Comparer) Report {
	var rep Report
	rep.Stable, rep.StableErr = ReadRevision(ctx, stable, r)
	rep.Candidate, rep.CandidateErr = ReadRevision(ctx, candidate, r)
	if c != nil {
		rep.Repository = c.Repository()
	}
	rep.Notes = sourceNotes(rep.Stable, rep.Candidate, rep.Repository)
	if c == nil || rep.outcome() != outcomeUncompared {
		return rep
	}
	rep.Comparison, rep.CompareErr = c.Compare(ctx, rep.Stable.Revision, rep.Candidate.Revision)
	return rep
}

type outcome int

const (
	outcomeUnknown    outcome = iota // an image unread, or without a revision label
	outcomeSame                      // one revision
	outcomeUncompared                // two revisions, no comparison
	outcomeFailed                    // comparing failed
	outcomeCompared
)

func (r Report) outcome() outcome {
	switch {
	case r.StableErr != nil || r.CandidateErr != nil || !r.Stable.Known() || !r.Candidate.Known():
		return outcomeUnknown
	case strings.EqualFold(r.Stable.Revision, r.Candidate.Revision):
		return outcomeSame
	case r.CompareErr != nil:
		return outcomeFailed
	case r.Comparison == nil:
		return outcomeUncompared
	case r.Comparison.Status == "identical":
		return outcomeSame
	}
	return outcomeCompared
}

// Change is one commit between the stable and the candidate revisions,
// for a notifier.
type Change struct {
	SHA string
	// Title is the first line of the message, or the pull request's
	// title for a merge commit, without the " (#N)" GitHub appends.
	Title  string
	Author string // GitHub login, or the name in the commit
	URL    string // the commit's page
	PR     int    // the pull request it came with; 0 when none
	PRURL  string
}

// Changes are the commits the comparison listed (GitHub's first page),
// oldest first; nil when the revisions were not compared.
func (r Report) Changes() []Change {
	if r.Comparison == nil {
		return nil
	}
	prs := map[int]github.PullRequest{}
	for _, pr := range r.Comparison.PullRequests {
		prs[pr.Number] = pr
	}
	out := make([]Change, 0, len(r.Comparison.Commits))
	for _, c := range r.Comparison.Commits {
		pr := prs[c.PR]
		out = append(out, Change{SHA: c.SHA, Title: title(c, pr), Author: c.Author, URL: c.URL, PR: c.PR, PRURL: pr.URL})
	}
	return out
}

// title is how a commit reads in a list that links its pull request
// separately.
func title(c github.Commit, pr github.PullRequest) string {
	if c.PR == 0 {
		return c.Title
	}
	if strings.HasPrefix(c.Title, "Merge pull request #") && pr.Title != "" {
		return pr.Title
	}
	return strings.TrimSpace(strings.TrimSuffix(c.Title, fmt.Sprintf("(#%d)", c.PR)))
}

// Summary is the report in one line of plain text, for a notification's
// headline.
func (r Report) Summary() string {
	pair := short(r.Stable.Revision) + " → " + short(r.Candidate.Revision)
	switch r.outcome() {
	case outcomeUnknown:
		return "changes unknown: " + strings.Join(r.unknownReasons(), "; ")
	case outcomeSame:
		return "stable and candidate are built from the same commit " + short(r.Candidate.Revision)
	case outcomeFailed:
		return pair + " (listing the commits failed)"
	case outcomeUncompared:
		return pair
	}
	cmp := r.Comparison
	switch cmp.Status {
	case "behind":
		return fmt.Sprintf("%s: the candidate is %s behind the stable commit", pair, commits(cmp.BehindBy))
	case "diverged":
		return fmt.Sprintf("%s: diverged, %d ahead, %d behind", pair, cmp.AheadBy, cmp.BehindBy)
	}
	s := pair + ": " + commits(cmp.TotalCommits)
	if len(cmp.PullRequests) > 0 {
		nums := make([]string, len(cmp.PullRequests))
		for i, pr := range cmp.PullRequests {
			nums[i] = fmt.Sprintf("#%d", pr.Number)
		}
		s += ", pull requests " + strings.Join(nums, " ")
	}
	return s
}

// unknownReasons say why the revisions cannot be compared, one per image
// at fault.
func (r Report) unknownReasons() []string {
	var out []string
	for _, side := range r.sides() {
		switch {
		case side.err != nil:
			out = append(out, "the "+side.name+" image could not be read")
		case !side.rev.Known():
			out = append(out, "the "+side.name+" image has no revision label")
		}
	}
	return out
}

type side struct {
	name string
	rev  Revision
	err  error
}

func (r Report) sides() []side {
	return []side{{"stable", r.Stable, r.StableErr}, {"candidate", r.Candidate, r.CandidateErr}}
}

func commits(n int) string {
	if n == 1 {
		return "1 commit"
	}
	return fmt.Sprintf("%d commits", n)
}

// short is a commit SHA's first 7 characters; other revisions are kept
// whole.
func short(rev string) string {
	if len(rev) >= 12 && strings.Trim(strings.ToLower(rev), "0123456789abcdef") == "" {
		return rev[:7]
	}
	return rev
}

// sourceNotes remark on images whose source label names another
// repository than repo (the one compared in), or, without one, on images
// from two repositories.
func sourceNotes(stable, candidate Revision, repo string) []string {
	ss, cs := repoOf(stable.Source), repoOf(candidate.Source)
	if repo == "" {
		if ss != "" && cs != "" && !strings.EqualFold(ss, cs) {
			return []string{fmt.Sprintf("the stable image's source is %s, the candidate's %s", stable.Source, candidate.Source)}
		}
		return nil
	}
	other := func(s string) bool { return s != "" && !strings.EqualFold(s, repo) }
	if other(ss) && other(cs) && strings.EqualFold(ss, cs) {
		return []string{fmt.Sprintf("both images' source is %s, not %s, where the commits are compared", candidate.Source, repo)}
	}
	var notes []string
	for _, s := range []side{{"stable", stable, nil}, {"candidate", candidate, nil}} {
		if other(repoOf(s.rev.Source)) {
			notes = append(notes, fmt.Sprintf("the %s image's source is %s, not %s, where the commits are compared", s.name, s.rev.Source, repo))
		}
	}
	return notes
}

// repoOf is the "owner/name" of a repository URL such as
// https://github.com/acme/fx(.git); "" when source is not one.
func repoOf(source string) string {
	u, err := url.Parse(source)
	if err != nil || u.Host == "" {
		return ""
	}
	p := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if owner, name, ok := strings.Cut(p, "/"); ok && owner != "" && name != "" && !strings.Contains(name, "/") {
		return p
	}
	return ""
}

// compareURL is the compare page of the two revisions: GitHub's answer,
// else one made from the candidate's source when it is on github.com.
func (r Report) compareURL() string {
	if r.Comparison != nil && r.Comparison.HTMLURL != "" {
		return r.Comparison.HTMLURL
	}
	for _, rev := range []Revision{r.Candidate, r.Stable} {
		u, err := url.Parse(rev.Source)
		if err != nil || u.Scheme != "https" || u.Host != "github.com" {
			continue
		}
		if repo := repoOf(rev.Source); repo != "" && (r.Repository == "" || strings.EqualFold(repo, r.Repository)) {
			return "https://github.com/" + repo + "/compare/" + url.PathEscape(r.Stable.Revision) + "..." + url.PathEscape(r.Candidate.Revision)
		}
	}
	return ""
}
