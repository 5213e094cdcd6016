//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// The tests in this file run the sample app's image on the sandbox's real
// node and keep a probe of 200 requests per second going through the live
// Service's ClusterIP for the whole operation. Each request opens its own
// connection, so it is routed by kube-proxy's rules as they are at that
// instant. They assert how many requests failed and which version answered.

// realApp is rollouttest's fx-platform on the real node, with this
// package's helpers for the blue and green Deployments.
type realApp struct {
	*app
	*rollouttest.Real
	images map[string]string
}

// newRealApp runs blue with the first of versions; images holds each
// version's image.
func newRealApp(t *testing.T, replicas int32, versions ...string) *realApp {
	t.Helper()
	images := map[string]string{}
	for _, v := range versions {
		images[v] = rollouttest.Image(t, v)
	}
	r := rollouttest.RealBlueApp(t, replicas, images[versions[0]], versions[0])
	return &realApp{app: &app{client: r.Client, ns: r.Namespace}, Real: r, images: images}
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

	m := a.Probe(t)
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], ScaleDownDelay: 2 * time.Second})
	if err != nil || res.Outcome != rollout.Promoted {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	rollouttest.Settle(t, m, "v2")
	before := m.Since(time.Time{}).Versions["v1"]
	r := rollouttest.CheckProbe(t, "blue-green promote to v2", m, "v1", "v2")
	if before == 0 || r.Versions["v2"] == 0 {
		t.Errorf("answers %v: want v1 before the switch and v2 after it", r.Versions)
	}
	if got := *a.deployment(t, "blue").Spec.Replicas; got != 0 {
		t.Fatalf("blue has %d replicas after the scale-down delay, want 0 (the next rollback is to be cold)", got)
	}

	m = a.Probe(t)
	cold, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
	if err != nil || cold.Warm || cold.ActiveColor != "blue" {
		t.Fatalf("cold rollback: %+v, %v; want a cold rollback to blue", cold, err)
	}
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "cold rollback to v1", m, "v1", "v2")

	// Promote v3 to green; blue (v1) stays warm for the rollback.
	pctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	promoted := make(chan error, 1)
	go func() {
		_, err := rollout.Promote(pctx, rollout.Config{Target: target, Image: a.images["v3"], ScaleDownDelay: time.Hour})
		promoted <- err
	}()
	waitPhase(t, a.app, rollout.PhasePromoted)
	a.WaitServing(t, "v3")
	m = a.Probe(t)
	rollouttest.Settle(t, m, "v3")
	warm, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
	if err != nil || !warm.Warm || warm.ActiveColor != "blue" {
		t.Fatalf("warm rollback: %+v, %v; want a warm rollback to blue", warm, err)
	}
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "warm rollback to v1", m, "v1", "v3")
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
	m := a.Probe(t)
	cfg := rollout.Config{Target: a.target(t, "replicas"), Image: a.images["v2"], Strategy: rollout.Canary,
		Steps: []int{34, 67, 100}, Pauses: []time.Duration{2 * time.Second}, ScaleDownDelay: time.Second,
		Analysis: &analysis.Analysis{Provider: prov, Checks: errorRateCheck(t)}, AnalysisInterval: time.Second}
	res, err := rollout.Promote(context.Background(), cfg)
	if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted {
		t.Fatalf("promote: %+v, %v; want aborted", res, err)
	}
	rollouttest.Settle(t, m, "v1")
	r := rollouttest.CheckProbe(t, "canary aborted at its first step", m, "v1", "v2")
	if r.Versions["v2"] == 0 {
		t.Errorf("no answer came from the canary (v2): %v; the abort proved nothing", r.Versions)
	}
	if got := *a.deployment(t, "green").Spec.Replicas; got != 0 {
		t.Errorf("green has %d replicas after the abort, want 0", got)
	}
}

// A release that never becomes ready: promote gives up before any traffic
// moves, with 0 failed requests, only the old version answering, and the
// old colour untouched (same generation, same pods).
func TestRealNodeNeverReadyReleaseMovesNoTraffic(t *testing.T) {
	a := newRealApp(t, replicas, "v1")
	bad := rollouttest.Image(t, "v2", "FAIL_HEALTH="+sampleapp.PathHealth)
	blue := a.deployment(t, "blue")
	pods := a.podNames(t, "blue")
	m := a.Probe(t)
	target := a.target(t, "service")
	target.Timeout = 20 * time.Second
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: bad, ScaleDownDelay: time.Second})
	if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted || res.StepsCompleted != 0 {
		t.Fatalf("promote: %+v, %v; want aborted before the first step", res, err)
	}
	r := rollouttest.CheckProbe(t, "a release that never becomes ready", m, "v1")
	if r.Versions["v1"] != r.Requests {
		t.Errorf("answers %v, want all from v1", r.Versions)
	}
	after := a.deployment(t, "blue")
	if after.Generation != blue.Generation || *after.Spec.Replicas != replicas {
		t.Errorf("blue changed: generation %d -> %d, replicas %d", blue.Generation, after.Generation, *after.Spec.Replicas)
	}
	if got := a.podNames(t, "blue"); strings.Join(got, ",") != strings.Join(pods, ",") {
		t.Errorf("blue's pods changed: %v -> %v", pods, got)
	}
	if sel := a.service(t).Spec.Selector["version"]; sel != "blue" {
		t.Errorf("the live Service selects %q, want blue", sel)
	}
}

// The replicas router on the real node: at each weight the share of the
// probe's answers that come from green is the share of ready pods that are
// green's, within a binomial margin.
func TestRealNodeReplicasRouterShare(t *testing.T) {
	const total = 3
	a := newRealApp(t, total, "v1", "v2")
	ctx := context.Background()
	// green exists with no replicas, as promote leaves it for this router.
	green := a.deployment(t, "blue").DeepCopy()
	green.ObjectMeta = metav1.ObjectMeta{Name: "fx-platform-green", Labels: map[string]string{"app": "fx-platform", "version": "green"}}
	zero := int32(0)
	green.Spec.Replicas = &zero
	green.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "fx-platform", "version": "green"}}
	green.Spec.Template.Labels = green.Spec.Selector.MatchLabels
	green.Spec.Template.Spec.Containers[0].Image = a.images["v2"]
	if _, err := a.client.AppsV1().Deployments(a.ns).Create(ctx, green, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	router, err := traffic.NewRouter("replicas", traffic.Config{Client: a.client,
		App: traffic.App{Namespace: a.ns, Service: rollouttest.Service, Deployment: rollouttest.Deployment}, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Probe(t)
	for _, w := range []int{34, 67} {
		if err := router.Route(ctx, "blue", "green", w); err != nil {
			t.Fatalf("route %d %%: %v", w, err)
		}
		wantGreen, _ := traffic.Split(total, w)
		a.waitEndpointsSplit(t, int(wantGreen), total-int(wantGreen))
		time.Sleep(2 * time.Second) // kube-proxy applies the endpoints about a second after they change
		start := time.Now()
		for m.Since(start).Requests < 1000 {
			select {
			case <-m.Done():
				t.Fatalf("at %d %%: the probe reached its bound before 1000 requests", w)
			case <-time.After(100 * time.Millisecond):
			}
		}
		if g, b := len(a.podNames(t, "green")), len(a.podNames(t, "blue")); g != int(wantGreen) || b != total-int(wantGreen) {
			t.Fatalf("at %d %%: %d green and %d blue pods during the window, want %d and %d", w, g, b, wantGreen, total-int(wantGreen))
		}
		r := m.Since(start)
		share := r.Share("v2")
		want := float64(wantGreen) / total
		// Five standard deviations of a binomial share over r's answers.
		margin := 5 * math.Sqrt(want*(1-want)/float64(r.Requests-r.Failed))
		t.Logf("weight %d %%: %d of %d pods green, green answered %.1f %% of %d (margin %.1f points)", w, wantGreen, total, 100*share, r.Requests, 100*margin)
		if math.Abs(share-want) > margin || r.Failed != 0 {
			t.Errorf("weight %d %%: green answered %.1f %% (%v), want %.1f %% ± %.1f, 0 failed", w, 100*share, r.Versions, 100*want, 100*margin)
		}
	}
	rollouttest.CheckProbe(t, "replicas router at 34 % and 67 %", m, "v1", "v2")
}

// podNames lists the running, ready pods of colour, sorted.
func (a *realApp) podNames(t *testing.T, colour string) []string {
	t.Helper()
	pods, err := a.client.CoreV1().Pods(a.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=fx-platform,version=" + colour})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// waitEndpointsSplit waits until the live Service's ready endpoints are
// green and blue pods in the given numbers, and no other.
func (a *realApp) waitEndpointsSplit(t *testing.T, green, blue int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := readyAddresses(ctx, a.client, a.ns, rollouttest.Service)
		if err != nil || len(got) != green+blue {
			return false, nil
		}
		return len(a.podNames(t, "green")) == green && len(a.podNames(t, "blue")) == blue, nil
	})
	if err != nil {
		t.Fatalf("the live Service's endpoints never became %d green and %d blue pods", green, blue)
	}
}

// A 10/25/50/100 % canary through the Gateway (Traefik on the host, the
// gateway-api router setting the HTTPRoute's weights): at each step the
// share of the Gateway probe's answers that come from the new version is
// within 3 points of the weight, over at least 1,000 requests; no request
// fails, through the Gateway or through the live Service.
func TestRealNodeGatewayCanary(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2")
	a.Route(t, "v1")
	target := a.target(t, "gateway-api")
	target.Dynamic, target.HTTPRoute = a.Dynamic(t), rollouttest.HTTPRoute
	// Traefik applies a changed HTTPRoute within about two seconds (its
	// provider throttle); each step's window starts after that.
	const pause, settle = 10 * time.Second, 3 * time.Second
	gw, svc := a.GatewayProbe(t), a.Probe(t)
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: a.images["v2"], Strategy: rollout.Canary,
		Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{pause}, ScaleDownDelay: 2 * time.Second})
	if err != nil || res.Outcome != rollout.Promoted {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	rollouttest.Settle(t, gw, "v2")
	rollouttest.Settle(t, svc, "v2")
	samples := gw.Samples()
	for _, ph := range res.Phases {
		if ph.Weight <= 0 || ph.Weight >= 100 {
			continue
		}
		var window []verify.Sample
		for _, s := range samples {
			if s.At.After(ph.Start.Add(settle)) && s.At.Before(ph.End) {
				window = append(window, s)
			}
		}
		r := verify.Summarize(window)
		share := 100 * r.Share("v2")
		t.Logf("step %d %%: the new version answered %.1f %% of %d requests through the Gateway", ph.Weight, share, r.Requests)
		if r.Requests < 1000 {
			t.Errorf("step %d %%: %d requests in the window, want at least 1000", ph.Weight, r.Requests)
		}
		if math.Abs(share-float64(ph.Weight)) > 3 {
			t.Errorf("step %d %%: the new version answered %.1f %% (%v), want within 3 points", ph.Weight, share, r.Versions)
		}
	}
	rollouttest.CheckProbe(t, "canary through the Gateway", gw, "v1", "v2")
	rollouttest.CheckProbe(t, "canary, the live Service", svc, "v1", "v2")
}

// The strategy's steps, 10,25,50,100, on the replicas router with the
// strategy's 3 replicas: 10 % and 25 % would be 33 %. Promote refuses
// before it changes anything, naming the steps, the router and the
// replica count; blue keeps serving every request and green is never made.
func TestRealNodeUnreachableWeightsRefused(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2")
	m := a.Probe(t)
	before := a.service(t)
	res, err := rollout.Promote(context.Background(), rollout.Config{Target: a.target(t, "replicas"), Image: a.images["v2"],
		Strategy: rollout.Canary, Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{time.Second}})
	if !errors.Is(err, rollout.ErrUnreachableWeights) || res != nil && res.Outcome == rollout.Promoted {
		t.Fatalf("promote: %+v, %v; want ErrUnreachableWeights", res, err)
	}
	for _, want := range []string{"steps [10 25 50 100]", "3 replicas", "replicas router", "[10 25 50]", "33 67", "gateway-api or nginx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	time.Sleep(2 * time.Second) // the probe watches a while after the refusal
	rollouttest.CheckProbe(t, "refused steps", m, "v1")
	after := a.service(t)
	if !reflect.DeepEqual(before.Spec.Selector, after.Spec.Selector) || !reflect.DeepEqual(before.Annotations, after.Annotations) {
		t.Errorf("the Service changed: selector %v -> %v, annotations %v -> %v", before.Spec.Selector, after.Spec.Selector, before.Annotations, after.Annotations)
	}
	if _, err := a.client.AppsV1().Deployments(a.ns).Get(context.Background(), rollouttest.Deployment+"-green", metav1.GetOptions{}); err == nil {
		t.Error("green was made")
	}
}

// A live Service that selects both colours and has no state yet, the
// usual set-up for a replica-ratio canary: blue is the colour with
// replicas, so blue is live, and a canary on the replicas router promotes
// v2 with 0 failed requests (before, "the live colour is \"\"" refused it).
func TestRealNodeNoColourInTheSelector(t *testing.T) {
	a := newRealApp(t, replicas, "v1", "v2")
	ctx := context.Background()
	if err := kube.SetSelectorLabel(ctx, a.client, a.ns, rollouttest.Service, "version", ""); err != nil {
		t.Fatal(err)
	}
	if sel := a.service(t).Spec.Selector; sel["version"] != "" {
		t.Fatalf("the selector still names a colour: %v", sel)
	}
	m := a.Probe(t)
	res, err := rollout.Promote(ctx, rollout.Config{Target: a.target(t, "replicas"), Image: a.images["v2"], Strategy: rollout.Canary,
		Steps: []int{34, 67, 100}, Pauses: []time.Duration{time.Second}, ScaleDownDelay: time.Second})
	if err != nil || res.Outcome != rollout.Promoted || res.PreviousColor != "blue" {
		t.Fatalf("promote: %+v, %v; want promoted from blue", res, err)
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "canary from a Service over both colours", m, "v1", "v2")
}
