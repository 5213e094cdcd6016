//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

// fakeGitHub records the deployment statuses posted to it.
type fakeGitHub struct {
	mu       sync.Mutex
	statuses []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/fx/deployments":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 100}`)
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/fx/deployments/100/statuses":
		f.mu.Lock()
		f.statuses = append(f.statuses, string(body))
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 1}`)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGitHub) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) == 0 {
		return ""
	}
	return f.statuses[len(f.statuses)-1]
}

// TestInterruptedReportsInTime SIGTERMs promote in a canary step's pause on
// the real node, with a 30 s scale-down delay and a GitHub Deployment to
// record. Within action.StopGrace it puts all traffic back on blue,
// records the abort on the Service and a failure on the GitHub
// Deployment, and exits 1 saying it was interrupted, not that it "did not
// stop". A probe through the live Service sees no failed request, and v1
// answering at the end.
func TestInterruptedReportsInTime(t *testing.T) {
	bin := promoteBinary(t)
	v1, v2 := rollouttest.Image(t, "v1"), rollouttest.Image(t, "v2")
	app := rollouttest.RealBlueApp(t, 3, v1, "v1")
	gh := &fakeGitHub{}
	api := httptest.NewServer(gh)
	defer api.Close()
	probe := app.Probe(t)

	cmd := exec.Command(bin, "--namespace", app.Namespace, "--service", rollouttest.Service, "--deployment", rollouttest.Deployment, "--candidate-from", "live",
		"--image", v2, "--strategy", "canary", "--steps", "34,67,100", "--traffic-router", "replicas", "--step-pause", "1h",
		"--scale-down-delay", "30s", "--availability-url", "none", "--allow-unmonitored", "true", "--github-token", "ghs_test")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+app.Kubeconfig, "GITHUB_ACTIONS=", "GITHUB_REPOSITORY=acme/fx",
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "GITHUB_API_URL="+api.URL)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			t.Fatalf("promote exited (%v) before its first step:\n%s", err, log.String())
		default:
		}
		svc, err := app.Client.CoreV1().Services(app.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		st := rollout.ReadState(svc)
		return st.Phase == rollout.PhaseProgressing && st.Weight == 34, nil
	})
	if err != nil {
		t.Fatalf("the first step was never reached: %v\n%s", err, log.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The runner kills a step 7.5 to 10 s after signalling it; the action
	// itself gives up at StopGrace, so anything past it is a failure of
	// this test's subject, not of a slow machine.
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(action.StopGrace + 5*time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("promote had not exited %s after SIGTERM:\n%s", action.StopGrace+5*time.Second, log.String())
	}
	exit, ok := werr.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1\n%s", werr, log.String())
	}
	if out := log.String(); !strings.Contains(out, "interrupted") || strings.Contains(out, "did not stop") {
		t.Errorf("the error does not say the run was interrupted, or says it did not stop:\n%s", out)
	}
	svc, err := app.Client.CoreV1().Services(app.Namespace).Get(context.Background(), rollouttest.Service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := rollout.ReadState(svc); st.Phase != rollout.PhaseAborted || st.ActiveColor != "blue" {
		t.Errorf("after SIGTERM the Service records %+v, want the abort with blue active", st)
	}
	if last := gh.last(); !strings.Contains(last, `"state":"failure"`) || !strings.Contains(last, "Aborted") {
		t.Errorf("the GitHub Deployment's last status is %s, want the abort's failure", last)
	}
	rollouttest.Settle(t, probe, "v1")
	rollouttest.CheckProbe(t, "SIGTERM at 34 %", probe, "v1", "v2")
}
