package verify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// rollout returns a Deployment at revision 2 with its ReplicaSet and pods,
// in the state the deployment controller leaves a finished rollout.
func rollout(replicas int32, restarts int32) []runtime.Object {
	yes := true
	labels := map[string]string{"app": "fx"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fx", Namespace: "ns", UID: "d-uid", Generation: 4,
			Annotations: map[string]string{kube.RevisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}},
	}
	rs := func(name, rev string, uid string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: metaUID(uid), Labels: labels,
			Annotations:     map[string]string{kube.RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{UID: "d-uid", Controller: &yes}}}}
	}
	objs := []runtime.Object{d, rs("fx-old", "1", "rs-old"), rs("fx-new", "2", "rs-new")}
	pod := func(name, owner string, restarts int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{UID: metaUID(owner), Controller: &yes}}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: restarts}}}}
	}
	// A pod of the old rollout restarted before: it does not count.
	objs = append(objs, pod("fx-old-a", "rs-old", 7))
	for i := range replicas {
		r := int32(0)
		if i == 0 {
			r = restarts
		}
		objs = append(objs, pod("fx-new-"+string(rune('a'+i)), "rs-new", r))
	}
	return objs
}

func metaUID(s string) types.UID { return types.UID(s) }

func TestCheckDeployment(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(d *appsv1.Deployment)
		restart int32
		want    []string // problems, by substring; none means ready
	}{
		{name: "available"},
		{name: "restarted since the rollout", restart: 2, want: []string{"container app of pod fx-new-a restarted 2 times"}},
		{name: "not yet available", mutate: func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas, d.Status.UnavailableReplicas = 1, 2
			d.Status.Conditions[0].Status = corev1.ConditionFalse
		}, want: []string{"Available is not True", "2 unavailable replicas", "1/3 available"}},
		{name: "generation not observed", mutate: func(d *appsv1.Deployment) { d.Generation = 5 },
			want: []string{"observedGeneration 4 is behind generation 5"}},
		{name: "old pods still running", mutate: func(d *appsv1.Deployment) { d.Status.Replicas = 4 },
			want: []string{"4 pods in total"}},
		{name: "stuck", mutate: func(d *appsv1.Deployment) {
			d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{
				Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "took too long"})
		}, want: []string{"progress deadline exceeded: took too long"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := rollout(3, tc.restart)
			if tc.mutate != nil {
				tc.mutate(objs[0].(*appsv1.Deployment))
			}
			s, err := CheckDeployment(context.Background(), fake.NewClientset(objs...), "ns", "fx")
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.want) == 0 && !s.Ready() {
				t.Fatalf("problems %q, want ready", s.Problems)
			}
			all := strings.Join(s.Problems, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q, want one containing %q", s.Problems, w)
				}
			}
		})
	}
}

func TestWaitDeployment(t *testing.T) {
	ctx := context.Background()
	if _, err := WaitDeployment(ctx, fake.NewClientset(rollout(3, 0)...), "ns", "fx", time.Minute, time.Millisecond); err != nil {
		t.Errorf("ready deployment: %v", err)
	}
	// Restarts end the wait at once, long before the minute passes.
	_, err := WaitDeployment(ctx, fake.NewClientset(rollout(3, 1)...), "ns", "fx", time.Hour, time.Millisecond)
	if !errors.Is(err, ErrDeploymentNotReady) || !strings.Contains(err.Error(), "restarted") {
		t.Errorf("restarted deployment: %v", err)
	}
	_, err = WaitDeployment(ctx, fake.NewClientset(), "ns", "fx", 20*time.Millisecond, time.Millisecond)
	if !errors.Is(err, ErrDeploymentNotReady) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing deployment: %v", err)
	}
}

// The images are those of the current rollout's pods, by the image ID the
// runtime resolved (a tag's digest), else as the pod asks for them.
func TestCheckDeploymentImages(t *testing.T) {
	const cur, old = "sha256:" + "aa" + "00000000000000000000000000000000000000000000000000000000000000", "sha256:" + "bb" + "00000000000000000000000000000000000000000000000000000000000000"
	objs := rollout(3, 0)
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/fx:1.2.3"}}
		switch {
		case p.Name == "fx-old-a":
			p.Status.ContainerStatuses[0].ImageID = "registry.example/fx@" + old
		case p.Name != "fx-new-c": // c has not reported its image ID yet
			p.Status.ContainerStatuses[0].ImageID = "registry.example/fx@" + cur
		}
	}
	s, err := CheckDeployment(context.Background(), fake.NewClientset(objs...), "ns", "fx")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"registry.example/fx@" + cur, "registry.example/fx:1.2.3"}
	if strings.Join(s.Images, " ") != strings.Join(want, " ") {
		t.Fatalf("images %q, want %q", s.Images, want)
	}
	if !s.RunsDigest(cur) || s.RunsDigest(old) {
		t.Errorf("RunsDigest: the current digest must match, the old one must not")
	}
}

// Every pod of the current rollout must run the digest, by its image ID or,
// before its containers start, by the image it asks for: a tag that moved
// between two pods' pulls leaves the rollout on two images, and verify
// checked both together, so neither is recorded. Pods that have not
// resolved a tag yet are not counted; a rollout with none left records
// nothing.
func TestDeploymentRunsDigest(t *testing.T) {
	const cur, other = "sha256:" + "aa" + "00000000000000000000000000000000000000000000000000000000000000", "sha256:" + "cc" + "00000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		name  string
		image string            // the app container's, as the pod asks for it
		ids   map[string]string // pod: its app container's image ID
		want  bool
	}{
		{"all on the digest", "registry.example/fx:1.2.3", map[string]string{"fx-new-a": cur, "fx-new-b": cur}, true},
		{"one not started yet", "registry.example/fx:1.2.3", map[string]string{"fx-new-a": cur}, true},
		{"a tag that moved", "registry.example/fx:1.2.3", map[string]string{"fx-new-a": cur, "fx-new-b": other}, false},
		{"none started, by tag", "registry.example/fx:1.2.3", map[string]string{}, false},
		// Pods that cannot start (a bad config, a pull refused) still ask
		// for the digest: a failed verify of it is recorded.
		{"none started, by digest", "registry.example/fx@" + cur, map[string]string{}, true},
		{"by digest, another one running", "registry.example/fx@" + cur, map[string]string{"fx-new-a": other}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := rollout(2, 0)
			for _, o := range objs {
				if p, ok := o.(*corev1.Pod); ok {
					p.Spec.Containers = []corev1.Container{{Name: "app", Image: tc.image}, {Name: "proxy", Image: "registry.example/proxy:1"}}
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app"}, {Name: "proxy"}}
					if id, ok := tc.ids[p.Name]; ok {
						p.Status.ContainerStatuses[0].ImageID = "docker-pullable://registry.example/fx@" + id
						p.Status.ContainerStatuses[1].ImageID = "registry.example/proxy@sha256:" + strings.Repeat("dd", 32)
					}
				}
			}
			s, err := CheckDeployment(context.Background(), fake.NewClientset(objs...), "ns", "fx")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.RunsDigest(cur); got != tc.want {
				t.Errorf("RunsDigest(%s) = %v, want %v (images %q)", cur[:12], got, tc.want, s.Images)
			}
		})
	}
	if (&DeploymentStatus{}).RunsDigest(cur) {
		t.Error("a rollout with no pods runs the digest")
	}
}
