//go:build integration

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// eventually polls cond until it returns true. The deadline only keeps a
// broken cluster from hanging the test; the test never measures time.
func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

func TestServiceSelectorMovesEndpoints(t *testing.T) {
	s := Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	ctx := context.Background()
	for _, colour := range []string{"blue", "green"} {
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, colourDeployment(colour, 3), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating deployment: %v", err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web", "version": "blue"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating service: %v", err)
	}
	for _, colour := range []string{"blue", "green"} {
		eventually(t, "deployment web-"+colour+" Available", func(ctx context.Context) (bool, error) {
			d, err := client.AppsV1().Deployments(ns).Get(ctx, "web-"+colour, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return d.Status.AvailableReplicas == 3 && deploymentAvailable(d), nil
		})
	}

	tests := []struct {
		name   string
		colour string // the selector's version label after the patch
	}{
		{name: "initial selector routes to blue", colour: "blue"},
		{name: "patched selector routes to green", colour: "green"},
		{name: "patched back to blue", colour: "blue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			patch := fmt.Sprintf(`{"spec":{"selector":{"app":"web","version":%q}}}`, tc.colour)
			if _, err := client.CoreV1().Services(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatalf("patching selector: %v", err)
			}
			want, err := podIPs(ctx, client, ns, "app=web,version="+tc.colour)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != 3 {
				t.Fatalf("got %d %s pod IPs, want 3: %v", len(want), tc.colour, want)
			}
			var got []string
			eventually(t, "EndpointSlices of web to list the "+tc.colour+" pods", func(ctx context.Context) (bool, error) {
				got, err = readyEndpoints(ctx, client, ns, "web")
				return strings.Join(got, ",") == strings.Join(want, ","), err
			})
		})
	}
}

func colourDeployment(colour string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web", "version": colour}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + colour, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "127.0.0.1:5000/sample-app@sha256:" + strings.Repeat("0", 64),
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podIPs(ctx context.Context, client kubernetes.Interface, ns, selector string) ([]string, error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			ips = append(ips, p.Status.PodIP)
		}
	}
	sort.Strings(ips)
	return ips, nil
}

func readyEndpoints(ctx context.Context, client kubernetes.Interface, ns, service string) ([]string, error) {
	slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				ips = append(ips, ep.Addresses...)
			}
		}
	}
	sort.Strings(ips)
	return ips, nil
}

func TestScrapeTargetReachesPrometheus(t *testing.T) {
	s := Get(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE sandbox_probe gauge\nsandbox_probe 42")
	}))
	defer target.Close()
	job := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	if err := s.AddScrapeTarget(job, []string{strings.TrimPrefix(target.URL, "http://")}, map[string]string{"job": job}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveScrapeTarget(job) })
	eventually(t, "prometheus to scrape "+job, func(ctx context.Context) (bool, error) {
		v, err := promQuery(ctx, s.PrometheusURL, fmt.Sprintf(`sandbox_probe{job=%q}`, job))
		return v == "42", err
	})
}

// promQuery returns the value of the first sample of an instant query.
func promQuery(ctx context.Context, base, query string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	if len(body.Data.Result) == 0 || len(body.Data.Result[0].Value) != 2 {
		return "", errors.New("no sample yet")
	}
	return fmt.Sprint(body.Data.Result[0].Value[1]), nil
}

func TestUpReportsFailuresBeforeStartingAnything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	noPrometheus := func(name string) (string, error) {
		if name == "prometheus" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + name, nil
	}
	noInstall := func(context.Context, []string) error { return errors.New("no apt-get in this test") }

	tests := []struct {
		name  string
		cfg   Config
		check func(error) bool
	}{
		{name: "api server port taken", cfg: Config{APIServerPort: busyPort}, check: func(err error) bool {
			return errors.Is(err, ErrPortInUse) && strings.Contains(err.Error(), "kube-apiserver")
		}},
		{name: "registry port taken", cfg: Config{RegistryPort: busyPort}, check: func(err error) bool {
			return errors.Is(err, ErrPortInUse) && strings.Contains(err.Error(), "registry")
		}},
		{name: "prometheus package missing", cfg: Config{LookPath: noPrometheus, Install: noInstall}, check: func(err error) bool {
			var m *MissingPackageError
			return errors.As(err, &m) && m.Package == "prometheus" && strings.Contains(err.Error(), "no apt-get in this test")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dir = t.TempDir()
			tc.cfg.NoRealNode = true // the machine's one real node is the shared sandbox's
			s, err := Up(context.Background(), tc.cfg)
			if err == nil {
				_ = Down(context.Background(), s.Dir)
				t.Fatal("Up succeeded, want an error")
			}
			if !tc.check(err) {
				t.Errorf("got error %v, not the expected kind", err)
			}
			t.Logf("error (as a user reads it): %v", err)
			if _, err := os.Stat(filepath.Join(tc.cfg.Dir, stateFile)); err == nil {
				t.Errorf("a failed Up left %s", stateFile)
			}
		})
	}
}

// TestLifecycle starts a second sandbox of its own: Up twice reuses it, a
// dead component makes Up restart it, and Down leaves no process behind.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Without the real node: the machine's one is the shared sandbox's, and
	// package lifecycle tests a sandbox with one.
	first, err := Up(ctx, Config{Dir: dir, NoRealNode: true})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { _ = Down(ctx, dir) })
	pids := func(s *Sandbox) map[string]int {
		m := map[string]int{}
		for _, c := range s.Components {
			m[c.Name] = c.PID
		}
		return m
	}

	again, err := Up(ctx, Config{Dir: dir, NoRealNode: true})
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if fmt.Sprint(pids(again)) != fmt.Sprint(pids(first)) {
		t.Errorf("second Up started new processes %v, want the running ones %v", pids(again), pids(first))
	}

	if err := syscall.Kill(pids(first)["kwok"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "kwok to be gone", func(context.Context) (bool, error) {
		return !pidAlive(pids(first)["kwok"], dir), nil
	})
	if err := first.Check(); err == nil || !strings.Contains(err.Error(), "kwok") {
		t.Errorf("Check after killing kwok: got %v, want an error naming kwok", err)
	}
	restarted, err := Up(ctx, Config{Dir: dir, NoRealNode: true})
	if err != nil {
		t.Fatalf("Up of a broken sandbox: %v", err)
	}
	if err := restarted.Check(); err != nil {
		t.Errorf("restarted sandbox: %v", err)
	}
	for name, pid := range pids(first) {
		if pidAlive(pid, dir) {
			t.Errorf("%s of the broken sandbox (pid %d) still runs after the restart", name, pid)
		}
	}

	// An Up killed before writing state.json leaves processes known only
	// by their pid files; the next Up stops them before starting anew.
	if err := os.Remove(filepath.Join(dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	orphans := restarted
	restarted, err = Up(ctx, Config{Dir: dir, NoRealNode: true})
	if err != nil {
		t.Fatalf("Up after a killed Up: %v", err)
	}
	for name, pid := range pids(orphans) {
		if pidAlive(pid, dir) {
			t.Errorf("%s of the killed Up (pid %d) still runs", name, pid)
		}
	}

	if err := Down(ctx, dir); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for name, pid := range pids(restarted) {
		if pidAlive(pid, dir) {
			t.Errorf("%s (pid %d) still runs after Down", name, pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Down left %s (stat error %v)", dir, err)
	}
}
