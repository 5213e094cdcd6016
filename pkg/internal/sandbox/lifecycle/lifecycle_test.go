//go:build lifecycle

package lifecycle

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

// hostState is what the sandbox may change on the host, as text to compare.
type hostState map[string]string

func snapshot(t *testing.T, dir string) hostState {
	t.Helper()
	s := hostState{
		"links":     run(t, "ip", "-o", "link", "show"),
		"routes":    run(t, "ip", "route", "show", "table", "all"),
		"iptables":  rules(run(t, "iptables-save")),
		"ip6tables": rules(run(t, "ip6tables-save")),
		"mounts":    below(lines(readFile("/proc/self/mountinfo")), dir),
		"processes": strings.Join(processesNaming(dir), "\n"),
		"cgroups":   strings.Join(globAll("/sys/fs/cgroup/*/deploy-actions-sandbox", "/sys/fs/cgroup/deploy-actions-sandbox"), "\n"),
		"run":       strings.Join(globAll("/run/containerd", "/run/deploy-actions-sandbox"), "\n"),
	}
	for _, k := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/route_localnet", "vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops", "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"} {
		s["sysctl "+k] = readFile("/proc/sys/" + k)
	}
	return s
}

// compare fails t for each part of the host that differs from before.
func compare(t *testing.T, before, after hostState) {
	t.Helper()
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if before[k] != after[k] {
			t.Errorf("%s changed:\nbefore:\n%s\nafter:\n%s", k, before[k], after[k])
		}
	}
}

// rules keeps the chains and rules of an iptables-save dump, not the
// tables' headers and counters: a table iptables made once stays, empty.
func rules(save string) string {
	var out []string
	for _, l := range lines(save) {
		if strings.HasPrefix(l, "-") || (strings.HasPrefix(l, ":") && strings.Contains(l, " - ")) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func below(mountinfo []string, dir string) string {
	var out []string
	for _, l := range mountinfo {
		if strings.Contains(l, dir) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func processesNaming(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) && e.Name() != "self" && e.Name() != "thread-self" {
			out = append(out, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

func globAll(patterns ...string) []string {
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	return out
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func readFile(p string) string {
	data, _ := os.ReadFile(p)
	return strings.TrimSpace(string(data))
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// Up with the real node, a pod of ours running on it (a shim, a network
// namespace, a veth, overlay and volume mounts, kube-proxy's rules for its
// Service), then Down: the host is as it was.
func TestDownLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	before := snapshot(t, dir)
	ctx := context.Background()
	s, err := sandbox.Up(ctx, sandbox.Config{Dir: dir, Detach: true, Progress: testWriter{t}})
	if err != nil {
		sandbox.Down(ctx, dir)
		t.Fatal(err)
	}
	downed := false
	defer func() {
		if !downed {
			sandbox.Down(ctx, dir)
		}
	}()
	runPod(t, s)
	during := snapshot(t, dir)
	for _, k := range []string{"links", "iptables", "mounts", "processes", "cgroups"} {
		if during[k] == before[k] {
			t.Errorf("%s did not change while the node ran; the check would prove nothing", k)
		}
	}
	// The bridge plugin turns forwarding on for the pod; its restore is
	// proven only where it was off.
	if k := "sysctl net/ipv4/ip_forward"; before[k] == "0" && during[k] != "1" {
		t.Errorf("%s stayed %s while a pod ran; the check of its restore would prove nothing", k, during[k])
	}
	if err := sandbox.Down(ctx, dir); err != nil {
		t.Fatalf("down: %v", err)
	}
	downed = true
	compare(t, before, snapshot(t, dir))
}

// A kubelet that exits at once: Up fails, naming the kubelet and its log,
// and undoes everything it had started.
func TestUpNamesTheComponentThatFailed(t *testing.T) {
	dir := t.TempDir()
	before := snapshot(t, dir)
	fake := filepath.Join(t.TempDir(), "kubelet")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'kubelet: simulated failure' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := sandbox.Up(ctx, sandbox.Config{Dir: dir, Detach: true, Binaries: map[string]string{"kubelet": fake}})
	defer sandbox.Down(ctx, dir)
	var ce *sandbox.ComponentError
	if !errors.As(err, &ce) {
		t.Fatalf("Up: %v; want a ComponentError", err)
	}
	if ce.Component != "kubelet" || ce.LogPath != filepath.Join(dir, "logs", "kubelet.log") || !strings.Contains(err.Error(), "simulated failure") {
		t.Errorf("error names %q, log %q: %v; want the kubelet, its log and its last lines", ce.Component, ce.LogPath, err)
	}
	after := snapshot(t, dir)
	after["mounts"], before["mounts"] = "", "" // the state directory is kept for its logs
	compare(t, before, after)
}

func runPod(t *testing.T, s *sandbox.Sandbox) {
	t.Helper()
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	image := s.SampleAppImage(t, "v1.0.0")
	one := int32(1)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
	}
	sandbox.OnRealNode(&d.Spec.Template.Spec)
	if _, err := client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(sandbox.SampleAppPort)}}},
	}
	if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, nil
	})
	if err != nil {
		t.Fatalf("the pod never became available on the real node: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
