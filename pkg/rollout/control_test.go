package rollout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Verbs other than status need a promotion holding the Lease to hear
// them: without one they fail with ErrNotRunning, and write nothing.
func TestControlWithNoPromotionRunning(t *testing.T) {
	st := rollout.State{Phase: rollout.PhaseProgressing, ActiveColor: "blue", CandidateColor: "green", CandidateImage: "reg/app@sha256:2",
		Step: 1, Weight: 25, Deployment: "fx", ColorLabel: "version", Router: "replicas"}
	expired := metav1.NewMicroTime(time.Now().Add(-time.Minute))
	holder, secs := "acme/fx/runs/1/promote", int32(15)
	for _, lease := range []*coordinationv1.Lease{nil, {
		ObjectMeta: metav1.ObjectMeta{Name: "fx-service-rollout", Namespace: "prod"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &expired, LeaseDurationSeconds: &secs},
	}} {
		for _, verb := range []string{rollout.VerbPause, rollout.VerbResume, rollout.VerbPromoteFull} {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-service", Namespace: "prod", Annotations: st.Annotations()}}
			client := fake.NewClientset(svc)
			if lease != nil {
				client = fake.NewClientset(svc, lease)
			}
			target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"}, Client: client, Owner: "me"}
			res, err := rollout.Control(context.Background(), rollout.ControlConfig{Target: target, Verb: verb})
			if !errors.Is(err, rollout.ErrNotRunning) || !strings.Contains(err.Error(), "rerun promote with the same image to resume it") {
				t.Errorf("%s (lease %v): %v, want ErrNotRunning with a hint", verb, lease != nil, err)
			}
			if res == nil || res.Status == nil || res.Status.State.Weight != 25 {
				t.Errorf("%s: the result should carry the status read: %+v", verb, res)
			}
			got, _ := client.CoreV1().Services("prod").Get(context.Background(), "fx-service", metav1.GetOptions{})
			if _, ok := got.Annotations[rollout.AnnotationCommand]; ok {
				t.Errorf("%s: a command was written with no one to hear it", verb)
			}
		}
	}
}

func TestControlUnknownVerb(t *testing.T) {
	target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"}, Client: fake.NewClientset(), Owner: "me"}
	if _, err := rollout.Control(context.Background(), rollout.ControlConfig{Target: target, Verb: "restart"}); err == nil || !strings.Contains(err.Error(), "abort, pause, resume, promote-full, status") {
		t.Errorf("unknown verb: %v", err)
	}
}

func TestCheckPauseAt(t *testing.T) {
	tests := []struct {
		pauseAt  []int
		strategy string
		steps    []int
		want     string
	}{
		{[]int{0, 25, 50}, rollout.Canary, []int{10, 25, 50, 100}, ""},
		{[]int{0}, rollout.BlueGreen, nil, ""},
		{[]int{30}, rollout.Canary, []int{10, 25, 50, 100}, "pause-at 30: not a step before the last of [10 25 50 100]"},
		{[]int{100}, rollout.Canary, []int{10, 25, 50, 100}, "pause-at 100: not a step before the last"},
		{[]int{50}, rollout.BlueGreen, nil, "pause-at 50: a blue-green promotion holds only at 0, before the switch"},
	}
	for _, tc := range tests {
		err := rollout.CheckPauseAt(tc.pauseAt, tc.strategy, tc.steps)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckPauseAt(%v, %s, %v) = %v, want %q", tc.pauseAt, tc.strategy, tc.steps, err, tc.want)
		}
	}
}
