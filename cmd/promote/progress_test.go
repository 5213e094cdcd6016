package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Events that move no rollout (a Lease taken over from a killed run, an
// alert, a control verb) push no gauges: a rerun that changes nothing
// after a killed run would otherwise replace the dashboard's last result
// with "progressing" at 0 % and no live colour, and push nothing after.
// The rollout's own events push.
func TestProgressPushesTheRolloutsEventsOnly(t *testing.T) {
	var mu sync.Mutex
	var pushes []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pushes = append(pushes, r.Method+" "+r.URL.Path)
		mu.Unlock()
	}))
	defer gw.Close()
	run := func(events ...rollout.Event) []string {
		mu.Lock()
		pushes = nil
		mu.Unlock()
		actiontest.New(t, nil).Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
			pg := monitoring.NewProgressPusher(gw.URL, nil)
			in := Inputs{App: traffic.App{Namespace: "production", Service: "fx-platform-service"}}
			on := progress(ctx, a, nil, nil, pkgnotify.Event{}, pg, in)
			for _, e := range events {
				on(e)
			}
			pg.Close(ctx)
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		return pushes
	}
	if got := run(
		rollout.Event{Phase: "lock", Weight: -1, Message: `took over lease fx-platform-service-rollout from "run 1", which stopped renewing it`},
		rollout.Event{Phase: "alerts", Weight: -1, Message: "before the promotion: HighCPU (warning) is firing", Live: "blue"},
		rollout.Event{Phase: "control", Weight: -1, Message: `sent pause to "run 2"`, Live: "blue"},
	); len(got) != 0 {
		t.Errorf("events that move no rollout pushed %q", got)
	}
	if got := run(rollout.Event{Phase: "step", Weight: 25, Message: "25 % traffic on green", Live: "blue"}); len(got) == 0 || !strings.HasPrefix(got[0], "PUT /metrics/job/deploy-actions/") {
		t.Errorf("a step pushed %q, want the gauges", got)
	}
}
