//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestMain(m *testing.M) { os.Exit(sandbox.Main(m)) }

// app is the strategy document's fx-platform: a blue Deployment live behind
// a Service selecting version=blue, in a namespace of its own.
type app struct {
	client kubernetes.Interface
	ns     string
}

func newApp(t *testing.T, replicas int32) *app {
	t.Helper()
	s := sandbox.Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{client: client, ns: s.Namespace(t)}
	ctx := context.Background()
	labels := map[string]string{"app": "fx-platform", "version": "blue"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-blue", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "fx-platform", Image: imageV1, Ports: []corev1.ContainerPort{{ContainerPort: 3000}},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(a.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(3000)}},
		},
	}
	if _, err := client.CoreV1().Services(a.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitAvailable(ctx, client, a.ns, "fx-platform-blue", 2*time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	a.waitEndpoints(t, "blue", int(replicas))
	return a
}

func (a *app) target(t *testing.T, routerName string) rollout.Target {
	t.Helper()
	return rollout.Target{App: traffic.App{Namespace: a.ns, Service: "fx-platform-service", Deployment: "fx-platform"},
		Client: a.client, Router: routerName, Owner: "test/" + t.Name(), Timeout: 3 * time.Minute, LeaseDuration: 3 * time.Second}
}

func (a *app) service(t *testing.T) *corev1.Service {
	t.Helper()
	svc, err := a.client.CoreV1().Services(a.ns).Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (a *app) deployment(t *testing.T, colour string) *appsv1.Deployment {
	t.Helper()
	d, err := a.client.AppsV1().Deployments(a.ns).Get(context.Background(), "fx-platform-"+colour, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitEndpoints waits until the live Service's ready endpoints are exactly
// the n ready pods of colour.
func (a *app) waitEndpoints(t *testing.T, colour string, n int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := a.client.CoreV1().Pods(a.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=fx-platform,version=" + colour})
		if err != nil {
			return false, nil
		}
		want := map[string]bool{}
		for _, p := range pods.Items {
			if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
				want[p.Status.PodIP] = true
			}
		}
		got, err := readyAddresses(ctx, a.client, a.ns, "fx-platform-service")
		if err != nil || len(got) != n || len(want) != n {
			return false, nil
		}
		for _, ip := range got {
			if !want[ip] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the live Service's endpoints never became the %d %s pods: %v", n, colour, err)
	}
}

func readyAddresses(ctx context.Context, client kubernetes.Interface, ns, service string) ([]string, error) {
	list, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sl := range list.Items {
		out = append(out, readyOf(&sl)...)
	}
	return out, nil
}

func readyOf(sl *discoveryv1.EndpointSlice) []string {
	var out []string
	for _, ep := range sl.Endpoints {
		if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
			out = append(out, ep.Addresses...)
		}
	}
	return out
}

// endpointWatcher follows the live Service's EndpointSlices and records the
// fewest ready endpoints seen and the longest time spent below the minimum
// the invariant allows.
type endpointWatcher struct {
	min       int
	mu        sync.Mutex
	fewest    int
	events    int
	below     time.Time
	longest   time.Duration
	cancel    context.CancelFunc
	done      chan struct{}
	watchErrs []error
}

func watchEndpoints(t *testing.T, a *app, minReady int) *endpointWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &endpointWatcher{min: minReady, fewest: 1 << 30, cancel: cancel, done: make(chan struct{})}
	sel := discoveryv1.LabelServiceName + "=fx-platform-service"
	list, err := a.client.DiscoveryV1().EndpointSlices(a.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	slices := map[string]int{}
	for _, sl := range list.Items {
		slices[sl.Name] = len(readyOf(&sl))
	}
	w.observe(slices)
	wi, err := a.client.DiscoveryV1().EndpointSlices(a.ns).Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		for ev := range wi.ResultChan() {
			sl, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok && ctx.Err() != nil {
				return // the watch is being stopped
			}
			if !ok {
				w.mu.Lock()
				w.watchErrs = append(w.watchErrs, fmt.Errorf("watch event %s: %+v", ev.Type, ev.Object))
				w.mu.Unlock()
				continue
			}
			if ev.Type == watch.Deleted {
				delete(slices, sl.Name)
			} else {
				slices[sl.Name] = len(readyOf(sl))
			}
			w.observe(slices)
		}
		if ctx.Err() == nil {
			w.mu.Lock()
			w.watchErrs = append(w.watchErrs, errors.New("the watch ended before the scenario did"))
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *endpointWatcher) observe(slices map[string]int) {
	n := 0
	for _, c := range slices {
		n += c
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events++
	w.fewest = min(w.fewest, n)
	now := time.Now()
	switch {
	case n < w.min && w.below.IsZero():
		w.below = now
	case n >= w.min && !w.below.IsZero():
		w.longest = max(w.longest, now.Sub(w.below))
		w.below = time.Time{}
	}
}

func (w *endpointWatcher) stop() {
	w.cancel()
	<-w.done
}

// check stops the watcher and fails t if the ready endpoints ever fell
// below the minimum; the longest gap is logged as a figure, not asserted.
func (w *endpointWatcher) check(t *testing.T) {
	t.Helper()
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("endpoint watcher: %d events, fewest ready endpoints %d (minimum %d), longest time below the minimum %s", w.events, w.fewest, w.min, w.longest)
	if len(w.watchErrs) > 0 {
		t.Errorf("endpoint watch: %v", w.watchErrs)
	}
	if w.fewest < w.min {
		t.Errorf("the live Service had %d ready endpoints at one instant, want at least %d (replicas minus maxUnavailable)", w.fewest, w.min)
	}
}
