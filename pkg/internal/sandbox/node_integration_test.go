//go:build integration

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// The real node runs the image we push, and answers through a ClusterIP
// from the host: every request of a continuous probe succeeds and names
// the version the image was built with.
func TestRealNodeServesOurImage(t *testing.T) {
	s := Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	ctx := context.Background()
	image := s.SampleAppImage(t, "v1.0.0")
	d := realDeployment("web", image, 2)
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(SampleAppPort)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "web's 2 pods ready on "+NodeName, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != NodeName {
				return false, fmt.Errorf("pod %s runs on %q, not %s", p.Name, p.Spec.NodeName, NodeName)
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == 2, nil
	})
	url := "http://" + svc.Spec.ClusterIP + "/api/strategy"
	waitAnswers(t, url)

	m, err := verify.StartAvailability(ctx, verify.AvailabilityOptions{URL: url, Rate: 200, MaxRequests: 400, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	r := m.Stop()
	t.Logf("through %s: %s", url, r)
	if r.Requests != 400 || r.Failed != 0 {
		t.Errorf("%d requests, %d failed; want 400 and 0", r.Requests, r.Failed)
	}
	if r.Versions["v1.0.0"] != r.Requests {
		t.Errorf("answers by version = %v, want all from v1.0.0", r.Versions)
	}
}

// Traffic of the real node stays on the machine: the Service CIDR is routed
// to the pod bridge, forwarded pod traffic bound elsewhere is dropped, no
// rule masquerades the pods, and a Service without endpoints refuses at
// once. Nothing here sends a packet off the machine.
func TestRealNodeKeepsTrafficOnTheMachine(t *testing.T) {
	s := Get(t)
	if s.Node == nil {
		t.Fatal("the sandbox has no real node")
	}
	route := hostOutput(t, "ip", "route", "show", serviceCIDR)
	if !strings.Contains(route, "dev "+nodeBridge) {
		t.Errorf("route to the Service CIDR %s = %q, want it through %s", serviceCIDR, route, nodeBridge)
	}
	// An address kube-proxy has not programmed goes to the bridge too.
	if got := hostOutput(t, "ip", "route", "get", "10.96.255.254"); !strings.Contains(got, "dev "+nodeBridge) {
		t.Errorf("route to an unallocated ClusterIP = %q, want it through %s", got, nodeBridge)
	}
	forward := strings.Split(strings.TrimSpace(hostOutput(t, "iptables", "-w", "-t", "mangle", "-S", "FORWARD")), "\n")
	if len(forward) < 2 || forward[1] != "-A FORWARD -j "+guardChain {
		t.Errorf("mangle FORWARD = %q, want its first rule to jump to %s", forward, guardChain)
	}
	guard := hostOutput(t, "iptables", "-w", "-t", "mangle", "-S", guardChain)
	if want := fmt.Sprintf("-A %s -s %s ! -o %s -j DROP", guardChain, podCIDR, nodeBridge); !strings.Contains(guard, want) {
		t.Errorf("%s = %q, want %q", guardChain, guard, want)
	}
	// A connection to an address nobody programmed is refused at once and
	// leaves no connection-tracking entry behind: an unanswered SYN's
	// entry would catch, for 120 s, a later connection from the same
	// source port before NAT could translate it.
	d := net.Dialer{Timeout: 5 * time.Second}
	start := time.Now()
	conn, err := d.Dial("tcp", "10.96.255.254:80")
	if err == nil {
		conn.Close()
		t.Fatal("an unallocated ClusterIP answered")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) > time.Second {
		t.Errorf("connecting to an unallocated ClusterIP: %v after %s, want it refused at once", err, time.Since(start))
	}
	if ct, err := os.ReadFile("/proc/net/nf_conntrack"); err == nil && strings.Contains(string(ct), "dst=10.96.255.254 ") {
		t.Errorf("the refused connection left a connection-tracking entry")
	}
	for _, line := range strings.Split(hostOutput(t, "iptables", "-w", "-t", "nat", "-S"), "\n") {
		if strings.Contains(line, "-s "+podCIDR) && strings.Contains(line, "MASQUERADE") || strings.HasPrefix(line, "-N CNI-") {
			t.Errorf("nat rule %q masquerades the pods", line)
		}
	}

	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	svc, err := client.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nobody"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "nobody"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	if got := hostOutput(t, "ip", "route", "get", ip); !strings.Contains(got, "dev "+nodeBridge) {
		t.Fatalf("route to %s = %q, want it through %s (not sending)", ip, got, nodeBridge)
	}
	eventually(t, "kube-proxy's reject rule for "+ip, func(ctx context.Context) (bool, error) {
		return strings.Contains(hostOutput(t, "iptables-save", "-t", "filter"), "-d "+ip+"/32"), nil
	})
	conn, err = net.DialTimeout("tcp", net.JoinHostPort(ip, "80"), 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("connecting to %s (no endpoints) succeeded", ip)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connecting to %s (no endpoints): %v; want connection refused", ip, err)
	}
}

// realDeployment runs replicas of image on the real node, ready when
// /api/health answers.
func realDeployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: SampleAppPort}},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: sampleapp.PathHealth, Port: intstr.FromInt32(SampleAppPort)}},
						PeriodSeconds: 1,
					},
				}}},
			},
		},
	}
	OnRealNode(&d.Spec.Template.Spec)
	return d
}

// waitAnswers waits until url answers 200: kube-proxy writes a new
// Service's rules about a second after it appears.
func waitAnswers(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	eventually(t, url+" answering", func(ctx context.Context) (bool, error) {
		resp, err := client.Get(url)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func hostOutput(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = processEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
