// Package rollouttest sets up the strategy document's fx-platform in a
// namespace for tests of promote and rollback: a blue Deployment live
// behind fx-platform-service, which selects version=blue.
//
// What needs the sandbox (Main, NewCluster, RealBlueApp, Image, Real.Route
// and Real.Dynamic) is built only with the integration tag, so a unit test
// that reaches for it does not compile.
package rollouttest

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/kube"
)

// Names of the objects BlueApp makes.
const (
	Service    = "fx-platform-service"
	Deployment = "fx-platform"
)

// BlueApp creates fx-platform-blue (replicas, image) and the live Service,
// and waits until blue is available.
func BlueApp(t testing.TB, client kubernetes.Interface, ns string, replicas int32, image string) {
	t.Helper()
	blueApp(t, client, ns, replicas, corev1.PodSpec{Containers: []corev1.Container{{
		Name: "fx-platform", Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 3000}},
	}}}, nil)
}

// blueApp creates fx-platform-blue (replicas of spec, the pods annotated
// with annotations) and the live Service selecting it, waits until blue is
// available, and returns the Service.
func blueApp(t testing.TB, client kubernetes.Interface, ns string, replicas int32, spec corev1.PodSpec, annotations map[string]string) *corev1.Service {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "fx-platform", "version": "blue"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: Deployment + "-blue", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}, Spec: spec},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: Service},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(3000)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitAvailable(ctx, client, ns, d.Name, 2*time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	return svc
}

// Cluster is the sandbox's Kubernetes API for one test.
type Cluster struct {
	Client     kubernetes.Interface
	Kubeconfig string // path
	Namespace  string // unique to the test, deleted when it ends
	// PrometheusURL is the sandbox's Prometheus; PushgatewayURL the
	// Pushgateway it scrapes.
	PrometheusURL  string
	PushgatewayURL string
	// LogDir holds the sandbox's logs (kube-proxy.log, kubelet.log), read
	// when a probe request fails.
	LogDir string
}
