//go:build integration

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// promoteBinary builds this command once per test process.
func promoteBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promote-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "promote")
		binErr = actiontest.Build(".", binPath, ".")
	})
	if binErr != nil {
		t.Fatalf("building promote: %v", binErr)
	}
	return binPath
}

// TestKilledAtEachPhaseThenRerun runs the promote binary on the real node
// (blue-green on the service router, or a 34/67/100 % canary on the
// replicas router), SIGKILLs it at one phase, and runs it again: the rerun takes over the dead run's Lease once it
// expires, resumes or restarts, and promotes. A probe through the live
// Service runs across both runs: no request fails, and at the end only the
// new version answers.
func TestKilledAtEachPhaseThenRerun(t *testing.T) {
	bin := promoteBinary(t)
	v1, v2 := rollouttest.Image(t, "v1"), rollouttest.Image(t, "v2")
	phases := []struct {
		name string
		// reached reports whether the run got to the phase to kill it in.
		reached  func(st rollout.State, greenReplicas int32) bool
		promoted bool // the first run had completed the switch
		// blueGreen runs a blue-green promote (the service router) instead
		// of the canary: blue then stays up through the scale-down delay.
		blueGreen bool
	}{
		{"blue-green, while the candidate is created", func(st rollout.State, g int32) bool {
			return st.Phase == rollout.PhaseProgressing && g > 0 && st.Weight == 0
		}, false, true},
		{"at 34 %", func(st rollout.State, _ int32) bool { return st.Phase == rollout.PhaseProgressing && st.Weight == 34 }, false, false},
		{"at 67 %", func(st rollout.State, _ int32) bool { return st.Phase == rollout.PhaseProgressing && st.Weight == 67 }, false, false},
		{"canary promoted", func(st rollout.State, _ int32) bool { return st.Phase == rollout.PhasePromoted }, true, false},
		{"blue-green promoted, in the scale-down delay", func(st rollout.State, _ int32) bool { return st.Phase == rollout.PhasePromoted }, true, true},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			t.Parallel()
			app := rollouttest.RealBlueApp(t, 3, v1, "v1")
			args := func(pause string) []string {
				a := []string{"--namespace", app.Namespace, "--service", rollouttest.Service, "--deployment", rollouttest.Deployment, "--candidate-from", "live",
					"--image", v2, "--scale-down-delay", pause, "--timeout", "5m", "--availability-url", "none", "--allow-unmonitored", "true"}
				if ph.blueGreen {
					return append(a, "--strategy", "blue-green")
				}
				return append(a, "--strategy", "canary", "--steps", "34,67,100", "--traffic-router", "replicas", "--step-pause", pause)
			}
			probe := app.Probe(t)

			first := exec.Command(bin, args("20s")...)
			first.Env = append(os.Environ(), "KUBECONFIG="+app.Kubeconfig)
			var log strings.Builder
			first.Stdout, first.Stderr = &log, &log
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- first.Wait() }()
			err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
				select {
				case err := <-exited:
					t.Fatalf("promote exited (%v) before the phase was reached:\n%s", err, log.String())
				default:
				}
				svc, err := app.Client.CoreV1().Services(app.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
				if err != nil {
					return false, nil
				}
				var green int32
				if d, err := app.Client.AppsV1().Deployments(app.Namespace).Get(ctx, rollouttest.Deployment+"-green", metav1.GetOptions{}); err == nil && d.Spec.Replicas != nil {
					green = *d.Spec.Replicas
				}
				return ph.reached(rollout.ReadState(svc), green), nil
			})
			if err != nil {
				t.Fatalf("the phase was never reached: %v\n%s", err, log.String())
			}
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited

			rerun := exec.Command(bin, args("1s")...)
			rerun.Env = first.Env
			out, err := rerun.CombinedOutput()
			if err != nil {
				t.Fatalf("the rerun failed: %v\n%s", err, out)
			}
			// Killed after the switch, the rollout was complete: the rerun
			// finds v2 live and finishes the scale-down the first run left
			// (blue-green: blue was still up in its scale-down delay).
			if want := map[bool]string{true: "result=unchanged", false: "result=promoted"}[ph.promoted]; !strings.Contains(string(out), want) {
				t.Fatalf("the rerun did not end with %s:\n%s", want, out)
			}
			rollouttest.Settle(t, probe, "v2")
			rollouttest.CheckProbe(t, "killed "+ph.name+", then rerun", probe, "v1", "v2")
			blue, err := app.Client.AppsV1().Deployments(app.Namespace).Get(context.Background(), rollouttest.Deployment+"-blue", metav1.GetOptions{})
			if err != nil || *blue.Spec.Replicas != 0 {
				t.Errorf("after the rerun blue has %v replicas (%v), want 0", blue.Spec.Replicas, err)
			}
		})
	}
}
