package changes

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/github"
)

const (
	stableImage    = "ghcr.io/acme/fx@sha256:aaaa"
	candidateImage = "ghcr.io/acme/fx@sha256:bbbb"
	compareURL     = "https://github.com/acme/fx/compare/" + stableSHA + "..." + candidateSHA
	heading        = "#### Changes between stable and candidate\n\n"
)

func commitURL(sha string) string { return "https://github.com/acme/fx/commit/" + sha }

// comparison is what github.Client.Compare makes of a range with a squash
// merge, a plain commit and a merge commit.
func comparison() *github.Comparison {
	return &github.Comparison{
		Base: stableSHA, Head: candidateSHA, Status: "ahead", AheadBy: 3, TotalCommits: 3, HTMLURL: compareURL,
		Commits: []github.Commit{
			{SHA: strings.Repeat("2", 40), Title: "Round quotes to the pip size (#41)", Author: "analima", URL: commitURL(strings.Repeat("2", 40)), PR: 41},
			{SHA: strings.Repeat("3", 40), Title: "Cache the *rate* table for 5_s", Author: "Bo Chen", URL: commitURL(strings.Repeat("3", 40))},
			{SHA: candidateSHA, Title: "Merge pull request #43 from acme/rate-cache", Author: "analima", URL: commitURL(candidateSHA), PR: 43},
		},
		PullRequests: []github.PullRequest{
			{Number: 41, Title: "Round quotes to the pip size", URL: "https://github.com/acme/fx/pull/41"},
			{Number: 43, Title: "Cache the rate table", URL: "https://github.com/acme/fx/pull/43"},
		},
	}
}

func revisions(stable, candidate string) (Revision, Revision) {
	return Revision{Image: stableImage, Revision: stable, Source: source}, Revision{Image: candidateImage, Revision: candidate, Source: source}
}

func TestMarkdown(t *testing.T) {
	stable, candidate := revisions(stableSHA, candidateSHA)
	pair := "[`1111111` → `4444444`](" + compareURL + ")"

	many := comparison()
	many.TotalCommits, many.AheadBy = 30, 30
	many.Commits = nil
	for i := range 25 { // GitHub's first page holds more than MaxListed
		sha := fmt.Sprintf("%040x", i)
		many.Commits = append(many.Commits, github.Commit{SHA: sha, Title: fmt.Sprintf("Change %d", i), URL: commitURL(sha)})
	}
	var manyLines strings.Builder
	for i := range MaxListed {
		sha := fmt.Sprintf("%040x", i)
		fmt.Fprintf(&manyLines, "- [`%s`](%s) Change %d\n", sha[:7], commitURL(sha), i)
	}

	diverged := comparison()
	diverged.Status, diverged.AheadBy, diverged.BehindBy, diverged.TotalCommits = "diverged", 1, 2, 1
	diverged.Commits = diverged.Commits[:1]

	behind := comparison()
	behind.Status, behind.AheadBy, behind.BehindBy, behind.TotalCommits, behind.Commits = "behind", 0, 4, 0, nil

	identical := comparison()
	identical.Status, identical.AheadBy, identical.TotalCommits, identical.Commits = "identical", 0, 0, nil

	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{name: "compared", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: comparison()}, want: heading +
			"Stable → candidate: " + pair + ", 3 commits:\n\n" +
			"- [`2222222`](" + commitURL(strings.Repeat("2", 40)) + ") Round quotes to the pip size ([#41](https://github.com/acme/fx/pull/41)) — analima\n" +
			"- [`3333333`](" + commitURL(strings.Repeat("3", 40)) + ") Cache the \\*rate\\* table for 5\\_s — Bo Chen\n" +
			"- [`4444444`](" + commitURL(candidateSHA) + ") Cache the rate table ([#43](https://github.com/acme/fx/pull/43)) — analima\n"},
		{name: "more than listed", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: many}, want: heading +
			"Stable → candidate: " + pair + ", 30 commits:\n\n" + manyLines.String() + "- …and 10 more\n"},
		{name: "diverged", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: diverged}, want: heading +
			"Stable → candidate: " + pair + ": the candidate does not descend from the stable commit (diverged: 1 ahead, 2 behind). Its commits that the stable one lacks:\n\n" +
			"- [`2222222`](" + commitURL(strings.Repeat("2", 40)) + ") Round quotes to the pip size ([#41](https://github.com/acme/fx/pull/41)) — analima\n"},
		{name: "behind", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: behind}, want: heading +
			"Stable → candidate: " + pair + ": the candidate is 4 commits behind the stable commit (an older build); it adds no commits.\n"},
		{name: "identical", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: identical}, want: heading +
			"Stable and candidate are built from the same commit, `4444444`: what changed is not in the code (configuration, base image, build or environment).\n"},
		{name: "same revision", rep: func() Report { s, c := revisions(candidateSHA, candidateSHA); return Report{Stable: s, Candidate: c} }(), want: heading +
			"Stable and candidate are built from the same commit, `4444444`: what changed is not in the code (configuration, base image, build or environment).\n"},
		{name: "no token", rep: Report{Stable: stable, Candidate: candidate}, want: heading +
			"Stable → candidate: " + pair + ". No GitHub token was given: the commits between them are not listed.\n"},
		{name: "no token, source not on github.com", rep: Report{
			Stable:    Revision{Image: stableImage, Revision: stableSHA, Source: "https://git.example.com/acme/fx"},
			Candidate: Revision{Image: candidateImage, Revision: candidateSHA}}, want: heading +
			"Stable → candidate: `1111111` → `4444444`. No GitHub token was given: the commits between them are not listed.\n"},
		{name: "compare failed", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx",
			CompareErr: errors.New("comparing 1111...4444 in acme/fx: GET https://api.github.com/repos/acme/fx/compare/1111...4444: 502 Server Error []")}, want: heading +
			"Stable → candidate: " + pair + ". Listing the commits between them failed: " +
			"`comparing 1111...4444 in acme/fx: GET https://api.github.com/repos/acme/fx/compare/1111...4444: 502 Server Error []`.\n"},
		{name: "unknown commit", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx",
			CompareErr: fmt.Errorf("comparing 1111...4444 in acme/fx: %w \"4444\"", github.ErrUnknownCommit)}, want: heading +
			"Stable → candidate: " + pair + ". Listing the commits between them failed: `comparing 1111...4444 in acme/fx: unknown commit \"4444\"`.\n"},
		{name: "stable without revision label", rep: Report{Stable: Revision{Image: stableImage}, Candidate: candidate}, want: heading +
			"The stable image `" + stableImage + "` has no `org.opencontainers.image.revision` label.\n" +
			"The candidate image `" + candidateImage + "` is built from `4444444`.\n\n" +
			"The commits between them are unknown.\n"},
		{name: "neither has a revision label", rep: Report{Stable: Revision{Image: stableImage}, Candidate: Revision{Image: candidateImage}}, want: heading +
			"The stable image `" + stableImage + "` has no `org.opencontainers.image.revision` label.\n" +
			"The candidate image `" + candidateImage + "` has no `org.opencontainers.image.revision` label.\n\n" +
			"The commits between them are unknown.\n"},
		{name: "candidate unreadable", rep: Report{Stable: stable, Candidate: Revision{Image: candidateImage},
			CandidateErr: errors.New("reading \"" + candidateImage + "\": GET https://ghcr.io/v2/acme/fx/manifests/sha256:bbbb: MANIFEST_UNKNOWN:\nmanifest unknown")}, want: heading +
			"The stable image `" + stableImage + "` is built from `1111111`.\n" +
			"The candidate image `" + candidateImage + "` could not be read: `reading \"" + candidateImage + "\": GET https://ghcr.io/v2/acme/fx/manifests/sha256:bbbb: MANIFEST_UNKNOWN: manifest unknown`.\n\n" +
			"The commits between them are unknown.\n"},
		{name: "note", rep: Report{Stable: stable, Candidate: candidate, Repository: "acme/fx", Comparison: behind,
			Notes: []string{"the candidate image's source is https://github.com/bo/fx, not acme/fx, where the commits are compared"}}, want: heading +
			"Stable → candidate: " + pair + ": the candidate is 4 commits behind the stable commit (an older build); it adds no commits.\n" +
			"\n> [!NOTE]\n> The candidate image's source is https://github.com/bo/fx, not acme/fx, where the commits are compared.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rep.Markdown(); got != tc.want {
				t.Errorf("Markdown:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	stable, candidate := revisions(stableSHA, candidateSHA)
	behind := comparison()
	behind.Status, behind.BehindBy = "behind", 1
	diverged := comparison()
	diverged.Status, diverged.BehindBy = "diverged", 2
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{name: "compared", rep: Report{Stable: stable, Candidate: candidate, Comparison: comparison()},
			want: "1111111 → 4444444: 3 commits, pull requests #41 #43"},
		{name: "behind", rep: Report{Stable: stable, Candidate: candidate, Comparison: behind},
			want: "1111111 → 4444444: the candidate is 1 commit behind the stable commit"},
		{name: "diverged", rep: Report{Stable: stable, Candidate: candidate, Comparison: diverged},
			want: "1111111 → 4444444: diverged, 3 ahead, 2 behind"},
		{name: "no token", rep: Report{Stable: stable, Candidate: candidate}, want: "1111111 → 4444444"},
		{name: "compare failed", rep: Report{Stable: stable, Candidate: candidate, CompareErr: errors.New("x")},
			want: "1111111 → 4444444 (listing the commits failed)"},
		{name: "same", rep: Report{Stable: candidate, Candidate: candidate},
			want: "stable and candidate are built from the same commit 4444444"},
		{name: "unknown", rep: Report{Stable: Revision{}, Candidate: candidate, CandidateErr: errors.New("x")},
			want: "changes unknown: the stable image has no revision label; the candidate image could not be read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rep.Summary(); got != tc.want {
				t.Errorf("Summary = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChangesUncompared(t *testing.T) {
	stable, candidate := revisions(stableSHA, candidateSHA)
	if got := (Report{Stable: stable, Candidate: candidate}).Changes(); got != nil {
		t.Errorf("Changes = %+v, want nil", got)
	}
}

func FuzzInline(f *testing.F) {
	f.Add("Fix *the* [link](https://x) <b>bold</b> `code` ~strike~ a_b \\")
	f.Fuzz(func(t *testing.T, s string) {
		got := inline(s)
		if strings.ContainsAny(got, "\n\r<>") {
			t.Errorf("inline(%q) = %q", s, got)
		}
		// Every markdown character left is escaped.
		for i := 0; i < len(got); i++ {
			switch got[i] {
			case '\\':
				i++ // an escape, and what it escapes
			case '*', '_', '[', ']', '`', '~':
				t.Fatalf("inline(%q) = %q: %q at %d is not escaped", s, got, got[i], i)
			}
		}
	})
}
