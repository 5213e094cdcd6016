// Command bench times promote and rollback against the sandbox and, in the
// same run, the strategy document's kubectl procedure done with the same
// API calls kubectl makes (apply, wait --for=condition=available, patch the
// Service selector, scale, rollout status). Each time runs from the start of
// the step to the moment the live Service's ready endpoints are exactly the
// target colour's pods. Used by scripts/bench.d/promote.sh.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	replicas = 3
	service  = "fx-platform-service"
	base     = "fx-platform"
)

type bench struct {
	client     kubernetes.Interface
	kubeconfig string
	promote    string
	rollback   string
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig path")
	rounds := flag.Int("rounds", 3, "rounds")
	promote := flag.String("promote", "", "promote binary")
	rollback := flag.String("rollback", "", "rollback binary")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	check(err)
	client, err := kubernetes.NewForConfig(cfg)
	check(err)
	b := &bench{client: client, kubeconfig: *kubeconfig, promote: *promote, rollback: *rollback}
	ctx := context.Background()
	ours, theirs := b.namespace(ctx), b.namespace(ctx)
	defer func() {
		for _, ns := range []string{ours, theirs} {
			_ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	}()
	fmt.Println("| round | procedure | blue-green promote (s) | rollback cold (s) | rollback warm (s) |")
	fmt.Println("|---|---|---|---|---|")
	var all [2][3][]time.Duration
	for r := 1; r <= *rounds; r++ {
		img := image(r + 1)
		for i, p := range []struct {
			name string
			ns   string
			run  func(context.Context, string, string) [3]time.Duration
		}{{"promote + rollback actions", ours, b.actions}, {"strategy's kubectl steps (same API calls)", theirs, b.kubectl}} {
			d := p.run(ctx, p.ns, img)
			for k := range d {
				all[i][k] = append(all[i][k], d[k])
			}
			fmt.Printf("| %d | %s | %.2f | %.2f | %.2f |\n", r, p.name, d[0].Seconds(), d[1].Seconds(), d[2].Seconds())
		}
	}
	for i, name := range []string{"promote + rollback actions", "strategy's kubectl steps (same API calls)"} {
		fmt.Printf("| median | %s | %.2f | %.2f | %.2f |\n", name, median(all[i][0]), median(all[i][1]), median(all[i][2]))
	}
}

// actions: promote (blue-green, no pauses, no analysis, no scale-down
// delay), rollback to previous (cold: scaled down), rollback again (warm).
func (b *bench) actions(ctx context.Context, ns, img string) [3]time.Duration {
	live := b.live(ctx, ns)
	idle := other(live)
	args := []string{"--namespace", ns, "--service", service, "--deployment", base}
	var d [3]time.Duration
	d[0] = b.timed(ctx, ns, idle, img, func() { b.run(b.promote, append(args, "--image", img, "--scale-down-delay", "0s")...) })
	d[1] = b.timed(ctx, ns, live, "", func() { b.run(b.rollback, append(args, "--to", "previous")...) })
	d[2] = b.timed(ctx, ns, idle, "", func() { b.run(b.rollback, append(args, "--to", "previous")...) })
	return d
}

// kubectl: the strategy's procedure. Promote: apply the idle colour's
// Deployment, wait for condition=available, patch the selector, delete
// (here: scale to 0) the old colour. Rollback cold: scale up, rollout
// status, patch. Rollback warm: patch.
func (b *bench) kubectl(ctx context.Context, ns, img string) [3]time.Duration {
	live := b.live(ctx, ns)
	idle := other(live)
	var d [3]time.Duration
	d[0] = b.timed(ctx, ns, idle, img, func() {
		b.applyColour(ctx, ns, idle, img)
		b.waitCondition(ctx, ns, base+"-"+idle)
		b.patchSelector(ctx, ns, idle)
		b.scale(ctx, ns, base+"-"+live, 0)
	})
	d[1] = b.timed(ctx, ns, live, "", func() {
		b.scale(ctx, ns, base+"-"+live, replicas)
		b.rolloutStatus(ctx, ns, base+"-"+live)
		b.patchSelector(ctx, ns, live)
	})
	d[2] = b.timed(ctx, ns, idle, "", func() { b.patchSelector(ctx, ns, idle) })
	return d
}

func (b *bench) run(bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig, "GITHUB_ACTIONS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		check(fmt.Errorf("%s %v: %w\n%s", bin, args, err, out))
	}
}

// timed runs step and returns the time until the live Service's ready
// endpoints are exactly the colour's ready pods.
func (b *bench) timed(ctx context.Context, ns, colour, img string, step func()) time.Duration {
	start := time.Now()
	step()
	for {
		if b.endpointsAre(ctx, ns, colour, img) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// endpointsAre: the live Service's ready endpoints are exactly the
// colour's live pods, all running img when img is set (a promote is done
// only when the new image serves).
func (b *bench) endpointsAre(ctx context.Context, ns, colour, img string) bool {
	pods, err := b.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=fx-platform,version=" + colour})
	if err != nil {
		return false
	}
	var want []string
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			if img != "" && p.Spec.Containers[0].Image != img {
				return false
			}
			want = append(want, p.Status.PodIP)
		}
	}
	list, err := b.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return false
	}
	var got []string
	for _, sl := range list.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				got = append(got, ep.Addresses...)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	return len(got) == replicas && slices.Equal(got, want)
}

func (b *bench) live(ctx context.Context, ns string) string {
	svc, err := b.client.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	check(err)
	return svc.Spec.Selector["version"]
}

func (b *bench) namespace(ctx context.Context) string {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	ns := "bench-" + hex.EncodeToString(suffix)
	_, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	check(err)
	b.applyColour(ctx, ns, "blue", image(1))
	_, err = b.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: service},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "fx-platform", "version": "blue"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(3000)}}},
	}, metav1.CreateOptions{})
	check(err)
	b.waitCondition(ctx, ns, base+"-blue")
	for !b.endpointsAre(ctx, ns, "blue", "") {
		time.Sleep(50 * time.Millisecond)
	}
	return ns
}

// applyColour is `kubectl apply -f <colour>-deployment.yaml`.
func (b *bench) applyColour(ctx context.Context, ns, colour, img string) {
	labels := map[string]string{"app": "fx-platform", "version": colour}
	n := int32(replicas)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: base + "-" + colour, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "fx-platform", Image: img}}}}},
	}
	deps := b.client.AppsV1().Deployments(ns)
	cur, err := deps.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = deps.Create(ctx, d, metav1.CreateOptions{})
		check(err)
		return
	}
	check(err)
	cur.Spec.Template, cur.Spec.Replicas = d.Spec.Template, d.Spec.Replicas
	_, err = deps.Update(ctx, cur, metav1.UpdateOptions{})
	check(err)
}

// waitCondition is `kubectl wait --for=condition=available`: it looks at
// the condition only.
func (b *bench) waitCondition(ctx context.Context, ns, name string) {
	for {
		d, err := b.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		check(err)
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rolloutStatus is `kubectl rollout status`: observed generation and all
// replicas updated and available.
func (b *bench) rolloutStatus(ctx context.Context, ns, name string) {
	for {
		d, err := b.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		check(err)
		s := d.Status
		if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == *d.Spec.Replicas && s.AvailableReplicas == *d.Spec.Replicas && s.Replicas == *d.Spec.Replicas {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// patchSelector is `kubectl patch service ... -p '{"spec":{"selector":{"version":...}}}'`.
func (b *bench) patchSelector(ctx context.Context, ns, colour string) {
	patch := fmt.Sprintf(`{"spec":{"selector":{"version":%q}}}`, colour)
	_, err := b.client.CoreV1().Services(ns).Patch(ctx, service, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	check(err)
}

// scale is `kubectl scale deployment --replicas=n`.
func (b *bench) scale(ctx context.Context, ns, name string, n int32) {
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	_, err := b.client.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	check(err)
}

func other(c string) string {
	if c == "blue" {
		return "green"
	}
	return "blue"
}

func image(i int) string {
	return fmt.Sprintf("127.0.0.1:5000/fx-platform@sha256:%s", strings.Repeat(fmt.Sprintf("%x", i%16), 64))
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2].Seconds()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
