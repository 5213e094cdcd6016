package kube

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// settled is a Deployment of n replicas in the state the controller leaves
// a finished rollout.
func settled(n int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fx", Namespace: "ns", Generation: 4},
		Spec:       appsv1.DeploymentSpec{Replicas: &n},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n,
			AvailableReplicas: n, Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			}},
	}
}

func TestDeploymentReadiness(t *testing.T) {
	tests := []struct {
		name                      string
		replicas                  int32
		mutate                    func(*appsv1.Deployment)
		want                      []Reason
		messages                  []string // when set, the exact messages
		ready, available, settles bool
	}{
		{name: "finished rollout", replicas: 3, ready: true, available: true, settles: true},
		{name: "spec.replicas unset means one", replicas: 1, mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = nil },
			ready: true, available: true, settles: true},
		{name: "unset replicas with two pods has an old one", replicas: 1, mutate: func(d *appsv1.Deployment) {
			d.Spec.Replicas, d.Status.Replicas = nil, 2
		}, want: []Reason{ReplicaCounts}, messages: []string{"1/1 updated, 1/1 available, 2 pods in total"}},
		{name: "scaled to zero is ready but routes nowhere", replicas: 0, ready: true, settles: true},
		{name: "generation not observed", replicas: 3, mutate: func(d *appsv1.Deployment) { d.Generation = 5 },
			want: []Reason{GenerationNotObserved}, messages: []string{"observedGeneration 4 is behind generation 5"}},
		{name: "Available condition false", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Status.Conditions[0].Status = corev1.ConditionFalse
		}, want: []Reason{DeploymentNotAvailable}, settles: true},
		{name: "no conditions at all", replicas: 3, mutate: func(d *appsv1.Deployment) { d.Status.Conditions = nil },
			want: []Reason{DeploymentNotAvailable}, settles: true},
		{name: "unavailable replicas", replicas: 3, mutate: func(d *appsv1.Deployment) { d.Status.UnavailableReplicas = 1 },
			want: []Reason{UnavailableReplicas}, messages: []string{"1 unavailable replicas"}, settles: true},
		{name: "too few updated", replicas: 3, mutate: func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 2 },
			want: []Reason{ReplicaCounts}, messages: []string{"2/3 updated, 3/3 available, 3 pods in total"}, settles: true},
		{name: "too few available", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas, d.Status.ReadyReplicas = 1, 1
		}, want: []Reason{ReplicaCounts}},
		{name: "old pods still present", replicas: 3, mutate: func(d *appsv1.Deployment) { d.Status.Replicas = 4 },
			want: []Reason{ReplicaCounts}},
		{name: "too few pods", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas = 2, 2, 2, 2
		}, want: []Reason{ReplicaCounts}},
		{name: "ready but not all ready pods only fails Settled", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Status.ReadyReplicas = 2
		}, ready: true, available: true},
		{name: "progress deadline exceeded, still short", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas, d.Status.UnavailableReplicas = 1, 2, 2, 1
			d.Status.Conditions[1] = appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing,
				Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "fx-2" has timed out progressing.`}
		}, want: []Reason{ProgressDeadlineExceeded, UnavailableReplicas, ReplicaCounts}, messages: []string{
			`progress deadline exceeded: ReplicaSet "fx-2" has timed out progressing.`,
			"1 unavailable replicas", "1/3 updated, 2/3 available, 3 pods in total"}},
		// A paused Deployment keeps the condition after its pods healed: the
		// rollout never finished, but the pods may take traffic.
		{name: "progress deadline exceeded, counts full", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Spec.Paused = true
			d.Status.Conditions[1] = appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing,
				Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "timed out"}
		}, want: []Reason{ProgressDeadlineExceeded}, available: true, settles: true},
		{name: "everything at once, in order", replicas: 3, mutate: func(d *appsv1.Deployment) {
			d.Generation = 5
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 2,
				UnavailableReplicas: 2, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing,
					Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "m"}}}
		}, want: []Reason{GenerationNotObserved, ProgressDeadlineExceeded, DeploymentNotAvailable, UnavailableReplicas, ReplicaCounts},
			messages: []string{"observedGeneration 4 is behind generation 5", "progress deadline exceeded: m",
				"condition Available is not True", "2 unavailable replicas", "1/3 updated, 2/3 available, 4 pods in total"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := settled(tc.replicas)
			if tc.mutate != nil {
				tc.mutate(d)
			}
			r := DeploymentReadiness(d)
			var got []Reason
			for _, p := range r.Problems {
				got = append(got, p.Reason)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("reasons %q, want %q (problems %q)", got, tc.want, r.Messages())
			}
			if tc.messages != nil && !slices.Equal(r.Messages(), tc.messages) {
				t.Errorf("messages %q, want %q", r.Messages(), tc.messages)
			}
			for _, w := range tc.want {
				if !r.Has(w) {
					t.Errorf("Has(%s) = false", w)
				}
			}
			if r.Ready() != tc.ready || r.Available() != tc.available || r.Settled() != tc.settles {
				t.Errorf("Ready, Available, Settled = %v, %v, %v; want %v, %v, %v",
					r.Ready(), r.Available(), r.Settled(), tc.ready, tc.available, tc.settles)
			}
			if Available(d) != tc.available {
				t.Errorf("Available(d) = %v, want %v", Available(d), tc.available)
			}
		})
	}
}

// The definitions the model replaced, kept here to show it gives the same
// verdicts: kube.Available, and verify's deploymentProblems.
func oldAvailable(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want == 0 || d.Status.ObservedGeneration < d.Generation {
		return false
	}
	cond := false
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			cond = true
		}
	}
	return cond && d.Status.UpdatedReplicas == want && d.Status.AvailableReplicas == want &&
		d.Status.Replicas == want && d.Status.UnavailableReplicas == 0
}

func oldVerifyReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UnavailableReplicas > 0 {
		return false
	}
	available := false
	for _, c := range s.Conditions {
		switch {
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue:
			available = true
		case c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded":
			return false
		}
	}
	return available && s.UpdatedReplicas >= want && s.AvailableReplicas >= want && s.Replicas <= want
}

// TestReadinessKeepsTheOldVerdicts walks every small status: Available
// matches the old kube.Available everywhere, and Ready matches verify's old
// verdict wherever updated and available pods are at most all pods, as the
// deployment controller always writes them.
func TestReadinessKeepsTheOldVerdicts(t *testing.T) {
	conds := map[string][]appsv1.DeploymentCondition{
		"none":      nil,
		"available": {{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}},
		"deadline": {{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}},
	}
	n := 0
	for _, spec := range []*int32{nil, ptr(0), ptr(1), ptr(2)} {
		for _, observed := range []int64{1, 2} {
			for cname, cs := range conds {
				for total := range int32(4) {
					for updated := range int32(4) {
						for avail := range int32(4) {
							for unavail := range int32(2) {
								d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: spec},
									Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total, UpdatedReplicas: updated,
										AvailableReplicas: avail, UnavailableReplicas: unavail, Conditions: cs}}
								what := fmt.Sprintf("spec %v observed %d %s: %d pods, %d updated, %d available, %d unavailable",
									DesiredReplicas(d), observed, cname, total, updated, avail, unavail)
								if got, want := Available(d), oldAvailable(d); got != want {
									t.Errorf("%s: Available %v, was %v", what, got, want)
								}
								if updated > total || avail > total {
									continue // the controller never writes these
								}
								n++
								if got, want := DeploymentReadiness(d).Ready(), oldVerifyReady(d); got != want {
									t.Errorf("%s: Ready %v, verify said %v", what, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no status compared")
	}
}

func ptr(n int32) *int32 { return &n }

func TestDesiredReplicas(t *testing.T) {
	for _, tc := range []struct {
		spec *int32
		want int32
	}{{nil, 1}, {ptr(0), 0}, {ptr(3), 3}} {
		if got := DesiredReplicas(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: tc.spec}}); got != tc.want {
			t.Errorf("DesiredReplicas(%v) = %d, want %d", tc.spec, got, tc.want)
		}
	}
}
