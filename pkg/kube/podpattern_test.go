package kube

import (
	"context"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPodNamePattern(t *testing.T) {
	controller := true
	labels := map[string]string{"app": "fx", "version": "green"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fx-green", Namespace: "p", UID: types.UID("d1"), Annotations: map[string]string{RevisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	rs := func(hash, rev string, owner types.UID) *appsv1.ReplicaSet {
		l := map[string]string{"app": "fx", "version": "green", appsv1.DefaultDeploymentUniqueLabelKey: hash}
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "fx-green-" + hash, Namespace: "p", Labels: l,
			Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "fx-green", UID: owner, Controller: &controller}}}}
	}
	for _, tc := range []struct {
		name  string
		rss   []*appsv1.ReplicaSet
		match []string
		not   []string
	}{
		{"no replica set yet", nil, []string{"fx-green-abc12-x1y2z"}, []string{"fx-greenish-a-b"}},
		{"the newest revision's pods only", []*appsv1.ReplicaSet{rs("old11", "1", "d1"), rs("new22", "2", "d1"), rs("other", "9", "someone-else")},
			[]string{"fx-green-new22-x1y2z"}, []string{"fx-green-old11-x1y2z", "fx-green-other-x1y2z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(d)
			for _, r := range tc.rss {
				if _, err := client.AppsV1().ReplicaSets("p").Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			p, err := PodNamePattern(context.Background(), client, d)
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile("^(?:" + p + ")$")
			for _, n := range tc.match {
				if !re.MatchString(n) {
					t.Errorf("%s does not match %s", p, n)
				}
			}
			for _, n := range tc.not {
				if re.MatchString(n) {
					t.Errorf("%s matches %s", p, n)
				}
			}
		})
	}
}
