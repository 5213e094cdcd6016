//go:build integration

package helm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/kube"
)

const (
	testChart = "../../testdata/charts/fx-platform"
	release   = "fx-platform-staging"
	digestA   = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB   = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC   = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	// neverReady makes the new pods unschedulable on kwok's nodes, so the
	// rollout never progresses and the Deployment controller reports
	// ProgressDeadlineExceeded. (kwok makes every scheduled pod Ready,
	// readiness gates included, so only an unscheduled pod stays unready.)
	neverReady = "nodeSelector.fx-platform/pool=none"
)

// cluster is one test's namespace in the sandbox.
type cluster struct {
	sb        *sandbox.Sandbox
	namespace string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	sb := sandbox.Get(t)
	return &cluster{sb: sb, namespace: sb.Namespace(t)}
}

func (c *cluster) image(digest string) string { return c.sb.Registry + "/fx-platform@" + digest }

// inputs are the action inputs of a deploy to the test namespace.
func (c *cluster) inputs(digest string, extra map[string]string) map[string]string {
	in := map[string]string{
		"chart":      testChart,
		"release":    release,
		"namespace":  c.namespace,
		"image":      c.image(digest),
		"kubeconfig": c.sb.Kubeconfig,
		"timeout":    "2m",
		"set":        "progressDeadlineSeconds=10",
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// deploy runs the deploy binary as a GitHub Actions runner would: inputs
// in INPUT_* variables, outputs and the step summary in files, workflow
// commands on stdout.
func (c *cluster) deploy(t *testing.T, digest string, extra map[string]string, env map[string]string) (*actiontest.Runner, int) {
	t.Helper()
	return runAction(t, "deploy", c.inputs(digest, extra), env)
}

// runAction runs the binary of cmd/<name> as a runner would, with inputs
// and the extra environment env.
func runAction(t *testing.T, name string, inputs, env map[string]string) (*actiontest.Runner, int) {
	t.Helper()
	r := actiontest.New(t, inputs)
	for k, v := range env {
		r.Env[k] = v
	}
	cmd := exec.Command(binary(t, name))
	cmd.Env = environ(r.Env)
	cmd.Stdout = &r.Log
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	code := cmd.ProcessState.ExitCode()
	if code != 0 {
		t.Logf("log:\n%s%s", r.Log.String(), stderr.String())
	}
	return r, code
}

// environ is the process environment for the binary: this one's, without
// anything a runner or the developer's shell set that could leak in, plus env.
func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "INPUT_") || strings.HasPrefix(k, "GITHUB_") || k == "KUBECONFIG" || k == "RUNNER_DEBUG" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (c *cluster) helm(t *testing.T) *helm.Client {
	t.Helper()
	kc, err := kube.Load(kube.Source{Kubeconfig: c.sb.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	h, err := helm.New(kc.Getter(), c.namespace)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// history is the release's history as "1:superseded 2:deployed".
func (c *cluster) history(t *testing.T) string {
	t.Helper()
	hs, err := c.helm(t).History(release)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, h := range hs {
		parts = append(parts, fmt.Sprintf("%d:%s", h.Version, h.Info.Status))
	}
	return strings.Join(parts, " ")
}

// liveImage is the image of the Deployment's pod template in the cluster.
func (c *cluster) liveImage(t *testing.T) string {
	t.Helper()
	client, err := c.sb.Client()
	if err != nil {
		t.Fatal(err)
	}
	d, err := client.AppsV1().Deployments(c.namespace).Get(context.Background(), release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

func TestIntegrationInstallAndUpgrade(t *testing.T) {
	c := newCluster(t)
	gh := newGitHubRecorder(t)

	r, code := c.deploy(t, digestA, nil, nil)
	if code != 0 {
		t.Fatalf("install exit code = %d", code)
	}
	out := r.Outputs()
	if out["revision"] != "1" || out["status"] != "deployed" || out["release"] != release || !strings.HasPrefix(out["manifest-digest"], "sha256:") {
		t.Errorf("install outputs = %v", out)
	}
	sum := r.Summary()
	for _, want := range []string{"✅ deployed", "| Revision | 1 (deployed) |", "fx-platform 0.1.0", digestA, "#### Changes (first install)",
		"| added | Deployment | " + release + " |", "#### Waited on", "| Deployment | " + c.namespace + "/" + release + " |"} {
		if !strings.Contains(sum, want) {
			t.Errorf("install summary lacks %q:\n%s", want, sum)
		}
	}

	r, code = c.deploy(t, digestB, map[string]string{"github-token": "ghs_test", "environment-url": "https://staging.example.com"}, gh.env())
	if code != 0 {
		t.Fatalf("upgrade exit code = %d", code)
	}
	out = r.Outputs()
	if out["revision"] != "2" || out["status"] != "deployed" || out["deployment-id"] != "42" {
		t.Errorf("upgrade outputs = %v", out)
	}
	sum = r.Summary()
	for _, want := range []string{"| Previous revision | 1 |", "#### Changes against revision 1", "| changed | Deployment |", "+          image: \"" + c.image(digestB) + "\""} {
		if !strings.Contains(sum, want) {
			t.Errorf("upgrade summary lacks %q:\n%s", want, sum)
		}
	}
	if got := c.liveImage(t); got != c.image(digestB) {
		t.Errorf("live image = %q, want %q", got, c.image(digestB))
	}
	if got, want := c.history(t), "1:superseded 2:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	gh.expect(t, []string{
		"POST /repos/acme/fx/deployments environment=staging ref=0123abcd",
		"POST /repos/acme/fx/deployments/42/statuses state=in_progress",
		"POST /repos/acme/fx/deployments/42/statuses state=success environment_url=https://staging.example.com",
		"GET /repos/acme/fx/deployments?environment=staging&per_page=100",
	})
	if strings.Contains(r.Log.String(), "ghs_test") && !strings.Contains(r.Log.String(), "::add-mask::ghs_test") {
		t.Error("the GitHub token reached the log unmasked")
	}
}

func TestIntegrationFailedUpgradeRollsBack(t *testing.T) {
	c := newCluster(t)
	gh := newGitHubRecorder(t)
	if _, code := c.deploy(t, digestA, nil, nil); code != 0 {
		t.Fatalf("install exit code = %d", code)
	}
	r, code := c.deploy(t, digestB, map[string]string{"set": "progressDeadlineSeconds=5\n" + neverReady, "github-token": "ghs_test"}, gh.env())
	if code != 1 {
		t.Fatalf("bad upgrade exit code = %d, want 1", code)
	}
	errs := r.Annotations("error")
	if len(errs) != 1 || !strings.Contains(errs[0], "Progress deadline exceeded") || !strings.Contains(errs[0], "rolled back to revision 1 (now revision 3)") {
		t.Errorf("error annotations = %q", errs)
	}
	if out := r.Outputs(); out["revision"] != "2" || out["status"] != "failed" {
		t.Errorf("outputs = %v, want revision 2 failed", out)
	}
	if sum := r.Summary(); !strings.Contains(sum, "❌ failed") || !strings.Contains(sum, "not ready") || !strings.Contains(sum, "rolled back to revision 1") {
		t.Errorf("summary:\n%s", sum)
	}
	if got, want := c.history(t), "1:superseded 2:failed 3:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if got := c.liveImage(t); got != c.image(digestA) {
		t.Errorf("live image = %q, want the rolled-back %q", got, c.image(digestA))
	}
	gh.expect(t, []string{
		"POST /repos/acme/fx/deployments environment=staging ref=0123abcd",
		"POST /repos/acme/fx/deployments/42/statuses state=in_progress",
		"POST /repos/acme/fx/deployments/42/statuses state=failure",
	})
}

// TestIntegrationSIGKILLThenRecover kills the deploy process during its
// wait, which leaves the release pending-upgrade, and checks that the next
// run recovers it and upgrades without any manual step.
func TestIntegrationSIGKILLThenRecover(t *testing.T) {
	c := newCluster(t)
	if _, code := c.deploy(t, digestA, nil, nil); code != 0 {
		t.Fatalf("install exit code = %d", code)
	}
	p := c.startBinary(t, digestB, neverReady)
	c.waitPending(t, p)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if got, want := c.history(t), "1:deployed 2:pending-upgrade"; got != want {
		t.Fatalf("history after SIGKILL = %q, want %q", got, want)
	}

	r, code := c.deploy(t, digestC, nil, nil)
	if code != 0 {
		t.Fatalf("deploy after SIGKILL exit code = %d", code)
	}
	if out := r.Outputs(); out["revision"] != "4" || out["status"] != "deployed" {
		t.Errorf("outputs = %v, want revision 4 deployed", out)
	}
	want := "revision 2 was pending-upgrade: marked it failed and rolled back to revision 1 (now revision 3)"
	if sum := r.Summary(); !strings.Contains(sum, "| Stuck release recovered | "+want+" |") {
		t.Errorf("summary does not report the recovery:\n%s", sum)
	}
	if warns := r.Annotations("warning"); len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings = %q, want %q", warns, want)
	}
	if got, want := c.history(t), "1:superseded 2:failed 3:superseded 4:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if got := c.liveImage(t); got != c.image(digestC) {
		t.Errorf("live image = %q, want %q", got, c.image(digestC))
	}
}

// TestIntegrationSIGTERMRollsBack signals the deploy process during its
// wait: it must stop waiting, mark the revision failed, roll back and exit 1
// by itself (pkg/action gives it 5 s; had it not returned by then, Main
// would exit without the rollback and the history below would differ).
func TestIntegrationSIGTERMRollsBack(t *testing.T) {
	c := newCluster(t)
	if _, code := c.deploy(t, digestA, nil, nil); code != 0 {
		t.Fatalf("install exit code = %d", code)
	}
	p := c.startBinary(t, digestB, neverReady)
	c.waitPending(t, p)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	// Logged, never asserted: the history below is the check.
	t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	stderr := p.stderr
	if p.cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit code = %d, want 1; stderr:\n%s", p.cmd.ProcessState.ExitCode(), stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "rolled back to revision 1 (now revision 3)") {
		t.Errorf("stderr does not report the interrupted rollback:\n%s", stderr)
	}
	if got, want := c.history(t), "1:superseded 2:failed 3:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if got := c.liveImage(t); got != c.image(digestA) {
		t.Errorf("live image = %q, want the rolled-back %q", got, c.image(digestA))
	}
}

// build is one binary built by binary.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

// TestMain removes the actions built for the tests (about 120 MB each,
// which every run left in the temporary directory).
func TestMain(m *testing.M) {
	code := m.Run()
	buildsMu.Lock()
	for _, b := range builds {
		if b.path != "" {
			_ = os.RemoveAll(filepath.Dir(b.path))
		}
	}
	buildsMu.Unlock()
	os.Exit(code)
}

// binary builds cmd/<name> once per test binary.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildsMu.Lock()
	b := builds[name]
	if b == nil {
		b = &build{}
		builds[name] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", name+"-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		b.err = actiontest.Build(".", b.path, "../../cmd/"+name)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a deploy process started by startBinary.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when it exited
}

// startBinary starts the deploy binary (CLI mode) on an upgrade that never
// becomes ready.
func (c *cluster) startBinary(t *testing.T, digest, set string) *proc {
	t.Helper()
	args := []string{"--chart", testChart, "--release", release, "--namespace", c.namespace, "--image", c.image(digest),
		"--kubeconfig", c.sb.Kubeconfig, "--timeout", "5m", "--set", "progressDeadlineSeconds=600\n" + set}
	p := &proc{cmd: exec.Command(binary(t, "deploy"), args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = environ(nil)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	return p
}

// waitPending waits until the deploy process has stored the new revision
// as pending-upgrade and applied it (the Deployment's template changed), so
// it is in its readiness wait.
func (c *cluster) waitPending(t *testing.T, p *proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	for {
		hs, err := c.helm(t).History(release)
		if err == nil && len(hs) == 2 && hs[1].Info.Status.IsPending() && strings.Contains(c.liveImage(t), digestB) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("the deploy process exited (%v) before its wait; stderr:\n%s", p.cmd.ProcessState, p.stderr)
		case <-ctx.Done():
			t.Fatalf("the deploy process never reached its wait (history %q); stderr:\n%s", c.history(t), p.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// githubRecorder stands in for GitHub's Deployments API and records the
// requests: method, path and the fields that matter.
type githubRecorder struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string
}

func newGitHubRecorder(t *testing.T) *githubRecorder {
	g := &githubRecorder{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		call := r.Method + " " + r.URL.RequestURI()
		for _, k := range []string{"environment", "ref", "state", "environment_url"} {
			if v, ok := body[k]; ok && !(k == "environment" && strings.HasSuffix(r.URL.Path, "/statuses")) {
				call += " " + k + "=" + fmt.Sprint(v)
			}
		}
		g.mu.Lock()
		g.calls = append(g.calls, call)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet:
			fmt.Fprint(w, `[]`)
		case strings.HasSuffix(r.URL.Path, "/deployments"):
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 42}`)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 1}`)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *githubRecorder) env() map[string]string {
	return map[string]string{"GITHUB_API_URL": g.srv.URL, "GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "0123abcd"}
}

func (g *githubRecorder) expect(t *testing.T, want []string) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if strings.Join(g.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("GitHub requests:\n%s\nwant:\n%s", strings.Join(g.calls, "\n"), strings.Join(want, "\n"))
	}
}
