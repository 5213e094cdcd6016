package main

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestDownMigrationOfAPromotionCutShort: a rollback during a promotion
// (v2 the candidate on green, v1 stable and live on blue) undoes v2: its
// down migration runs with v2's image, which carries it, not v1's.
func TestDownMigrationOfAPromotionCutShort(t *testing.T) {
	const v1, v2 = "r/fx@sha256:1111", "r/fx@sha256:2222"
	dep := func(colour, image string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-" + colour, Namespace: "production"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}}}
	}
	st := rollout.State{Phase: rollout.PhaseProgressing, ActiveColor: "blue", ActiveImage: v1, CandidateColor: "green", CandidateImage: v2}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform", Namespace: "production", Annotations: st.Annotations()}}
	client := fake.NewClientset(svc, dep("blue", v1), dep("green", v2))
	in := Inputs{App: traffic.App{Namespace: "production", Service: "fx-platform", Deployment: "fx-platform"}, To: "previous"}
	m := &downMigration{Command: []string{"/app/sample-app", "migrate", "goto", "1"}, When: afterSwitch, Timeout: time.Minute}
	p, err := m.prepare(context.Background(), client, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.spec.Image != v2 || p.pod != "live (fx-platform-green)" {
		t.Errorf("down migration in %s with %s; want green's pod with v2's image", p.pod, p.spec.Image)
	}
}
