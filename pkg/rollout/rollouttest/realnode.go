package rollouttest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// ProbeRate is the continuous probe's rate in requests per second: every
// rollout test on the real node keeps one going through the live Service.
const ProbeRate = 200

// probeTimeout bounds each probe request. A request to a pod that is gone
// never connects and fails at this timeout whatever it is; it is 5 s, not
// 2 s, because a loaded CI run starved a release answering 700 ms late
// (the e2e's slow release, pods requesting 10m of CPU) past 2 s.
const probeTimeout = 5 * time.Second

// Real is fx-platform on the sandbox's real node: fx-platform-blue live
// behind fx-platform-service, running the sample app's image, which answers
// with its version in X-App-Version.
type Real struct {
	Cluster
	// URL is the live Service's business path through its ClusterIP.
	URL string
	// GatewayURL and Host reach the app through the sandbox's Gateway once
	// Route has run: requests to GatewayURL with Host as their Host header.
	GatewayURL, Host string
}

// HTTPRoute is the name of the HTTPRoute Route makes.
const HTTPRoute = "fx-platform"

// GatewayProbe is Probe through the Gateway (after Route).
func (r *Real) GatewayProbe(t testing.TB) *verify.Monitor {
	t.Helper()
	return r.probe(t, r.GatewayURL, r.Host, ProbeRate)
}

// RealBlueAppIn is RealBlueApp in c's namespace, with env added to the
// container (the colours' configuration, which promote copies).
func RealBlueAppIn(t testing.TB, c Cluster, replicas int32, image, version string, env ...corev1.EnvVar) *Real {
	t.Helper()
	spec := RealPodSpec(image)
	spec.Containers[0].Env = env
	// Annotated as the reference chart annotates its pods, for
	// Cluster.ScrapePods.
	svc := blueApp(t, c.Client, c.Namespace, replicas, spec, map[string]string{
		sandbox.AnnotationScrape: "true", sandbox.AnnotationPort: strconv.Itoa(sandbox.SampleAppPort), sandbox.AnnotationPath: sampleapp.PathMetrics,
	})
	r := &Real{Cluster: c, URL: "http://" + svc.Spec.ClusterIP + sampleapp.PathStrategy}
	r.WaitServing(t, version)
	return r
}

// preStopSeconds is the pods' preStop sleep: how long a deleted pod keeps
// serving while its endpoint is taken out of the Service. On a loaded CI
// run (2 cores shared by the control plane, the tests and act's builds), the
// EndpointSlice update and kube-proxy's sync came after a 3 s sleep, and
// once after a 5 s one: a connection kube-proxy still sent to the pod found
// its network gone ("host unreachable"). 10 s leaves a margin.
const preStopSeconds = 10

// RealPodSpec is the pod of a production-like Deployment on the real node:
// ready when /api/health answers, a preStop sleep that keeps a terminating
// pod serving while its endpoint is taken out, then the app's own graceful
// shutdown.
func RealPodSpec(image string) corev1.PodSpec {
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
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: preStopSeconds}}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi"),
			}},
		}},
	}
	sandbox.OnRealNode(&spec)
	return spec
}

// Probe starts the continuous probe of the live Service at ProbeRate; it
// stops by itself after 5 minutes at the most, and when t ends.
func (r *Real) Probe(t testing.TB) *verify.Monitor {
	t.Helper()
	return r.probe(t, r.URL, "", ProbeRate)
}

// ProbeAtRate is Probe at rate requests per second.
func (r *Real) ProbeAtRate(t testing.TB, rate int) *verify.Monitor {
	t.Helper()
	return r.probe(t, r.URL, "", rate)
}

func (r *Real) probe(t testing.TB, url, host string, rate int) *verify.Monitor {
	t.Helper()
	m, err := verify.StartAvailability(context.Background(), verify.AvailabilityOptions{
		URL: url, Host: host, Rate: float64(rate), MaxRequests: rate * 300, MaxDuration: 5 * time.Minute,
		VersionHeader: sampleapp.HeaderVersion, Timeout: probeTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	record(t, r.Cluster, m, url)
	return m
}

// Settle waits, with the probe still running, until its last second of
// answers all came from version: kube-proxy applies a Service's new
// endpoints about a second after they change.
func Settle(t testing.TB, m *verify.Monitor, version string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		select {
		case <-m.Done():
			return false, fmt.Errorf("the probe reached its bound")
		default:
		}
		r := m.Since(time.Now().Add(-2 * time.Second))
		return r.Requests >= 20 && r.Versions[version] == r.Requests, nil
	})
	if err != nil {
		t.Fatalf("the live Service never answered only from %s: last second %v", version, m.Since(time.Now().Add(-time.Second)))
	}
}

// CheckProbe stops m and fails t unless every request succeeded and every
// answer came from one of versions.
func CheckProbe(t testing.TB, what string, m *verify.Monitor, versions ...string) verify.AvailabilityReport {
	t.Helper()
	return CheckProbeAllowing(t, what, m, nil, versions...)
}

// CheckProbeAllowing is CheckProbe for an operation that may lose some
// requests (a release that crashes): failures that allowed accepts are
// logged, any other fails t.
func CheckProbeAllowing(t testing.TB, what string, m *verify.Monitor, allowed func(verify.Sample) bool, versions ...string) verify.AvailabilityReport {
	t.Helper()
	select {
	case <-m.Done():
		t.Errorf("%s: the probe reached its bound (5 min) before the operation ended; what came after went unwatched", what)
	default:
	}
	r := m.Stop()
	t.Logf("%s: %s", what, r)
	if r.Requests < 100 {
		t.Errorf("%s: the probe sent %d requests, want at least 100", what, r.Requests)
	}
	unexpected := 0
	for _, s := range m.Samples() {
		if !s.OK() && (allowed == nil || !allowed(s)) {
			unexpected++
		}
	}
	if allowed != nil && r.Failed > 0 {
		t.Logf("%s: %d failed requests, %d of them outside what the operation may lose", what, r.Failed, unexpected)
	}
	if unexpected != 0 {
		t.Errorf("%s: %d of %d requests failed (%v), longest gap %s; want 0", what, r.Failed, r.Requests, r.Failures, r.LongestGap)
		logged := 0
		for _, s := range m.Samples() {
			if s.OK() || allowed != nil && allowed(s) {
				continue
			}
			if logged++; logged > 10 {
				t.Logf("and %d more failures", r.Failed-10)
				break
			}
			t.Logf("failed: sent %s, after %s: %s", s.At.UTC().Format("15:04:05.000"), s.Latency.Round(time.Millisecond), s.Err)
		}
		logTimeline(t, m)
	}
	want := map[string]bool{}
	for _, v := range versions {
		want[v] = true
	}
	for v, n := range r.Versions {
		if !want[v] {
			t.Errorf("%s: %d answers from %q, want only %v", what, n, v, versions)
		}
	}
	return r
}

// WaitServing waits until the live Service answers from version.
func (r *Real) WaitServing(t testing.TB, version string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		resp, err := client.Get(r.URL)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && resp.Header.Get(sampleapp.HeaderVersion) == version, nil
	})
	if err != nil {
		t.Fatalf("%s never answered from %s", r.URL, version)
	}
}
