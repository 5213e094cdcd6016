package rollout

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestHoldDoesNotCountAgainstTimeout: a hold longer than what is left of
// the run's timeout ends on resume, not on the timeout; the timeout goes
// on after the hold with what was left of it.
func TestHoldDoesNotCountAgainstTimeout(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-service", Namespace: "prod"}}
	cfg := Config{Target: Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"},
		Client: fake.NewClientset(svc), Owner: "me", Timeout: 300 * time.Millisecond}, PauseTimeout: 10 * time.Second}
	if err := cfg.Target.setDefaults(); err != nil {
		t.Fatal(err)
	}
	h, err := cfg.lockAndWatch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.release()
	p := &promotion{cfg: &cfg, res: &Result{}, h: h, ctl: newController(h.since)}
	cfg.ctl = p.ctl
	go func() {
		time.Sleep(time.Second)
		p.ctl.apply(Command{ID: "1", Verb: VerbResume, By: "alice"})
	}()
	if err := p.hold(h.ctx, 25); err != nil {
		t.Fatalf("a 1 s hold in a run with 300 ms left: %v", err)
	}
	ended := time.Now()
	select {
	case <-h.ctx.Done():
		if waited := time.Since(ended); waited < 200*time.Millisecond {
			t.Errorf("the timeout fired %s after the hold, want what was left of it (300 ms)", waited)
		}
		if cause := context.Cause(h.ctx); !strings.Contains(cause.Error(), "timed out") {
			t.Errorf("cause %v, want the timeout", cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the timeout never fired after the hold")
	}
}
