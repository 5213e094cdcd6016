package kube

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// The pattern goes into a PromQL string (the default metrics-selector is
// pod=~"{{.Pods}}"), whose escapes are Go's: regexp.QuoteMeta's `\.` is
// "unknown escape sequence" to Prometheus, so for a Deployment whose name
// has a dot (valid, and accepted by the deployment input) every SLO query
// is a parse error and every measurement inconclusive.
//
// And pod names are cut: the pod's generateName is the ReplicaSet's name
// and "-" cut to 58 characters, so for a Deployment name of more than 46
// characters no pod is <deployment>-<hash>-<suffix> and the pattern
// matches none of them (no data: inconclusive).
func TestPodNamePatternInPromQL(t *testing.T) {
	controller := true
	for _, tc := range []struct{ name, pod string }{
		{"fx.platform-green", "fx.platform-green-5d9c7b8f6-x1y2z"},
		{strings.Repeat("a", 44) + "-green", (strings.Repeat("a", 44) + "-green-5d9c7b8f6-")[:58] + "x1y2z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := map[string]string{"app": "fx", "version": "green"}
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: "p", UID: types.UID("d1"), Annotations: map[string]string{RevisionAnnotation: "1"}},
				Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}}}
			l := map[string]string{"app": "fx", "version": "green", appsv1.DefaultDeploymentUniqueLabelKey: "5d9c7b8f6"}
			rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: tc.name + "-5d9c7b8f6", Namespace: "p", Labels: l,
				Annotations:     map[string]string{RevisionAnnotation: "1"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: tc.name, UID: "d1", Controller: &controller}}}}
			p, err := PodNamePattern(context.Background(), fake.NewClientset(d, rs), d)
			if err != nil {
				t.Fatal(err)
			}
			unquoted, err := strconv.Unquote(`"` + p + `"`)
			if err != nil {
				t.Errorf(`pod=~"%s" is not a valid PromQL string: %v`, p, err)
				return
			}
			if !regexp.MustCompile("^(?:" + unquoted + ")$").MatchString(tc.pod) {
				t.Errorf("%s does not match the pod %s", unquoted, tc.pod)
			}
		})
	}
}
