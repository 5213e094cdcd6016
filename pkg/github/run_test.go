package github

import (
	"strings"
	"testing"
)

func TestForRun(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantLog string
		wantErr string
	}{
		{name: "runner context", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_SERVER_URL": "https://github.com/", "GITHUB_RUN_ID": "7"},
			wantLog: "https://github.com/acme/fx/actions/runs/7"},
		{name: "no run id", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc"}},
		{name: "no commit", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx"}, wantErr: "needs GITHUB_REPOSITORY and GITHUB_SHA"},
		{name: "bad repository", env: map[string]string{"GITHUB_REPOSITORY": "acme", "GITHUB_SHA": "abc"}, wantErr: `repository "acme" is not owner/name`},
		{name: "bad API URL", env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_API_URL": "ftp://x"}, wantErr: "is not an http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ForRun(func(k string) string { return tc.env[k] }, "ghs_token")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Client == nil || r.Commit != "abc" || r.LogURL != tc.wantLog {
				t.Errorf("got %+v, want commit abc and log URL %q", r, tc.wantLog)
			}
		})
	}
}
