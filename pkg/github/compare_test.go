package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha4 = "4444444444444444444444444444444444444444"
)

// compareAPI answers the compare API from recorded payloads, and the
// commits API (the probe after a 404) for the SHAs in known.
type compareAPI struct {
	status int    // of the compare call
	body   string // of the compare call
	known  map[string]bool

	mu    sync.Mutex
	calls []string
	auth  []string
}

func (f *compareAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/repos/acme/fx/compare/"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		w.Write([]byte(f.body))
	case strings.HasPrefix(r.URL.Path, "/repos/acme/fx/commits/"):
		sha := strings.TrimPrefix(r.URL.Path, "/repos/acme/fx/commits/")
		if !f.known[sha] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity) // GitHub's answer to an unknown SHA
			w.Write([]byte(`{"message":"No commit found for SHA: ` + sha + `","status":"422"}`))
			return
		}
		w.Write([]byte(sha))
	default:
		http.NotFound(w, r)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompare(t *testing.T) {
	api := &compareAPI{status: http.StatusOK, body: readFile(t, "testdata/compare-ahead.json")}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c, err := New("acme/fx", "ghs_secret", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Compare(context.Background(), sha1, sha4)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"GET /repos/acme/fx/compare/" + sha1 + "..." + sha4}
	if !reflect.DeepEqual(api.calls, wantCalls) {
		t.Errorf("requests = %q, want %q", api.calls, wantCalls)
	}
	if api.auth[0] != "Bearer ghs_secret" {
		t.Errorf("Authorization = %q, want the token", api.auth[0])
	}
	commit := func(sha, title, author string, pr int) Commit {
		return Commit{SHA: strings.Repeat(sha, 40), Title: title, Author: author, PR: pr,
			URL: "https://github.com/acme/fx/commit/" + strings.Repeat(sha, 40)}
	}
	want := &Comparison{
		Base: sha1, Head: sha4, Status: "ahead", AheadBy: 5, TotalCommits: 5,
		HTMLURL: "https://github.com/acme/fx/compare/" + sha1 + "..." + sha4,
		Commits: []Commit{
			commit("2", "Round quotes to the instrument's pip size (#41)", "analima", 41),
			commit("3", "Cache the rate table for 5 s", "Bo Chen", 0),
			commit("5", "Merge pull request #43 from acme/rate-cache", "analima", 43),
			commit("6", `Revert "Round quotes to the instrument's pip size (#41)" (#44)`, "analima", 44),
			commit("4", "Round quotes to the instrument's pip size (#41)", "analima", 41),
		},
		PullRequests: []PullRequest{
			{Number: 41, Title: "Round quotes to the instrument's pip size", URL: "https://github.com/acme/fx/pull/41"},
			{Number: 43, Title: "Cache the rate table", URL: "https://github.com/acme/fx/pull/43"},
			{Number: 44, Title: `Revert "Round quotes to the instrument's pip size (#41)"`, URL: "https://github.com/acme/fx/pull/44"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compare =\n%+v\nwant\n%+v", got, want)
	}
	if got.More() != 0 {
		t.Errorf("More() = %d, want 0", got.More())
	}
}

func TestCompareDiverged(t *testing.T) {
	body := `{"html_url": "https://github.com/acme/fx/compare/a...b", "status": "diverged", "ahead_by": 2, "behind_by": 3, "total_commits": 2,
		"commits": [{"sha": "b1", "commit": {"message": "Hotfix (#7)"}, "html_url": "https://github.com/acme/fx/commit/b1"},
		            {"sha": "b2", "commit": {"message": "Log the hotfix"}, "html_url": "https://github.com/acme/fx/commit/b2"}]}`
	srv := httptest.NewServer(&compareAPI{status: http.StatusOK, body: body})
	defer srv.Close()
	c, err := New("acme/fx", "t", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Compare(context.Background(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "diverged" || got.AheadBy != 2 || got.BehindBy != 3 || len(got.Commits) != 2 {
		t.Errorf("Compare = %+v, want diverged, 2 ahead, 3 behind, 2 commits", got)
	}
	if want := []PullRequest{{Number: 7, Title: "Hotfix", URL: "https://github.com/acme/fx/pull/7"}}; !reflect.DeepEqual(got.PullRequests, want) {
		t.Errorf("PullRequests = %+v, want %+v", got.PullRequests, want)
	}
}

func TestCompareErrors(t *testing.T) {
	notFound := `{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/commits/commits#compare-two-commits", "status": "404"}`
	tests := []struct {
		name      string
		status    int
		body      string
		known     map[string]bool
		userinfo  bool // the API URL carries the token, as a careless GITHUB_API_URL could
		unknown   bool // errors.Is(err, ErrUnknownCommit)
		wantErr   string
		wantCalls int
	}{
		{name: "unknown head", status: 404, body: notFound, known: map[string]bool{sha1: true}, unknown: true, wantCalls: 3,
			wantErr: `comparing ` + sha1 + `...` + sha4 + ` in acme/fx: unknown commit "` + sha4 + `"`},
		{name: "unknown base", status: 404, body: notFound, known: map[string]bool{sha4: true}, unknown: true, wantCalls: 3,
			wantErr: `comparing ` + sha1 + `...` + sha4 + ` in acme/fx: unknown commit "` + sha1 + `"`},
		{name: "both unknown", status: 404, body: notFound, unknown: true, wantCalls: 3,
			wantErr: `unknown commit "` + sha1 + `" and "` + sha4 + `" (or the token cannot read the repository)`},
		{name: "404 with both known", status: 404, body: notFound, known: map[string]bool{sha1: true, sha4: true}, wantCalls: 3,
			wantErr: `404 Not Found`},
		{name: "server error", status: 502, body: `{"message": "Server Error"}`, wantCalls: 1, wantErr: `502 Server Error`},
		{name: "token in the API URL", status: 502, body: `{"message": "Server Error"}`, userinfo: true, wantCalls: 1, wantErr: `x:***@`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &compareAPI{status: tc.status, body: tc.body, known: tc.known}
			srv := httptest.NewServer(api)
			defer srv.Close()
			apiURL := srv.URL
			if tc.userinfo {
				apiURL = strings.Replace(apiURL, "http://", "http://x:ghs_secret@", 1)
			}
			c, err := New("acme/fx", "ghs_secret", apiURL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Compare(context.Background(), sha1, sha4)
			if err == nil {
				t.Fatal("Compare succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "ghs_secret") {
				t.Errorf("error = %q carries the token", err)
			}
			if got := errors.Is(err, ErrUnknownCommit); got != tc.unknown {
				t.Errorf("errors.Is(err, ErrUnknownCommit) = %v, want %v", got, tc.unknown)
			}
			if len(api.calls) != tc.wantCalls {
				t.Errorf("requests = %q, want %d", api.calls, tc.wantCalls)
			}
		})
	}
}

func TestPullRequestOf(t *testing.T) {
	tests := []struct {
		msg       string
		wantN     int
		wantTitle string
	}{
		{msg: "Merge pull request #123 from acme/feature-x\n\nAdd feature X\n\nLonger text.", wantN: 123, wantTitle: "Add feature X"},
		{msg: "Merge pull request #9 from fork:branch", wantN: 9},
		{msg: "Add feature X (#123)", wantN: 123, wantTitle: "Add feature X"},
		{msg: "Add feature X (#123)\r\n\r\n* one\r\n* two", wantN: 123, wantTitle: "Add feature X"},
		{msg: "Add feature X (#123)  ", wantN: 123, wantTitle: "Add feature X"},
		{msg: "Fix (#12) in the middle of a title"},
		{msg: "Merge branch 'main' into feature"},
		{msg: "Merge pull request #0 from a/b"},
		{msg: "Title (#99999999999999999999999)"},
		{msg: "Title\n\nBody (#12)"},
		{msg: ""},
	}
	for _, tc := range tests {
		n, title := pullRequestOf(tc.msg)
		if n != tc.wantN || title != tc.wantTitle {
			t.Errorf("pullRequestOf(%q) = %d, %q, want %d, %q", tc.msg, n, title, tc.wantN, tc.wantTitle)
		}
	}
}

func FuzzPullRequestOf(f *testing.F) {
	f.Add("Merge pull request #123 from acme/feature-x\n\nAdd feature X")
	f.Add("Add feature X (#123)")
	f.Add("(#1)")
	f.Add("0\r0(#1)") // a lone carriage return once reached a title
	f.Fuzz(func(t *testing.T, msg string) {
		n, title := pullRequestOf(msg)
		if n < 0 || (n == 0 && title != "") {
			t.Errorf("pullRequestOf(%q) = %d, %q", msg, n, title)
		}
		if strings.ContainsAny(title, "\r\n") {
			t.Errorf("title %q spans lines", title)
		}
	})
}
