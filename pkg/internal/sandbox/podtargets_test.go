package sandbox

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodGroups(t *testing.T) {
	pod := func(name, ip string, phase corev1.PodPhase, ann map[string]string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Annotations: ann}, Status: corev1.PodStatus{PodIP: ip, Phase: phase}}
	}
	scrape := map[string]string{AnnotationScrape: "true", AnnotationPort: "3000", AnnotationPath: "/metrics"}
	got := podGroups([]corev1.Pod{
		pod("b", "10.245.0.2", corev1.PodRunning, scrape),
		pod("a", "10.245.0.1", corev1.PodRunning, scrape),
		pod("pending", "", corev1.PodPending, scrape),
		pod("not-annotated", "10.245.0.3", corev1.PodRunning, nil),
		pod("no-port", "10.245.0.4", corev1.PodRunning, map[string]string{AnnotationScrape: "true"}),
		pod("off", "10.245.0.5", corev1.PodRunning, map[string]string{AnnotationScrape: "false", AnnotationPort: "3000"}),
	})
	want := []TargetGroup{
		{Targets: []string{"10.245.0.1:3000"}, Labels: map[string]string{"job": "pods", "namespace": "prod", "pod": "a", "__metrics_path__": "/metrics"}},
		{Targets: []string{"10.245.0.2:3000"}, Labels: map[string]string{"job": "pods", "namespace": "prod", "pod": "b", "__metrics_path__": "/metrics"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("podGroups = %+v, want %+v", got, want)
	}
}
