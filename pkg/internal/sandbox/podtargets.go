package sandbox

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod scraping, as clusters do it: a pod that carries the annotation
// prometheus.io/scrape: "true" is scraped at its address on the port of
// prometheus.io/port and the path of prometheus.io/path (default
// /metrics), and its series get the labels namespace and pod, as
// Prometheus's Kubernetes discovery relabelled the usual way, or the
// Prometheus Operator's PodMonitor, give them.
const (
	AnnotationScrape = "prometheus.io/scrape"
	AnnotationPort   = "prometheus.io/port"
	AnnotationPath   = "prometheus.io/path"
)

// ScrapePods has the sandbox's Prometheus scrape the annotated pods of
// namespace that run on the real node, until t ends. Debian's Prometheus
// is built without Kubernetes discovery, so this discovers them itself: it
// lists the namespace's pods every half second and rewrites a file-based
// target group when they change. Pods of the kwok nodes are left out: their
// addresses are not on this machine.
func (s *Sandbox) ScrapePods(t testing.TB, namespace string) {
	t.Helper()
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	name := "pods-" + namespace
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
		_ = s.RemoveScrapeTarget(name)
	})
	write := func(groups []TargetGroup) error { return s.AddScrapeGroups(name, groups) }
	if err := write(nil); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		var last []TargetGroup
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + NodeName})
			if err == nil {
				groups := podGroups(pods.Items)
				if !slices.EqualFunc(groups, last, func(a, b TargetGroup) bool {
					return slices.Equal(a.Targets, b.Targets) && maps.Equal(a.Labels, b.Labels)
				}) && write(groups) == nil {
					last = groups
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// podGroups are the scrape targets of the annotated, running pods, one
// group per pod, in name order.
func podGroups(pods []corev1.Pod) []TargetGroup {
	var out []TargetGroup
	for _, p := range pods {
		port, err := strconv.Atoi(p.Annotations[AnnotationPort])
		if p.Annotations[AnnotationScrape] != "true" || err != nil || port <= 0 || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
			continue
		}
		labels := map[string]string{"job": "pods", "namespace": p.Namespace, "pod": p.Name}
		if path := p.Annotations[AnnotationPath]; path != "" {
			labels["__metrics_path__"] = path
		}
		out = append(out, TargetGroup{Targets: []string{p.Status.PodIP + ":" + strconv.Itoa(port)}, Labels: labels})
	}
	slices.SortFunc(out, func(a, b TargetGroup) int { return cmp.Compare(a.Labels["pod"], b.Labels["pod"]) })
	return out
}
