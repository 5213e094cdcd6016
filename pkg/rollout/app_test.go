package rollout_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// TestStateNamesTheApp: promote and rollback refuse a Service whose state
// was recorded for another Deployment or colour label (they would switch
// to the wrong Deployments), before they change anything.
func TestStateNamesTheApp(t *testing.T) {
	recorded := rollout.State{Phase: rollout.PhasePromoted, ActiveColor: "green", PreviousColor: "blue",
		Deployment: "fx-platform", ColorLabel: "version", Router: "service"}
	tests := []struct {
		name string
		app  traffic.App
		want string
	}{
		{name: "another deployment", app: traffic.App{Deployment: "fx-api"}, want: `recorded for deployment "fx-platform", not "fx-api"`},
		{name: "another colour label", app: traffic.App{Deployment: "fx-platform", ColorLabel: "track"}, want: `recorded for colour label "version", not "track"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service", Namespace: "prod", Annotations: recorded.Annotations()},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "fx", "version": "green"}}}
			client := fake.NewClientset(svc)
			app := tc.app
			app.Namespace, app.Service = "prod", "fx-platform-service"
			target := rollout.Target{App: app, Client: client, Owner: "test"}
			_, rerr := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: target})
			_, perr := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: "r@sha256:" + strings.Repeat("a", 64)})
			for what, err := range map[string]error{"rollback": rerr, "promote": perr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error containing %q", what, err, tc.want)
				}
			}
			got, err := client.CoreV1().Services("prod").Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rollout.ReadState(got) != recorded || got.Spec.Selector["version"] != "green" {
				t.Errorf("the Service changed: %+v, selector %v", rollout.ReadState(got), got.Spec.Selector)
			}
		})
	}
}

// TestNoColourInTheSelector: a live Service that selects both colours (the
// usual set-up for a replica-ratio canary) and has no state yet: with both
// colours' Deployments holding replicas, or neither, which colour is live
// cannot be told. Promote and rollback refuse, naming both Deployments and
// their replica counts, and change nothing.
func TestNoColourInTheSelector(t *testing.T) {
	dep := func(colour string, n int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-" + colour, Namespace: "prod"},
			Spec: appsv1.DeploymentSpec{Replicas: &n}}
	}
	for _, tc := range []struct {
		name string
		deps []*appsv1.Deployment
		want string
	}{
		{"both have replicas", []*appsv1.Deployment{dep("blue", 3), dep("green", 2)}, "fx-platform-blue has 3 replicas while fx-platform-green has 2 replicas"},
		{"neither has replicas", []*appsv1.Deployment{dep("blue", 0), dep("green", 0)}, "fx-platform-blue has 0 replicas while fx-platform-green has 0 replicas"},
		{"neither exists", nil, "fx-platform-blue does not exist while fx-platform-green does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service", Namespace: "prod"},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "fx"}}}
			objs := []runtime.Object{svc}
			for _, d := range tc.deps {
				objs = append(objs, d)
			}
			client := fake.NewClientset(objs...)
			target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"}, Client: client, Owner: "test"}
			_, rerr := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: target})
			_, perr := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: "r@sha256:" + strings.Repeat("a", 64),
				Strategy: rollout.Canary, Steps: []int{50, 100}})
			for what, err := range map[string]error{"rollback": rerr, "promote": perr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error containing %s", what, err, tc.want)
				}
			}
			got, err := client.CoreV1().Services("prod").Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Annotations) != 0 || len(got.Spec.Selector) != 1 {
				t.Errorf("the Service changed: annotations %v, selector %v", got.Annotations, got.Spec.Selector)
			}
		})
	}
}

// TestReplicasRouterRefusedUnderAnHPA: the replicas router sets weights by
// replica counts, which an autoscaler of either colour changes under it;
// promote refuses before it changes anything, naming the HPA and the
// routers that weigh requests.
func TestReplicasRouterRefusedUnderAnHPA(t *testing.T) {
	n := int32(3)
	labels := map[string]string{"app": "fx", "version": "blue"}
	blue := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-blue", Namespace: "prod"},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "r@sha256:" + strings.Repeat("1", 64)}}}}}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service", Namespace: "prod"},
		Spec: corev1.ServiceSpec{Selector: labels}}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-blue", Namespace: "prod"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &n, MaxReplicas: 10,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "fx-platform-blue"}}}
	client := fake.NewClientset(blue, svc, hpa)
	target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"},
		Client: client, Owner: "test", Router: "replicas"}
	_, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: "r@sha256:" + strings.Repeat("2", 64),
		Strategy: rollout.Canary, Steps: []int{34, 67, 100}})
	if !errors.Is(err, rollout.ErrUnreachableWeights) || !strings.Contains(err.Error(), `HorizontalPodAutoscaler "fx-platform-blue"`) || !strings.Contains(err.Error(), "gateway-api") {
		t.Fatalf("got %v, want ErrUnreachableWeights naming the HPA and gateway-api", err)
	}
	if _, err := client.AppsV1().Deployments("prod").Get(context.Background(), "fx-platform-green", metav1.GetOptions{}); err == nil {
		t.Error("green was created")
	}
	got, _ := client.CoreV1().Services("prod").Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
	if st := rollout.ReadState(got); st.Phase != "" {
		t.Errorf("state recorded: %+v", st)
	}
}
