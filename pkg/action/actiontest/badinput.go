package actiontest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

// Server is an httptest server that counts the requests it gets, so that a
// test can prove an action sent none.
type Server struct {
	*httptest.Server
	requests atomic.Int64
}

// NewServer starts a counting server for t, closed when t ends. It hands
// every request to h; a nil h answers 418, as no real server would.
func NewServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(s.count(h))
	t.Cleanup(s.Close)
	return s
}

// NewTLSServer is NewServer over TLS (a Kubernetes API server's scheme).
func NewTLSServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewTLSServer(s.count(h))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) count(h http.Handler) http.Handler {
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "this server only counts requests", http.StatusTeapot)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	})
}

// Requests is how many requests the server got so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Host is the server's host:port, as a registry reference starts.
func (s *Server) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
}

// KubeconfigToken is the bearer token of the kubeconfig Kubeconfig writes.
const KubeconfigToken = "actiontest-token"

// Kubeconfig is a kubeconfig whose one cluster is s (its certificate not
// checked), for actions that talk to a Kubernetes API server.
func (s *Server) Kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
clusters: [{name: test, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: test, user: {token: %s}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
`, s.URL, KubeconfigToken)
}

// BadInput is one case of a bad-input table: what makes one input wrong.
type BadInput struct {
	Name  string
	Set   map[string]string // inputs set over the good ones ("" empties one)
	Env   map[string]string // runner variables set over the good ones
	Input string            // the input the one error must name
}

// BadInputs is an action's bad-input table and what its cases share.
type BadInputs struct {
	Spec *action.Spec
	Run  action.RunFunc
	Good map[string]string // inputs every case starts from
	Env  map[string]string // runner variables every case starts from
	// Servers are every server the action could reach with these inputs:
	// a bad input must reach none of them.
	Servers []*Server
	// Check, when set, asserts more of each case's run (no file written).
	Check func(t *testing.T, r *Runner)
}

// Test runs each case as a subtest and checks what every action must do
// with a bad input (DESIGN.md: bad input changes nothing): exit 1, exactly
// one error annotation, titled "invalid input" and naming the input as
// `input "<name>"`, no request to any of the servers, and no output.
func (b BadInputs) Test(t *testing.T, cases []BadInput) {
	t.Helper()
	if len(cases) == 0 {
		t.Fatal("no bad-input cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			inputs := maps.Clone(b.Good)
			if inputs == nil {
				inputs = map[string]string{}
			}
			maps.Copy(inputs, tc.Set)
			r := New(t, inputs)
			maps.Copy(r.Env, b.Env)
			maps.Copy(r.Env, tc.Env)
			before := make([]int64, len(b.Servers))
			for i, s := range b.Servers {
				before[i] = s.Requests()
			}

			if code := r.Run(context.Background(), b.Spec, b.Run); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			r.checkOneInputError(t, tc.Input)
			for i, s := range b.Servers {
				if n := s.Requests() - before[i]; n != 0 {
					t.Errorf("%s got %d requests, want none", s.URL, n)
				}
			}
			out, err := os.ReadFile(r.Env["GITHUB_OUTPUT"])
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if len(out) != 0 {
				t.Errorf("outputs written:\n%s", out)
			}
			if b.Check != nil {
				b.Check(t, r)
			}
			if t.Failed() {
				t.Logf("log:\n%s", r.Log.String())
			}
		})
	}
}

// checkOneInputError fails t unless the log holds exactly one ::error
// command, and it is the one action.Run writes for a bad input.
func (r *Runner) checkOneInputError(t *testing.T, input string) {
	t.Helper()
	var errs []string
	sc := bufio.NewScanner(bytes.NewReader(r.Log.Bytes()))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "::error ") || strings.HasPrefix(line, "::error::") {
			errs = append(errs, line)
		}
	}
	const title = "::error title=invalid input::"
	name := fmt.Sprintf("input %q", input)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], title) || !strings.Contains(errs[0], name) {
		t.Errorf("error commands %q, want one titled %q naming %s", errs, title, name)
	}
}
