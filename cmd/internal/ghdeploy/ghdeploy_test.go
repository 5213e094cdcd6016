package ghdeploy

import (
	"context"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
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
