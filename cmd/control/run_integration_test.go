//go:build integration

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestMain(m *testing.M) { os.Exit(rollouttest.Main(m)) }

// TestStatusThenAbort, on the real node: a canary held by pause-at 34; the
// action reads its status (held, by whom, the Lease's holder), then aborts
// it, notifying a signed webhook. All traffic is back on v1, and the probe
// through the live Service sees no failed request.
func TestStatusThenAbort(t *testing.T) {
	app := rollouttest.RealBlueApp(t, 3, rollouttest.Image(t, "v1"), "v1")
	v2 := rollouttest.Image(t, "v2")
	var mu sync.Mutex
	var events []notify.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e notify.Event
		if json.Unmarshal(body, &e) == nil && notify.Verify("k", body, r.Header.Get(notify.SignatureHeader)) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	probe := app.Probe(t)
	target := rollout.Target{App: traffic.App{Namespace: app.Namespace, Service: rollouttest.Service, Deployment: rollouttest.Deployment},
		Client: app.Client, Owner: "acme/fx/runs/41", Timeout: 3 * time.Minute, LeaseDuration: 15 * time.Second}
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: v2, Strategy: rollout.Canary,
			Steps: []int{34, 67, 100}, Pauses: []time.Duration{time.Second}, PauseAt: []int{34}, ScaleDownDelay: time.Second})
		promoted <- err
	}()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		svc, err := app.Client.CoreV1().Services(app.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
		return err == nil && rollout.ReadState(svc).Paused != "", nil
	})
	if err != nil {
		t.Fatalf("never held: %v", err)
	}
	inputs := func(verb string) map[string]string {
		return map[string]string{"command": verb, "namespace": app.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment,
			"kubeconfig": app.Kubeconfig, "reason": "p95 doubled", "webhook-url": hook.URL, "webhook-secret": "k"}
	}
	r := actiontest.New(t, inputs("status"))
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("status: exit %d: %s", code, r.Log.String())
	}
	out := r.Outputs()
	if out["phase"] != "progressing" || out["weight"] != "34" || out["holder"] != "acme/fx/runs/41" || !strings.Contains(out["paused"], "pause-at 34") || out["candidate-image"] != v2 {
		t.Errorf("status outputs %v", out)
	}
	if sum := r.Summary(); !strings.Contains(sum, "### control: status") || !strings.Contains(sum, "| weight | 34 % |") {
		t.Errorf("status summary:\n%s", sum)
	}

	r = actiontest.New(t, inputs("abort"))
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("abort: exit %d: %s", code, r.Log.String())
	}
	if out := r.Outputs(); out["phase"] != "aborted" || out["active-color"] != "blue" || !strings.Contains(out["answer"], "aborting") {
		t.Errorf("abort outputs %v", out)
	}
	if err := <-promoted; !errors.Is(err, rollout.ErrAbortRequested) {
		t.Errorf("the promote returned %v, want it aborted on request", err)
	}
	rollouttest.Settle(t, probe, "v1")
	rollouttest.CheckProbe(t, "a held canary aborted by the control action", probe, "v1", "v2")
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Kind != notify.Abort || events[0].Reason != "p95 doubled" || events[0].Weight != 0 {
		t.Errorf("notified %+v, want one abort (status notifies nothing)", events)
	}
}

// With no promote running, a verb fails, names why, and writes nothing.
func TestNoPromoteRunning(t *testing.T) {
	c := rollouttest.NewCluster(t)
	rollouttest.BlueApp(t, c.Client, c.Namespace, 1, "127.0.0.1:5000/fx@sha256:"+strings.Repeat("1", 64))
	r := actiontest.New(t, map[string]string{"command": "pause", "namespace": c.Namespace, "service": rollouttest.Service,
		"deployment": rollouttest.Deployment, "kubeconfig": c.Kubeconfig})
	if code := r.Run(context.Background(), spec, run); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, r.Log.String())
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "no promotion is running") {
		t.Errorf("errors %q", errs)
	}
	svc, err := c.Client.CoreV1().Services(c.Namespace).Get(context.Background(), rollouttest.Service, metav1.GetOptions{})
	if err != nil || svc.Annotations[rollout.AnnotationCommand] != "" {
		t.Errorf("a command was written: %v, %v", svc.Annotations, err)
	}
}
