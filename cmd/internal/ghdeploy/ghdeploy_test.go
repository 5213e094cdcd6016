package ghdeploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/github"
)

func TestParse(t *testing.T) {
	spec := &action.Spec{Name: "deploy", Inputs: Inputs("staging")}
	tests := []struct {
		name    string
		token   string
		env     map[string]string
		wantLog string
		wantErr string
	}{
		{name: "runner context", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_SERVER_URL": "https://github.com/", "GITHUB_RUN_ID": "7"},
			wantLog: "https://github.com/acme/fx/actions/runs/7"},
		{name: "no run id", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc"}},
		{name: "no token: nothing recorded", env: map[string]string{}},
		{name: "no commit", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx"}, wantErr: `input "github-token": recording a deployment needs GITHUB_REPOSITORY and GITHUB_SHA`},
		{name: "bad repository", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme", "GITHUB_SHA": "abc"}, wantErr: `repository "acme" is not owner/name`},
		{name: "bad API URL", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_API_URL": "ftp://x"}, wantErr: "is not an http(s) URL"},
		{name: "bad run id", token: "ghs_token", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "x7"}, wantErr: "reading the runner context"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"github-token": tc.token})
			for k, v := range tc.env {
				r.Env[k] = v
			}
			r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
				in := a.Inputs()
				g := Parse(a, in)
				err := in.Err()
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Errorf("error = %v, want %q", err, tc.wantErr)
					}
					return nil
				}
				if err != nil {
					t.Fatal(err)
				}
				if g.Environment != "staging" {
					t.Errorf("environment = %q, want the default staging", g.Environment)
				}
				if tc.token == "" {
					if g.Enabled() {
						t.Error("enabled without a token")
					}
					return nil
				}
				if !g.Enabled() || g.run.Commit != "abc" || g.run.LogURL != tc.wantLog {
					t.Errorf("got %+v, want commit abc and log URL %q", g.run, tc.wantLog)
				}
				return nil
			})
		})
	}
}

// TestProgressBounded: an in_progress status is recorded from inside a
// rollout, so a GitHub API that never answers must not hold it: Progress
// gives up after its timeout with a warning. Once the run is interrupted,
// Progress sends nothing (the final status follows) and warns of nothing.
func TestProgressBounded(t *testing.T) {
	var mu sync.Mutex
	var got []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %v", r.URL.Path, body["description"]))
		mu.Unlock()
		switch {
		case r.URL.Path == "/repos/acme/fx/deployments":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 100}`)
		case body["description"] == "hang":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 1}`)
		}
	}))
	defer api.Close()
	spec := &action.Spec{Name: "promote", Inputs: Inputs("production")}
	r := actiontest.New(t, map[string]string{"github-token": "ghs_token"})
	r.Env["GITHUB_REPOSITORY"], r.Env["GITHUB_SHA"], r.Env["GITHUB_API_URL"] = "acme/fx", "abc", api.URL
	r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
		in := a.Inputs()
		g := Parse(a, in)
		if err := in.Err(); err != nil {
			t.Fatal(err)
		}
		rec, err := g.Start(ctx, a, github.Request{Description: "test"})
		if err != nil {
			t.Fatal(err)
		}
		rec.progressTimeout = 200 * time.Millisecond
		start := time.Now()
		rec.Progress(ctx, "hang")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Progress took %s against a GitHub API that never answers, want about %s", d, rec.progressTimeout)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		rec.Progress(cancelled, "after the interruption")
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		if strings.Contains(g, "after the interruption") {
			t.Errorf("an in_progress status was sent after the interruption: %q", got)
		}
	}
	if n := strings.Count(r.Log.String(), "::warning"); n != 1 {
		t.Errorf("%d warnings, want 1 (the status that timed out):\n%s", n, r.Log.String())
	}
}
