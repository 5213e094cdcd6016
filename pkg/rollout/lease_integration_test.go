//go:build integration

package rollout_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

const helperNS = "ROLLOUT_HELPER_NS"

// helperConfig is the promotion a helper process runs, by mode; each one
// stops somewhere for the parent to SIGKILL it.
func helperConfig(t *testing.T, a *app, mode string) rollout.Config {
	switch mode {
	case "stuck-in-pre-promotion":
		cfg := rollout.Config{Target: a.target(t, "service"), Image: imageV2}
		cfg.Preview = func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
		return cfg
	case "paused-at-50":
		return rollout.Config{Target: derivedTimeout(a.target(t, "replicas")), Image: imageV2, Strategy: rollout.Canary,
			Steps: []int{25, 50, 100}, Pauses: []time.Duration{0, time.Hour}}
	case "paused-at-25":
		return rollout.Config{Target: derivedTimeout(a.target(t, "replicas")), Image: imageV2, Strategy: rollout.Canary,
			Steps: []int{25, 50, 100}, Pauses: []time.Duration{time.Hour}}
	case "held-at-34":
		// On the real node (3 replicas): the image is the parent's.
		return rollout.Config{Target: a.target(t, "replicas"), Image: os.Getenv("ROLLOUT_HELPER_IMAGE"), Strategy: rollout.Canary,
			Steps: []int{34, 67, 100}, Pauses: []time.Duration{time.Second}, PauseAt: []int{34}, ScaleDownDelay: time.Second}
	case "waiting-to-scale-down":
		return rollout.Config{Target: a.target(t, "service"), Image: imageV2, ScaleDownDelay: time.Hour}
	}
	t.Fatalf("unknown helper mode %q", mode)
	return rollout.Config{}
}

// TestHelperPromote is not a test: it is the promote process the SIGKILL
// tests start and kill. It does nothing unless started by them.
func TestHelperPromote(t *testing.T) {
	ns := os.Getenv(helperNS)
	if ns == "" {
		return
	}
	client, err := sandbox.Get(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{client: client, ns: ns}
	cfg := helperConfig(t, a, os.Getenv("ROLLOUT_HELPER_MODE"))
	cfg.Owner = "helper-process"
	_, err = rollout.Promote(context.Background(), cfg)
	t.Fatalf("the helper promote returned (%v); it should have been killed", err)
}

// startHelper starts a promote in a child process and returns a function
// that SIGKILLs it.
func startHelper(t *testing.T, a *app, mode string, env ...string) func() {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPromote$", "-test.v")
	cmd.Env = append(os.Environ(), helperNS+"="+a.ns, "ROLLOUT_HELPER_MODE="+mode, "SANDBOX_DIR="+sandbox.Get(t).Dir)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		_ = cmd.Process.Kill() // SIGKILL: no deferred cleanup, no Lease release
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("helper output:\n%s", out.String())
		}
	}
	t.Cleanup(kill)
	return kill
}

// waitState polls the recorded state until ok says so.
func waitState(t *testing.T, a *app, what string, ok func(rollout.State) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return ok(rollout.ReadState(a.service(t))), nil
	})
	if err != nil {
		t.Fatalf("the service never recorded %s: %v", what, err)
	}
}

// TestKillAndRerun SIGKILLs a promote at each phase and reruns it: the
// rerun takes over the Lease once the dead holder stops renewing it, then
// completes, resumes or no-ops, and the live Service never lacks ready
// endpoints.
func TestKillAndRerun(t *testing.T) {
	const n = 4
	tests := []struct {
		name        string
		mode        string
		killWhen    func(rollout.State) bool
		rerunImage  string
		wantOutcome string
		wantResumed bool
	}{
		{name: "idle colour created, stuck in pre-promotion", mode: "stuck-in-pre-promotion",
			killWhen:   func(s rollout.State) bool { return s.Phase == rollout.PhaseProgressing && s.CandidateColor == "green" },
			rerunImage: imageV2, wantOutcome: rollout.Promoted, wantResumed: true},
		{name: "step 2 of 3 (50 %)", mode: "paused-at-50",
			killWhen:   func(s rollout.State) bool { return s.Phase == rollout.PhaseProgressing && s.Weight == 50 },
			rerunImage: imageV2, wantOutcome: rollout.Promoted, wantResumed: true},
		{name: "step 2 of 3, rerun with another image", mode: "paused-at-50",
			killWhen:   func(s rollout.State) bool { return s.Phase == rollout.PhaseProgressing && s.Weight == 50 },
			rerunImage: imageV3, wantOutcome: rollout.Promoted},
		{name: "after the switch, before the scale-down", mode: "waiting-to-scale-down",
			killWhen:   func(s rollout.State) bool { return s.Phase == rollout.PhasePromoted },
			rerunImage: imageV2, wantOutcome: rollout.Unchanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, n)
			w := watchEndpoints(t, a, n)
			kill := startHelper(t, a, tc.mode)
			waitState(t, a, tc.name, tc.killWhen)
			kill()
			rerun := helperConfig(t, a, tc.mode)
			rerun.Image, rerun.Pauses, rerun.ScaleDownDelay, rerun.Preview = tc.rerunImage, nil, 0, nil
			rerun.LockTimeout = time.Minute
			res, err := rollout.Promote(context.Background(), rerun)
			if err != nil || res.Outcome != tc.wantOutcome || res.Resumed != tc.wantResumed {
				t.Fatalf("rerun: %+v, %v; want %s, resumed %v", res, err, tc.wantOutcome, tc.wantResumed)
			}
			a.waitEndpoints(t, "green", n)
			w.check(t)
			if got := a.deployment(t, "green").Spec.Template.Spec.Containers[0].Image; got != tc.rerunImage {
				t.Errorf("green runs %s, want %s", got, tc.rerunImage)
			}
		})
	}
}

// TestLeaseContention: a second promote waits for the first's Lease and
// fails clearly; a promote whose Lease is taken stops moving traffic; a
// rollback takes over a Lease whose holder stopped renewing and undoes the
// half-done rollout.
func TestLeaseContention(t *testing.T) {
	const n = 4
	a := newApp(t, n)
	w := watchEndpoints(t, a, n)
	first := helperConfig(t, a, "paused-at-25")
	first.Owner = "first"
	done := make(chan error, 1)
	go func() { _, err := rollout.Promote(context.Background(), first); done <- err }()
	waitState(t, a, "25 %", func(s rollout.State) bool { return s.Weight == 25 })

	t.Run("second promote waits, then fails naming the holder", func(t *testing.T) {
		second := helperConfig(t, a, "paused-at-25")
		second.Owner, second.LockTimeout = "second", time.Second
		_, err := rollout.Promote(context.Background(), second)
		if !errors.Is(err, kube.ErrLeaseHeld) || !strings.Contains(err.Error(), `"first"`) {
			t.Fatalf("got %v; want ErrLeaseHeld naming \"first\"", err)
		}
	})

	t.Run("a promote that loses its Lease stops moving traffic", func(t *testing.T) {
		leases := a.client.CoordinationV1().Leases(a.ns)
		lease, err := leases.Get(context.Background(), "fx-platform-service-rollout", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		thief := "thief"
		lease.Spec.HolderIdentity = &thief
		if _, err := leases.Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, rollout.ErrLeaseLost) {
			t.Fatalf("first promote returned %v; want ErrLeaseLost", err)
		}
		if st := rollout.ReadState(a.service(t)); st.Phase != rollout.PhaseProgressing || st.Weight != 25 {
			t.Errorf("state after losing the Lease: %+v; want progressing at 25 (untouched)", st)
		}
	})

	t.Run("rollback takes over the stale Lease and returns traffic to blue", func(t *testing.T) {
		rb := a.target(t, "service")
		rb.Owner, rb.LockTimeout = "ops", time.Minute
		var events []string
		rb.OnEvent = func(e rollout.Event) { events = append(events, e.Message) }
		res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "stuck"})
		if err != nil || res.ActiveColor != "blue" {
			t.Fatalf("rollback: %+v, %v", res, err)
		}
		if !strings.Contains(strings.Join(events, "\n"), `from "thief"`) {
			t.Errorf("events %q do not report the take-over from \"thief\"", events)
		}
		a.waitEndpoints(t, "blue", n)
		if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
			t.Errorf("green has %d replicas after undoing the rollout, want 0", got)
		}
	})
	w.check(t)
}

// derivedTimeout is tg with its timeout left for the promotion to derive:
// the tests' 3 minutes are shorter than an hour's pause.
func derivedTimeout(tg rollout.Target) rollout.Target {
	tg.Timeout = 0
	return tg
}
