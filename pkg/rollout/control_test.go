package rollout_test

import (
	"context"
	"encoding/json"
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

// fakePromote stands for a running promote on client's Service: it
// answers each command, and then calls then (which may record a state).
func fakePromote(t *testing.T, ctx context.Context, client *fake.Clientset, then func(svc *corev1.Service)) {
	t.Helper()
	go func() {
		answered := ""
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			svc, err := client.CoreV1().Services("prod").Get(ctx, "fx-service", metav1.GetOptions{})
			if err != nil {
				continue
			}
			var cmd rollout.Command
			if json.Unmarshal([]byte(svc.Annotations[rollout.AnnotationCommand]), &cmd) != nil || cmd.ID == answered {
				continue
			}
			answered = cmd.ID
			ack, _ := json.Marshal(rollout.Ack{ID: cmd.ID, Verb: cmd.Verb, Holder: "acme/fx/runs/1/promote", Result: "aborting", At: time.Now()})
			svc.Annotations[rollout.AnnotationAck] = string(ack)
			if then != nil {
				then(svc)
			}
			_, _ = client.CoreV1().Services("prod").Update(ctx, svc, metav1.UpdateOptions{})
		}
	}()
}

func runningPromote(st rollout.State) *fake.Clientset {
	now := metav1.NewMicroTime(time.Now())
	holder, secs := "acme/fx/runs/1/promote", int32(600)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx-service", Namespace: "prod", Annotations: st.Annotations()}}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "fx-service-rollout", Namespace: "prod"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, RenewTime: &now, LeaseDurationSeconds: &secs}}
	return fake.NewClientset(svc, lease)
}

// An abort the promote answered but never carried out (its way back
// failed) fails within control's timeout, not never; one the promotion
// outran (it completed between reading and obeying it) is no success.
func TestControlAbortNotCarriedOut(t *testing.T) {
	progressing := rollout.State{Phase: rollout.PhaseProgressing, ActiveColor: "blue", ActiveImage: "reg/app@sha256:1", CandidateColor: "green",
		CandidateImage: "reg/app@sha256:2", Step: 1, Weight: 25, Deployment: "fx", ColorLabel: "version", Router: "replicas"}
	promoted := rollout.State{Phase: rollout.PhasePromoted, ActiveColor: "green", ActiveImage: "reg/app@sha256:2", PreviousColor: "blue",
		Step: 4, Weight: 100, Deployment: "fx", ColorLabel: "version", Router: "replicas"}
	for _, tc := range []struct {
		name  string
		after *rollout.State
		want  string
	}{
		{"stuck", nil, "the abort did not finish"},
		{"too late", &promoted, "the promotion completed first"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		client := runningPromote(progressing)
		fakePromote(t, ctx, client, func(svc *corev1.Service) {
			if tc.after != nil {
				for k, v := range tc.after.Annotations() {
					svc.Annotations[k] = v
				}
			}
		})
		target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"}, Client: client, Owner: "me", Timeout: time.Second}
		start := time.Now()
		_, err := rollout.Control(ctx, rollout.ControlConfig{Target: target, Verb: rollout.VerbAbort})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: took %s with a timeout of 1s", tc.name, took)
		}
		cancel()
	}
}

// A command another one replaced before the promote read it says so.
func TestControlCommandReplaced(t *testing.T) {
	st := rollout.State{Phase: rollout.PhaseProgressing, ActiveColor: "blue", CandidateColor: "green", CandidateImage: "reg/app@sha256:2",
		Step: 1, Weight: 25, Deployment: "fx", ColorLabel: "version", Router: "replicas"}
	client := runningPromote(st)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Someone else's command, written right after ours (nobody answers).
	go func() {
		for ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			svc, err := client.CoreV1().Services("prod").Get(ctx, "fx-service", metav1.GetOptions{})
			if err != nil || !strings.Contains(svc.Annotations[rollout.AnnotationCommand], `"abort"`) {
				continue
			}
			other, _ := json.Marshal(rollout.Command{ID: "other", Verb: rollout.VerbPause, By: "bob", At: time.Now()})
			svc.Annotations[rollout.AnnotationCommand] = string(other)
			_, _ = client.CoreV1().Services("prod").Update(ctx, svc, metav1.UpdateOptions{})
			return
		}
	}()
	target := rollout.Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"}, Client: client, Owner: "me"}
	_, err := rollout.Control(ctx, rollout.ControlConfig{Target: target, Verb: rollout.VerbAbort, AckTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "was replaced on the Service by pause by bob") {
		t.Errorf("%v, want the abort said to be replaced by bob's pause", err)
	}
}
