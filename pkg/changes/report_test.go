package changes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

var _ Comparer = (*github.Client)(nil)

// fakeComparer answers every comparison with cmp or err, and records
// what it was asked.
type fakeComparer struct {
	repo  string
	cmp   *github.Comparison
	err   error
	calls []string
}

func (f *fakeComparer) Repository() string { return f.repo }

func (f *fakeComparer) Compare(_ context.Context, base, head string) (*github.Comparison, error) {
	f.calls = append(f.calls, base+"..."+head)
	return f.cmp, f.err
}

func TestCollect(t *testing.T) {
	reg := newRegistry(t)
	stable := reg.push("acme/fx", labelled(t, labels(stableSHA)))
	candidate := reg.push("acme/fx", labelled(t, labels(candidateSHA)))
	unlabelled := reg.push("acme/fx", labelled(t, nil))
	fork := reg.push("acme/fx", labelled(t, map[string]string{image.LabelRevision: candidateSHA, image.LabelSource: "https://github.com/bo/fx.git"}))
	missing := reg.host + "/acme/fx@sha256:" + strings.Repeat("0", 64)
	cmp := &github.Comparison{Base: stableSHA, Head: candidateSHA, Status: "ahead", AheadBy: 1, TotalCommits: 1}
	compareFailed := errors.New("comparing: 502 Server Error")

	tests := []struct {
		name              string
		stable, candidate string
		comparer          *fakeComparer // nil: no token
		wantCalls         []string
		wantCmp           *github.Comparison
		wantCompareErr    error
		wantStableErr     bool
		wantNotes         []string
	}{
		{name: "compared", stable: stable, candidate: candidate, comparer: &fakeComparer{repo: "acme/fx", cmp: cmp},
			wantCalls: []string{stableSHA + "..." + candidateSHA}, wantCmp: cmp},
		{name: "no token", stable: stable, candidate: candidate},
		{name: "same revision", stable: stable, candidate: stable, comparer: &fakeComparer{repo: "acme/fx", cmp: cmp}},
		{name: "no revision label", stable: unlabelled, candidate: candidate, comparer: &fakeComparer{repo: "acme/fx", cmp: cmp}},
		{name: "stable unreadable", stable: missing, candidate: candidate, comparer: &fakeComparer{repo: "acme/fx", cmp: cmp}, wantStableErr: true},
		{name: "compare fails", stable: stable, candidate: candidate, comparer: &fakeComparer{repo: "acme/fx", err: compareFailed},
			wantCalls: []string{stableSHA + "..." + candidateSHA}, wantCompareErr: compareFailed},
		{name: "candidate from another repository", stable: stable, candidate: fork, comparer: &fakeComparer{repo: "acme/fx", cmp: cmp},
			wantCalls: []string{stableSHA + "..." + candidateSHA}, wantCmp: cmp,
			wantNotes: []string{"the candidate image's source is https://github.com/bo/fx.git, not acme/fx, where the commits are compared"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Comparer
			if tc.comparer != nil {
				c = tc.comparer
			}
			got := Collect(context.Background(), tc.stable, tc.candidate, reg.remote(), c)
			if tc.comparer != nil && !reflect.DeepEqual(tc.comparer.calls, tc.wantCalls) {
				t.Errorf("comparisons = %q, want %q", tc.comparer.calls, tc.wantCalls)
			}
			if got.Comparison != tc.wantCmp {
				t.Errorf("Comparison = %+v, want %+v", got.Comparison, tc.wantCmp)
			}
			if got.CompareErr != tc.wantCompareErr {
				t.Errorf("CompareErr = %v, want %v", got.CompareErr, tc.wantCompareErr)
			}
			if (got.StableErr != nil) != tc.wantStableErr || got.CandidateErr != nil {
				t.Errorf("StableErr = %v, CandidateErr = %v", got.StableErr, got.CandidateErr)
			}
			if got.Stable.Image != tc.stable || got.Candidate.Image != tc.candidate {
				t.Errorf("images = %q, %q, want %q, %q", got.Stable.Image, got.Candidate.Image, tc.stable, tc.candidate)
			}
			if !reflect.DeepEqual(got.Notes, tc.wantNotes) {
				t.Errorf("Notes = %q, want %q", got.Notes, tc.wantNotes)
			}
		})
	}
}

// TestCollectGitHub collects through a github.Client, against a stand-in
// for the compare API.
func TestCollectGitHub(t *testing.T) {
	reg := newRegistry(t)
	stable := reg.push("acme/fx", labelled(t, labels(stableSHA)))
	candidate := reg.push("acme/fx", labelled(t, labels(candidateSHA)))
	var paths []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"html_url": "https://github.com/acme/fx/compare/%s...%s", "status": "ahead", "ahead_by": 1, "total_commits": 1,
			"commits": [{"sha": %q, "commit": {"message": "Cache the rate table (#43)", "author": {"name": "Bo Chen"}},
			"html_url": "https://github.com/acme/fx/commit/%s"}]}`, stableSHA, candidateSHA, candidateSHA, candidateSHA)
	}))
	defer api.Close()
	gh, err := github.New("acme/fx", "ghs_secret", api.URL, api.Client())
	if err != nil {
		t.Fatal(err)
	}
	rep := Collect(context.Background(), stable, candidate, reg.remote(), gh)
	if want := []string{"/repos/acme/fx/compare/" + stableSHA + "..." + candidateSHA}; !reflect.DeepEqual(paths, want) {
		t.Errorf("requests = %q, want %q", paths, want)
	}
	want := []Change{{SHA: candidateSHA, Title: "Cache the rate table", Author: "Bo Chen", PR: 43,
		URL: "https://github.com/acme/fx/commit/" + candidateSHA, PRURL: "https://github.com/acme/fx/pull/43"}}
	if got := rep.Changes(); !reflect.DeepEqual(got, want) {
		t.Errorf("Changes = %+v, want %+v", got, want)
	}
}

func TestSourceNotes(t *testing.T) {
	const fx, fork = "https://github.com/acme/fx", "https://github.com/bo/fx"
	tests := []struct {
		name              string
		stable, candidate string // sources
		repo              string
		want              []string
	}{
		{name: "same repository", stable: fx, candidate: fx + ".git", repo: "acme/fx"},
		{name: "case differs", stable: "https://github.com/Acme/FX/", candidate: fx, repo: "acme/fx"},
		{name: "no sources", repo: "acme/fx"},
		{name: "not a repository URL", stable: "acme", candidate: "https://example.com/", repo: "acme/fx"},
		{name: "candidate elsewhere", stable: fx, candidate: fork, repo: "acme/fx",
			want: []string{"the candidate image's source is https://github.com/bo/fx, not acme/fx, where the commits are compared"}},
		{name: "both elsewhere", stable: fork, candidate: fork, repo: "acme/fx",
			want: []string{"both images' source is https://github.com/bo/fx, not acme/fx, where the commits are compared"}},
		{name: "each elsewhere", stable: "https://github.com/a/fx", candidate: fork, repo: "acme/fx", want: []string{
			"the stable image's source is https://github.com/a/fx, not acme/fx, where the commits are compared",
			"the candidate image's source is https://github.com/bo/fx, not acme/fx, where the commits are compared"}},
		{name: "no token, two repositories", stable: fx, candidate: fork,
			want: []string{"the stable image's source is https://github.com/acme/fx, the candidate's https://github.com/bo/fx"}},
		{name: "no token, one repository", stable: fx, candidate: fx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sourceNotes(Revision{Source: tc.stable}, Revision{Source: tc.candidate}, tc.repo)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("sourceNotes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{
		candidateSHA:       "4444444",
		"ABCDEF0123456789": "ABCDEF0",
		"abc1234":          "abc1234",
		"v1.2.3":           "v1.2.3",
		"not-a-sha-at-all": "not-a-sha-at-all",
	} {
		if got := short(in); got != want {
			t.Errorf("short(%q) = %q, want %q", in, got, want)
		}
	}
}
