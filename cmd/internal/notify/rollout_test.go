package notify

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// After an interruption Changes reads nothing: a slow or hanging registry
// must not take the few seconds the step has left to report.
func TestChangesAfterInterruption(t *testing.T) {
	var requests atomic.Int32
	srv := actiontest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	host := strings.TrimPrefix(srv.URL, "http://")
	stable := host + "/app@sha256:" + strings.Repeat("1", 64)
	candidate := host + "/app@sha256:" + strings.Repeat("2", 64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := actiontest.New(t, nil)
	r.Run(context.Background(), spec, func(_ context.Context, a *action.Action) error {
		start := time.Now()
		rep := Changes(ctx, a, nil, stable, candidate)
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %s after an interruption", took)
		}
		if got := rep.Summary(); !strings.Contains(got, "changes unknown") {
			t.Errorf("summary %q", got)
		}
		if !strings.Contains(rep.Markdown(), "interrupted") {
			t.Errorf("the report does not say why it is empty:\n%s", rep.Markdown())
		}
		return nil
	})
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests to the registry after an interruption", n)
	}
}
