//go:build integration

package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestMain(m *testing.M) { os.Exit(rollouttest.Main(m)) }

// TestRollback promotes v2 with the library, then rolls back with the
// action: to the previous colour (cold: blue was scaled down), then to an
// image digest (the fast track into the idle colour).
func TestRollback(t *testing.T) {
	c := rollouttest.NewCluster(t)
	ctx := context.Background()
	rollouttest.BlueApp(t, c.Client, c.Namespace, 3, imageV1)
	if _, err := rollout.Promote(ctx, rollout.Config{Target: rollout.Target{Client: c.Client,
		App:   traffic.App{Namespace: c.Namespace, Service: rollouttest.Service, Deployment: rollouttest.Deployment},
		Owner: "test", Timeout: time.Minute}, Image: imageV2}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		to         string
		wantColour string
		wantImage  string
	}{
		{"previous colour, cold", "previous", "blue", imageV1},
		{"an image digest into the idle colour", imageV3, "green", imageV3},
		{"previous again", "previous", "blue", imageV1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment,
				"to": tc.to, "reason": "test", "kubeconfig": c.Kubeconfig})
			if code := r.Run(ctx, spec, run); code != 0 {
				t.Fatalf("exit %d: %s", code, r.Log.String())
			}
			out := r.Outputs()
			if out["active-color"] != tc.wantColour || out["image"] != tc.wantImage {
				t.Errorf("outputs %v, want active-color %s image %s", out, tc.wantColour, tc.wantImage)
			}
			svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, rollouttest.Service, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := svc.Spec.Selector["version"]; got != tc.wantColour {
				t.Errorf("selector version=%s, want %s", got, tc.wantColour)
			}
			if st := rollout.ReadState(svc); st.Phase != rollout.PhaseRolledBack || st.ActiveImage != tc.wantImage || st.Reason != "test" {
				t.Errorf("recorded %+v", st)
			}
			if !strings.Contains(r.Summary(), "### rollback") {
				t.Errorf("summary: %s", r.Summary())
			}
		})
	}
}
