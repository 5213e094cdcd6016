package traffic_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// The objects of the fake cluster: the app fx in namespace prod, its live
// Service fx, one Deployment per colour (fx-blue, fx-green) and for the
// gateway-api and nginx routers one Service per colour (fx-blue, fx-green).
const ns = "prod"

var (
	deployments = appsv1.SchemeGroupVersion.WithResource("deployments")
	pods        = corev1.SchemeGroupVersion.WithResource("pods")
)

func config(client *fake.Clientset) traffic.Config {
	return traffic.Config{Client: client, App: traffic.App{Namespace: ns, Service: "fx", Deployment: "fx", ColorLabel: "version"},
		HTTPRoute: "fx", Ingress: "fx-canary", Timeout: 2 * time.Second}
}

func newRouter(t *testing.T, name string, cfg traffic.Config) traffic.Router {
	t.Helper()
	r, err := traffic.NewRouter(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// colour is one colour's Deployment, in the state the controller leaves it
// at replicas, and its pods: ready ones, and unready ones up to replicas.
type colour struct {
	name     string
	replicas int32
	ready    int32 // pods Ready; below replicas, the Deployment is not Available
	// terminating marks the ready pods as going away while the status still
	// counts them (right after a scale-down and up).
	terminating bool
}

func (c colour) objects() []runtime.Object {
	d := deployment(c.name, c.replicas)
	settle(d, c.ready)
	objs := []runtime.Object{d}
	for i := range c.replicas {
		objs = append(objs, pod(c.name, i, i < c.ready, c.terminating))
	}
	return objs
}

func deployment(colour string, replicas int32) *appsv1.Deployment {
	sel := map[string]string{"app": "fx", "version": colour}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-" + colour, Namespace: ns, Generation: 1},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: sel}},
	}
}

// settle writes the status the deployment controller would once ready of
// the desired pods are ready and available.
func settle(d *appsv1.Deployment, ready int32) {
	n := *d.Spec.Replicas
	cond := corev1.ConditionTrue
	if ready < n {
		cond = corev1.ConditionFalse
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n,
		ReadyReplicas: ready, AvailableReplicas: ready, UnavailableReplicas: n - ready,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: cond}}}
}

func pod(colour string, i int32, ready, terminating bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("fx-%s-%d", colour, i), Namespace: ns,
		Labels: map[string]string{"app": "fx", "version": colour}}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if terminating {
		now := metav1.Now()
		p.DeletionTimestamp = &now
		p.Finalizers = []string{"test/keep"}
	}
	return p
}

func liveService(selectColour string) *corev1.Service {
	sel := map[string]string{"app": "fx"}
	if selectColour != "" {
		sel["version"] = selectColour
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fx", Namespace: ns}, Spec: corev1.ServiceSpec{Selector: sel}}
}

// controller stands in for the deployment and ReplicaSet controllers: every
// change to a Deployment's replicas settles at once, with that many ready
// pods, except for the colours in broken, whose pods never become ready.
// After every change it calls check, with the fake's lock held: check reads
// the tracker, not the client.
func controller(client *fake.Clientset, broken map[string]bool, check func(k8stesting.ObjectTracker)) {
	tracker := client.Tracker()
	react := k8stesting.ObjectReaction(tracker)
	client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			return false, nil, nil
		}
		_, obj, err := react(a)
		if err != nil {
			return true, obj, err
		}
		if d, ok := obj.(*appsv1.Deployment); ok && a.GetResource() == deployments {
			d = d.DeepCopy()
			d.Generation++
			colour := d.Spec.Selector.MatchLabels["version"]
			n := *d.Spec.Replicas
			ready := n
			if broken[colour] {
				ready = 0
			}
			settle(d, ready)
			if err := tracker.Update(deployments, d, ns); err != nil {
				return true, nil, err
			}
			for i := range max(n, 64) {
				name := fmt.Sprintf("fx-%s-%d", colour, i)
				_ = tracker.Delete(pods, ns, name)
				if i < n {
					if err := tracker.Add(pod(colour, i, i < ready, false)); err != nil {
						return true, nil, err
					}
				}
			}
			obj = d
		}
		if check != nil {
			check(tracker)
		}
		return true, obj, nil
	})
}

// endpoints counts the ready, not terminating pods the live Service selects.
func endpoints(tracker k8stesting.ObjectTracker) (int, error) {
	o, err := tracker.Get(corev1.SchemeGroupVersion.WithResource("services"), ns, "fx")
	if err != nil {
		return 0, err
	}
	sel := labels.SelectorFromSet(o.(*corev1.Service).Spec.Selector)
	l, err := tracker.List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), ns)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range l.(*corev1.PodList).Items {
		if !sel.Matches(labels.Set(p.Labels)) || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n, nil
}

func selector(t *testing.T, client *fake.Clientset) map[string]string {
	t.Helper()
	svc, err := client.CoreV1().Services(ns).Get(context.Background(), "fx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector
}

func replicasOf(t *testing.T, client *fake.Clientset, colour string) int32 {
	t.Helper()
	d, err := client.AppsV1().Deployments(ns).Get(context.Background(), "fx-"+colour, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}
