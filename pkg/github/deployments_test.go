package github

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAPI is a recording stand-in for GitHub's Deployments API. It
// knows deployments 7 (success), 8 (failure) and 9 (inactive) in
// "staging"; new deployments get ids from 100.
type fakeAPI struct {
	mu    sync.Mutex
	calls []string
	auth  []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	call := r.Method + " " + r.URL.RequestURI()
	if len(body) > 0 {
		call += " " + compact(body)
	}
	f.calls = append(f.calls, call)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	switch {
	case r.Method == "POST" && path == "/repos/acme/fx/deployments":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 100}`)
	case r.Method == "GET" && path == "/repos/acme/fx/deployments":
		fmt.Fprint(w, `[{"id": 100}, {"id": 9}, {"id": 8}, {"id": 7}]`)
	case r.Method == "GET" && strings.HasSuffix(path, "/statuses"):
		state := map[string]string{"/repos/acme/fx/deployments/7/statuses": "success",
			"/repos/acme/fx/deployments/8/statuses": "failure", "/repos/acme/fx/deployments/9/statuses": "inactive"}[path]
		fmt.Fprintf(w, `[{"id": 1, "state": %q}]`, state)
	case r.Method == "POST" && strings.HasSuffix(path, "/statuses"):
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 1}`)
	default:
		http.NotFound(w, r)
	}
}

func compact(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v) // keys sorted
	return string(out)
}

func TestDeploymentSequence(t *testing.T) {
	const (
		create     = `POST /repos/acme/fx/deployments {"auto_merge":false,"description":"fx-platform to staging","environment":"staging","payload":{"image":"r@sha256:ab"},"production_environment":false,"ref":"abc123","required_contexts":[],"task":"deploy","transient_environment":false}`
		inProgress = `POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"Deploying","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"in_progress"}`
	)
	tests := []struct {
		name     string
		apiPath  string // the path GITHUB_API_URL carries (GitHub Enterprise: /api/v3)
		succeed  bool
		progress []string // in_progress statuses posted before the end
		want     []string
	}{
		{name: "success", succeed: true, want: []string{
			create, inProgress,
			`POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"Revision 2 deployed","environment":"staging","environment_url":"https://staging.example.com","log_url":"https://github.com/acme/fx/actions/runs/1","state":"success"}`,
			`GET /repos/acme/fx/deployments?environment=staging&per_page=100`,
			`GET /repos/acme/fx/deployments/9/statuses?per_page=1`,
			`GET /repos/acme/fx/deployments/8/statuses?per_page=1`,
			`GET /repos/acme/fx/deployments/7/statuses?per_page=1`,
			`POST /repos/acme/fx/deployments/7/statuses {"description":"Superseded by deployment 100","environment":"staging","state":"inactive"}`,
		}},
		{name: "progress then failure", progress: []string{"10 % traffic on green", "25 % traffic on green"}, want: []string{
			create, inProgress,
			`POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"10 % traffic on green","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"in_progress"}`,
			`POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"25 % traffic on green","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"in_progress"}`,
			`POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"Rolled back to revision 1","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"failure"}`,
		}},
		{name: "failure", want: []string{
			create, inProgress,
			`POST /repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"Rolled back to revision 1","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"failure"}`,
		}},
		{name: "enterprise base path", apiPath: "/api/v3", want: []string{
			"POST /api/v3" + strings.TrimPrefix(create, "POST "),
			"POST /api/v3" + strings.TrimPrefix(inProgress, "POST "),
			`POST /api/v3/repos/acme/fx/deployments/100/statuses {"auto_inactive":false,"description":"Rolled back to revision 1","environment":"staging","log_url":"https://github.com/acme/fx/actions/runs/1","state":"failure"}`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			c, err := New("acme/fx", "ghs_secret", srv.URL+tc.apiPath, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			d, err := c.Start(ctx, Request{Ref: "abc123", Environment: "staging", Description: "fx-platform to staging",
				Payload: map[string]any{"image": "r@sha256:ab"}, LogURL: "https://github.com/acme/fx/actions/runs/1"})
			if err != nil {
				t.Fatal(err)
			}
			if d.ID != 100 {
				t.Errorf("deployment id = %d, want 100", d.ID)
			}
			for _, p := range tc.progress {
				if err := d.Progress(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if tc.succeed {
				err = d.Succeed(ctx, "Revision 2 deployed", "https://staging.example.com")
			} else {
				err = d.Fail(ctx, "Rolled back to revision 1")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(api.calls, "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			for i, a := range api.auth {
				if a != "Bearer ghs_secret" {
					t.Errorf("request %d Authorization = %q", i, a)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, repo, token, url string
		wantErr                bool
	}{
		{name: "default url", repo: "acme/fx", token: "t"},
		{name: "bad repository", repo: "acme", token: "t", wantErr: true},
		{name: "nested repository", repo: "a/b/c", token: "t", wantErr: true},
		{name: "no token", repo: "acme/fx", wantErr: true},
		{name: "bad url", repo: "acme/fx", token: "t", url: "ftp://x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.repo, tc.token, tc.url, nil)
			if (err != nil) != tc.wantErr {
				t.Errorf("New() error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
