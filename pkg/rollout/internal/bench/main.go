// Command bench times promote and rollback on the sandbox's real node and,
// in the same run, the strategy document's kubectl procedure done with the
// same API calls kubectl makes (apply, wait --for=condition=available,
// patch the Service selector, scale, rollout status). A probe of 200
// requests a second goes through the live Service's ClusterIP the whole
// time; each step is timed from its start until every answer of the probe
// comes from the target version (the first of a full second of such
// answers), and its failed requests are counted. Used by
// scripts/bench.d/promote.sh.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/verify"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
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
	sb         *sandbox.Sandbox
	images     map[int]string // round -> image, its APP_VERSION "r<round>"
	urls       map[string]string
	failed     [2][3]int
}

// probeRate is the probe's rate, requests per second.
const probeRate = 200

func main() {
	dir := flag.String("sandbox", os.Getenv("SANDBOX_DIR"), "state directory of the running sandbox")
	rounds := flag.Int("rounds", 3, "rounds")
	promote := flag.String("promote", "", "promote binary")
	rollback := flag.String("rollback", "", "rollback binary")
	flag.Parse()
	sb, err := sandbox.Load(*dir)
	check(err)
	check(sb.Check())
	if sb.Node == nil {
		check(fmt.Errorf("the sandbox in %s has no real node", *dir))
	}
	client, err := sb.Client()
	check(err)
	b := &bench{client: client, kubeconfig: sb.Kubeconfig, promote: *promote, rollback: *rollback, sb: sb, images: map[int]string{}, urls: map[string]string{}}
	ctx := context.Background()
	for r := 1; r <= *rounds+1; r++ {
		b.images[r], err = sb.PushSampleAppImage(ctx, fmt.Sprintf("%s/bench/sample-app:r%d", sb.Registry, r), fmt.Sprintf("r%d", r))
		check(err)
	}
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
		img := b.images[r+1]
		for i, p := range []struct {
			name string
			ns   string
			run  func(context.Context, string, string) ([3]time.Duration, [3]int)
		}{{"promote + rollback actions", ours, b.actions}, {"strategy's kubectl steps (same API calls)", theirs, b.kubectl}} {
			d, failed := p.run(ctx, p.ns, img)
			for k := range failed {
				b.failed[i][k] += failed[k]
			}
			for k := range d {
				all[i][k] = append(all[i][k], d[k])
			}
			fmt.Printf("| %d | %s | %.2f | %.2f | %.2f |\n", r, p.name, d[0].Seconds(), d[1].Seconds(), d[2].Seconds())
		}
	}
	for i, name := range []string{"promote + rollback actions", "strategy's kubectl steps (same API calls)"} {
		fmt.Printf("| median | %s | %.2f | %.2f | %.2f |\n", name, median(all[i][0]), median(all[i][1]), median(all[i][2]))
	}
	for i, name := range []string{"promote + rollback actions", "strategy's kubectl steps (same API calls)"} {
		fmt.Printf("| failed requests, all rounds | %s | %d | %d | %d |\n", name, b.failed[i][0], b.failed[i][1], b.failed[i][2])
	}
}

// actions: promote (blue-green, no pauses, no analysis, no scale-down
// delay), rollback to previous (cold: scaled down), rollback again (warm).
func (b *bench) actions(ctx context.Context, ns, img string) ([3]time.Duration, [3]int) {
	live := b.live(ctx, ns)
	from, to := b.colourVersion(ctx, ns, live), versionOf(img, b.images)
	args := []string{"--namespace", ns, "--service", service, "--deployment", base, "--availability-url", "none"}
	var d [3]time.Duration
	var f [3]int
	d[0], f[0] = b.timed(ctx, ns, to, func() {
		b.run(b.promote, append(args, "--image", img, "--scale-down-delay", "0s", "--candidate-from", "live")...)
	})
	d[1], f[1] = b.timed(ctx, ns, from, func() { b.run(b.rollback, append(args, "--to", "previous")...) })
	d[2], f[2] = b.timed(ctx, ns, to, func() { b.run(b.rollback, append(args, "--to", "previous")...) })
	return d, f
}

// kubectl: the strategy's procedure. Promote: apply the idle colour's
// Deployment, wait for condition=available, patch the selector, delete
// (here: scale to 0) the old colour. Rollback cold: scale up, rollout
// status, patch. Rollback warm: patch.
func (b *bench) kubectl(ctx context.Context, ns, img string) ([3]time.Duration, [3]int) {
	live := b.live(ctx, ns)
	idle := other(live)
	from, to := b.colourVersion(ctx, ns, live), versionOf(img, b.images)
	var d [3]time.Duration
	var f [3]int
	d[0], f[0] = b.timed(ctx, ns, to, func() {
		b.applyColour(ctx, ns, idle, img)
		b.waitCondition(ctx, ns, base+"-"+idle)
		b.patchSelector(ctx, ns, idle)
		b.scale(ctx, ns, base+"-"+live, 0)
	})
	d[1], f[1] = b.timed(ctx, ns, from, func() {
		b.scale(ctx, ns, base+"-"+live, replicas)
		b.rolloutStatus(ctx, ns, base+"-"+live)
		b.patchSelector(ctx, ns, live)
	})
	d[2], f[2] = b.timed(ctx, ns, to, func() { b.patchSelector(ctx, ns, idle) })
	return d, f
}

// versionOf is the version an image of the bench answers with.
func versionOf(img string, images map[int]string) string {
	for r, i := range images {
		if i == img {
			return fmt.Sprintf("r%d", r)
		}
	}
	check(fmt.Errorf("no version for %s", img))
	return ""
}

// colourVersion returns the version colour's Deployment runs.
func (b *bench) colourVersion(ctx context.Context, ns, colour string) string {
	d, err := b.client.AppsV1().Deployments(ns).Get(ctx, base+"-"+colour, metav1.GetOptions{})
	check(err)
	return versionOf(d.Spec.Template.Spec.Containers[0].Image, b.images)
}

func (b *bench) run(bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig, "GITHUB_ACTIONS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		check(fmt.Errorf("%s %v: %w\n%s", bin, args, err, out))
	}
}

// timed runs step under a probe of the live Service and returns the time
// from the start until every answer comes from version (the first of a
// full second of only such answers), and the probe's failed requests.
func (b *bench) timed(ctx context.Context, ns, version string, step func()) (time.Duration, int) {
	m, err := verify.StartAvailability(ctx, verify.AvailabilityOptions{URL: b.urls[ns], Rate: probeRate,
		MaxRequests: probeRate * 600, MaxDuration: 10 * time.Minute, VersionHeader: sampleapp.HeaderVersion})
	check(err)
	start := time.Now()
	step()
	for {
		r := m.Since(time.Now().Add(-time.Second))
		if r.Requests >= probeRate/2 && r.Versions[version] == r.Requests {
			break
		}
		if time.Since(start) > 5*time.Minute {
			check(fmt.Errorf("%s never answered only from %s: %v", ns, version, r))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rep := m.Stop()
	samples := m.Samples()
	at := start
	for i := len(samples) - 1; i >= 0; i-- {
		if !samples[i].OK() || samples[i].Version != version {
			if i+1 < len(samples) {
				at = samples[i+1].At
			}
			break
		}
	}
	if at.Before(start) {
		at = start
	}
	return at.Sub(start), rep.Failed
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
	b.applyColour(ctx, ns, "blue", b.images[1])
	_, err = b.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: service},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "fx-platform", "version": "blue"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(sandbox.SampleAppPort)}}},
	}, metav1.CreateOptions{})
	check(err)
	b.waitCondition(ctx, ns, base+"-blue")
	svc, err := b.client.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	check(err)
	b.urls[ns] = "http://" + svc.Spec.ClusterIP + sampleapp.PathHealth
	for {
		resp, err := http.Get(b.urls[ns])
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ns
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// applyColour is `kubectl apply -f <colour>-deployment.yaml`: a pod on
// the real node, ready when /api/health answers, with a preStop sleep.
func (b *bench) applyColour(ctx context.Context, ns, colour, img string) {
	labels := map[string]string{"app": "fx-platform", "version": colour}
	n := int32(replicas)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: base + "-" + colour, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: rollouttest.RealPodSpec(img)}},
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
