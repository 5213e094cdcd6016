package rollout

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestPreparePreviewWithoutPods: only a router that scales the colours
// gives the candidate its pods with its first step, so only there is
// preview-url's pre-promotion check skipped on a candidate without
// replicas. A router that moves requests (service, gateway-api, nginx)
// would send the traffic to a colour nobody answers for: the check runs,
// and its failure aborts, as before.
func TestPreparePreviewWithoutPods(t *testing.T) {
	for _, tc := range []struct {
		router      string
		strategy    string
		wantPreview bool
	}{
		{"service", BlueGreen, true},
		{"replicas", Canary, false},
	} {
		t.Run(tc.router, func(t *testing.T) {
			zero := int32(0)
			labels := map[string]string{"app": "fx", "version": "blue"}
			live := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "fx-blue", Namespace: "prod", Labels: labels},
				Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "r/fx:1"}}}}},
			}
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-service", Namespace: "prod"}}
			previewed := false
			cfg := Config{Target: Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"},
				Client: fake.NewClientset(svc, live), Owner: "me", Router: tc.router}, Image: "r/fx:2",
				Strategy: tc.strategy, Steps: []int{50, 100},
				Preview: func(context.Context, string) error { previewed = true; return errors.New("connection refused") }}
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			p := &promotion{cfg: &cfg, res: &Result{}, stable: "blue", cand: "green", replicas: 0}
			err := p.prepare(context.Background(), live)
			if previewed != tc.wantPreview {
				t.Fatalf("preview ran %v, want %v (err %v)", previewed, tc.wantPreview, err)
			}
			if tc.wantPreview && !errors.Is(err, ErrAborted) {
				t.Errorf("err %v, want %v", err, ErrAborted)
			}
			if !tc.wantPreview && err != nil {
				t.Errorf("err %v, want none", err)
			}
		})
	}
}
