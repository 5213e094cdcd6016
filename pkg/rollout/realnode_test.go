package rollout_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// The tests in this file run the sample app's image on the sandbox's real
// node and keep a probe of 200 requests per second going through the live
// Service's ClusterIP for the whole operation. Each request opens its own
// connection, so it is routed by kube-proxy's rules as they are at that
// instant. They assert how many requests failed and which version answered.

// probeRate is the continuous probe's rate, requests per second.
const probeRate = 200

// realApp is fx-platform on the real node: blue live, serving version
// "v1", behind fx-platform-service.
type realApp struct {
	*app
	url    string // the live Service's business path, by ClusterIP
	images map[string]string
}

func newRealApp(t *testing.T, replicas int32, versions ...string) *realApp {
	t.Helper()
	s := sandbox.Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	a := &realApp{app: &app{client: client, ns: s.Namespace(t)}, images: map[string]string{}}
	for _, v := range versions {
		a.images[v] = s.SampleAppImage(t, v)
	}
	ctx := context.Background()
	labels := map[string]string{"app": "fx-platform", "version": "blue"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-blue", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       realPodSpec(a.images[versions[0]]),
			},
		},
	}
	if _, err := client.AppsV1().Deployments(a.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := client.CoreV1().Services(a.ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(sandbox.SampleAppPort)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitAvailable(ctx, client, a.ns, d.Name, 2*time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	a.url = "http://" + svc.Spec.ClusterIP + sampleapp.PathStrategy
	a.waitServing(t, versions[0])
	return a
}

// realPodSpec is the pod of a production-like Deployment: ready when
// /api/health answers, a preStop sleep that keeps a terminating pod serving
// while kube-proxy takes its endpoint out, the app's own graceful shutdown
// after it.
func realPodSpec(image string) corev1.PodSpec {
	grace := int64(30)
	spec := corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name: "fx-platform", Image: image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: sandbox.SampleAppPort}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: sampleapp.PathHealth, Port: intstr.FromString("http")}},
				PeriodSeconds: 1,
			},
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi"),
			}},
		}},
	}
	sandbox.OnRealNode(&spec)
	return spec
}

// probe starts the continuous probe of the live Service; it stops by itself
// after 5 minutes at the most.
func (a *realApp) probe(t *testing.T) *verify.Monitor {
	t.Helper()
	m, err := verify.StartAvailability(context.Background(), verify.AvailabilityOptions{
		URL: a.url, Rate: probeRate, MaxRequests: probeRate * 300, MaxDuration: 5 * time.Minute,
		VersionHeader: sampleapp.HeaderVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	return m
}

// settle waits, with the probe still running, until its last second of
// answers all came from version; kube-proxy applies a Service's new
// endpoints about a second after they change.
func settle(t *testing.T, m *verify.Monitor, version string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		r := m.Since(time.Now().Add(-time.Second))
		return r.Requests >= probeRate/2 && r.Versions[version] == r.Requests, nil
	})
	if err != nil {
		t.Fatalf("the live Service never answered only from %s: last second %v", version, m.Since(time.Now().Add(-time.Second)))
	}
}

// checkProbe stops m and fails t unless every request succeeded and every
// answer came from one of versions.
func checkProbe(t *testing.T, what string, m *verify.Monitor, versions ...string) verify.AvailabilityReport {
	t.Helper()
	r := m.Stop()
	t.Logf("%s: %s", what, r)
	if r.Requests < probeRate {
		t.Errorf("%s: the probe sent %d requests, want at least %d", what, r.Requests, probeRate)
	}
	if r.Failed != 0 {
		t.Errorf("%s: %d of %d requests failed (%v), longest gap %s; want 0", what, r.Failed, r.Requests, r.Failures, r.LongestGap)
	}
	allowed := map[string]bool{}
	for _, v := range versions {
		allowed[v] = true
	}
	for v, n := range r.Versions {
		if !allowed[v] {
			t.Errorf("%s: %d answers from %q, want only %v", what, n, v, versions)
		}
	}
	return r
}

// waitServing waits until the live Service answers from version.
func (a *realApp) waitServing(t *testing.T, version string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		resp, err := client.Get(a.url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && resp.Header.Get(sampleapp.HeaderVersion) == version, nil
	})
	if err != nil {
		t.Fatalf("%s never answered from %s", a.url, version)
	}
}

// Blue-green on the real node: promote, cold rollback, promote again and a
// warm rollback, each under the continuous probe, each with 0 failed
// requests, the old version answering until the switch and only the new one
// after it.
func TestRealNodeBlueGreenAndRollbacks(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2", "v3")
	target := a.target(t, "service")
	rb := target
	rb.Owner, rb.LockTimeout = "test/rollback", time.Minute

	m := a.probe(t)
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], ScaleDownDelay: 2 * time.Second})
	if err != nil || res.Outcome != rollout.Promoted {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	settle(t, m, "v2")
	before := m.Since(time.Time{}).Versions["v1"]
	r := checkProbe(t, "blue-green promote to v2", m, "v1", "v2")
	if before == 0 || r.Versions["v2"] == 0 {
		t.Errorf("answers %v: want v1 before the switch and v2 after it", r.Versions)
	}
	if got := *a.deployment(t, "blue").Spec.Replicas; got != 0 {
		t.Fatalf("blue has %d replicas after the scale-down delay, want 0 (the next rollback is to be cold)", got)
	}

	m = a.probe(t)
	cold, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
	if err != nil || cold.Warm || cold.ActiveColor != "blue" {
		t.Fatalf("cold rollback: %+v, %v; want a cold rollback to blue", cold, err)
	}
	settle(t, m, "v1")
	checkProbe(t, "cold rollback to v1", m, "v1", "v2")

	// Promote v3 to green; blue (v1) stays warm for the rollback.
	pctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(pctx, rollout.Config{Target: target, Image: a.images["v3"], ScaleDownDelay: time.Hour})
		promoted <- err
	}()
	waitPhase(t, a.app, rollout.PhasePromoted)
	a.waitServing(t, "v3")
	m = a.probe(t)
	settle(t, m, "v3")
	warm, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
	if err != nil || !warm.Warm || warm.ActiveColor != "blue" {
		t.Fatalf("warm rollback: %+v, %v; want a warm rollback to blue", warm, err)
	}
	settle(t, m, "v1")
	checkProbe(t, "warm rollback to v1", m, "v1", "v3")
	t.Logf("rollback took %s warm, %s cold; promote took %s", warm.Duration, cold.Duration, res.Duration)
	cancel()
	if err := <-promoted; err != nil {
		t.Errorf("the promote of v3: %v", err)
	}
}

// A canary on the replicas router whose analysis fails at its first step:
// promote aborts with traffic back on blue, and not one request of the
// probe fails while the canary's pods come and go.
func TestRealNodeCanaryAbort(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2")
	prov := &scripted{values: []float64{0, 0.05}}
	m := a.probe(t)
	cfg := rollout.Config{Target: a.target(t, "replicas"), Image: a.images["v2"], Strategy: rollout.Canary,
		Steps: []int{34, 67, 100}, Pauses: []time.Duration{2 * time.Second}, ScaleDownDelay: time.Second,
		Analysis: &analysis.Analysis{Provider: prov, Checks: errorRateCheck(t)}, AnalysisInterval: time.Second}
	res, err := rollout.Promote(context.Background(), cfg)
	if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted {
		t.Fatalf("promote: %+v, %v; want aborted", res, err)
	}
	settle(t, m, "v1")
	r := checkProbe(t, "canary aborted at its first step", m, "v1", "v2")
	if r.Versions["v2"] == 0 {
		t.Errorf("no answer came from the canary (v2): %v; the abort proved nothing", r.Versions)
	}
	if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
		t.Errorf("green has %d replicas after the abort, want 0", got)
	}
}
