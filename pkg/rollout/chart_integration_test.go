//go:build integration

package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// chartApp is fx-platform released from the reference chart on the real
// node: its Helm client and the values every release shares.
type chartApp struct {
	rollouttest.Cluster
	helm   *helm.Client
	images map[string]string
}

func newChartApp(t *testing.T, versions ...string) *chartApp {
	t.Helper()
	c := rollouttest.NewCluster(t)
	kc, err := kube.Load(kube.Source{Kubeconfig: c.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	h, err := helm.New(kc.Getter(), c.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	a := &chartApp{Cluster: c, helm: h, images: map[string]string{}}
	for _, v := range versions {
		a.images[v] = rollouttest.Image(t, v)
	}
	return a
}

// config is a promotion of version from the reference chart, with set on
// top of the real node's values.
func (a *chartApp) config(t *testing.T, version string, set ...string) rollout.Config {
	t.Helper()
	ch, err := loader.Load("../../testdata/charts/fx-platform")
	if err != nil {
		t.Fatal(err)
	}
	img := a.images[version]
	d, repo := img[len(img)-71:], img[:len(img)-72]
	vals, err := helm.Values{
		Files: []string{"../../testdata/demo/real-node-values.yaml"},
		Set:   append([]string{"service.name=fx-platform-service"}, set...),
		Image: &helm.Image{Repository: repo, Digest: d},
	}.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return rollout.Config{
		Target: rollout.Target{App: traffic.App{Namespace: a.Namespace, Service: "fx-platform-service", Deployment: "fx-platform"},
			Client: a.Client, Router: "service", Owner: "test/" + t.Name(), Timeout: 3 * time.Minute, LeaseDuration: 3 * time.Second},
		Image: img, ScaleDownDelay: 2 * time.Second,
		Chart: &rollout.Chart{Helm: a.helm, Chart: ch, Values: vals},
	}
}

func (a *chartApp) real(t *testing.T) *rollouttest.Real {
	t.Helper()
	svc, err := a.Client.CoreV1().Services(a.Namespace).Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &rollouttest.Real{Cluster: a.Cluster, URL: "http://" + svc.Spec.ClusterIP + sampleapp.PathStrategy}
}

// releaseValue is a value of the last revision of release, as helm get
// values shows it.
func (a *chartApp) releaseValue(t *testing.T, release string, path ...string) any {
	t.Helper()
	hist, err := a.helm.History(release)
	if err != nil || len(hist) == 0 {
		t.Fatalf("history of %s: %v, %d revisions", release, err, len(hist))
	}
	var v any = hist[len(hist)-1].Config
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

func (a *chartApp) env(t *testing.T, deployment, name string) string {
	t.Helper()
	d, err := a.Client.AppsV1().Deployments(a.Namespace).Get(context.Background(), deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// Production from the chart, on the real node: the first release installs
// blue; blue is scaled to 7 as an HPA would at peak; a release that
// changes an environment variable and the HPA's maximum reaches green,
// which is at 7 ready replicas before traffic moves; helm's values show
// it; rolling back brings blue's variable back with its image. The probe
// through the live Service sees no failed request.
func TestRealNodeColoursFromTheChart(t *testing.T) {
	a := newChartApp(t, "v1", "v2")
	ctx := context.Background()

	res, err := rollout.Promote(ctx, a.config(t, "v1", "env.GREETING=hello"))
	if err != nil || res.Outcome != rollout.Installed || res.ActiveColor != "blue" {
		t.Fatalf("first release: %+v, %v; want installed on blue", res, err)
	}
	r := a.real(t)
	r.WaitServing(t, "v1")
	for _, rel := range []string{"fx-platform", "fx-platform-blue"} {
		if got := a.releaseValue(t, rel, "rollout", "part"); got != map[string]string{"fx-platform": "shared", "fx-platform-blue": "blue"}[rel] {
			t.Errorf("release %s renders part %v", rel, got)
		}
	}

	// Peak load: the HPA (min 3, max 10) has blue at 7.
	if err := kube.Scale(ctx, a.Client, a.Namespace, "fx-platform-blue", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitAvailable(ctx, a.Client, a.Namespace, "fx-platform-blue", 2*time.Minute, 0); err != nil {
		t.Fatal(err)
	}

	cfg := a.config(t, "v2", "env.GREETING=bonjour", "autoscaling.maxReplicas=12")
	var readyAtSwitch atomic.Int32
	readyAtSwitch.Store(-1)
	cfg.OnEvent = func(e rollout.Event) {
		if e.Phase == "step" {
			d, err := a.Client.AppsV1().Deployments(a.Namespace).Get(ctx, "fx-platform-green", metav1.GetOptions{})
			if err == nil {
				readyAtSwitch.Store(d.Status.ReadyReplicas)
			}
		}
	}
	m := r.Probe(t)
	res, err = rollout.Promote(ctx, cfg)
	if err != nil || res.Outcome != rollout.Promoted || res.ActiveColor != "green" {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "promote of v2 from the chart", m, "v1", "v2")
	if n := readyAtSwitch.Load(); n != 7 {
		t.Errorf("green had %d ready replicas when traffic moved, want 7 (blue's count at peak, not the HPA's minimum)", n)
	}
	if got := a.releaseValue(t, "fx-platform-green", "env", "GREETING"); got != "bonjour" {
		t.Errorf("helm get values fx-platform-green: env.GREETING = %v, want bonjour", got)
	}
	if got := a.env(t, "fx-platform-green", "GREETING"); got != "bonjour" {
		t.Errorf("green runs GREETING=%q, want bonjour", got)
	}
	hpa, err := a.Client.AutoscalingV2().HorizontalPodAutoscalers(a.Namespace).Get(ctx, "fx-platform-green", metav1.GetOptions{})
	if err != nil || hpa.Spec.MaxReplicas != 12 || hpa.Spec.ScaleTargetRef.Name != "fx-platform-green" {
		t.Errorf("green's HPA: %v, %v; want max 12 scaling fx-platform-green", hpa, err)
	}
	if got := a.env(t, "fx-platform-blue", "GREETING"); got != "hello" {
		t.Errorf("blue runs GREETING=%q after the release, want its own hello", got)
	}
	// Blue's HPA (minimum 3) does not fight its scale-down: at 0 replicas
	// the autoscaler disables itself, as it reports.
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		h, err := a.Client.AutoscalingV2().HorizontalPodAutoscalers(a.Namespace).Get(ctx, "fx-platform-blue", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range h.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "ScalingDisabled" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("blue's HPA never reported ScalingDisabled: %v", err)
	}
	if got := *a.deployment(t, "fx-platform-blue").Spec.Replicas; got != 0 {
		t.Errorf("blue has %d replicas after the scale-down delay and its HPA's sync, want 0", got)
	}

	// The same release again changes nothing; a release that changes only
	// a value is a release.
	same, err := rollout.Promote(ctx, a.config(t, "v2", "env.GREETING=bonjour", "autoscaling.maxReplicas=12"))
	if err != nil || same.Outcome != rollout.Unchanged {
		t.Errorf("the same release again: %+v, %v; want unchanged", same, err)
	}

	m = r.Probe(t)
	rb := cfg.Target
	rb.Owner = "test/rollback"
	back, err := rollout.Rollback(ctx, rollout.RollbackConfig{Target: rb, To: "previous", Reason: "test"})
	if err != nil || back.ActiveColor != "blue" {
		t.Fatalf("rollback: %+v, %v", back, err)
	}
	rollouttest.Settle(t, m, "v1")
	rollouttest.CheckProbe(t, "rollback to blue", m, "v1", "v2")
	if got := a.env(t, "fx-platform-blue", "GREETING"); got != "hello" {
		t.Errorf("blue runs GREETING=%q after the rollback, want hello: its config comes back with its image", got)
	}
	// Blue runs what its release says: promoting v1 with blue's values is
	// unchanged; v2 with green's values renders green again.
	if same, err := rollout.Promote(ctx, a.config(t, "v1", "env.GREETING=hello")); err != nil || same.Outcome != rollout.Unchanged {
		t.Errorf("v1 with blue's own values after the rollback: %+v, %v; want unchanged", same, err)
	}
	again, err := rollout.Promote(ctx, a.config(t, "v2", "env.GREETING=bonjour", "autoscaling.maxReplicas=12"))
	if err != nil || again.Outcome != rollout.Promoted {
		t.Errorf("promote after the rollback: %+v, %v", again, err)
	}
	// The shared release follows the colour live when promote starts (a
	// revision only when that changed), and a change to the shared
	// objects alone is applied without a colour, as one more revision.
	if got := a.releaseValue(t, "fx-platform", "rollout", "live"); got != "blue" {
		t.Errorf("the shared release renders %v live, want blue (live when the last promote started)", got)
	}
	before, _ := a.helm.History("fx-platform")
	shared, err := rollout.Promote(ctx, a.config(t, "v2", "env.GREETING=bonjour", "autoscaling.maxReplicas=12", "networkPolicy.enabled=false"))
	if err != nil || shared.Outcome != rollout.Unchanged || !strings.Contains(shared.Reason, "shared objects changed") {
		t.Errorf("a change to the shared objects alone: %+v, %v; want unchanged, with them applied", shared, err)
	}
	if _, err := a.Client.NetworkingV1().NetworkPolicies(a.Namespace).Get(ctx, "fx-platform", metav1.GetOptions{}); err == nil {
		t.Error("the NetworkPolicy is still there after networkPolicy.enabled=false")
	}
	if after, _ := a.helm.History("fx-platform"); len(after) != len(before)+1 {
		t.Errorf("the shared release went from %d to %d revisions, want one more", len(before), len(after))
	}
	t.Logf("first install, promote %s, rollback %s", res.Duration, back.Duration)
}

func (a *chartApp) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := a.Client.AppsV1().Deployments(a.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (a *chartApp) service(t *testing.T) *corev1.Service {
	t.Helper()
	s, err := a.Client.CoreV1().Services(a.Namespace).Get(context.Background(), "fx-platform-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The strategy's SLOs as the default analysis, on the real node: the
// sandbox's Prometheus scrapes each colour's pods (the chart annotates
// them). A release that answers 5 % errors is aborted at its first step,
// and traffic is back on v1; a healthy one passes every step. A probe
// through the live Service gives the traffic and watches it: no request
// of the healthy release fails.
func TestRealNodeDefaultAnalysis(t *testing.T) {
	a := newChartApp(t, "v1", "v2")
	a.images["v2-bad"] = rollouttest.Image(t, "v2-bad", "ERROR_RATE=0.05")
	a.ScrapePods(t)
	ctx := context.Background()
	values := []string{"autoscaling.enabled=false", "replicaCount=3"}
	if res, err := rollout.Promote(ctx, a.config(t, "v1", values...)); err != nil || res.Outcome != rollout.Installed {
		t.Fatalf("first release: %+v, %v", res, err)
	}
	r := a.real(t)
	r.WaitServing(t, "v1")
	prom, err := analysis.NewPrometheus(a.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := analysis.DefaultSLO(2 * time.Second).Checks()
	if err != nil {
		t.Fatal(err)
	}
	canary := func(version string) rollout.Config {
		cfg := a.config(t, version, values...)
		cfg.Router, cfg.Strategy, cfg.Steps, cfg.Pauses = "replicas", rollout.Canary, []int{34, 67, 100}, []time.Duration{12 * time.Second}
		cfg.Analysis = &analysis.Analysis{Provider: prom, Checks: checks}
		// The candidate's first series appear a few seconds into a step
		// (discovery, a scrape, two points for a rate): until then a
		// measurement has no data, which is inconclusive, never a pass.
		cfg.AnalysisInterval, cfg.InconclusiveLimit, cfg.ScaleDownDelay = 2*time.Second, 5, time.Second
		return cfg
	}

	m := r.Probe(t)
	res, err := rollout.Promote(ctx, canary("v2-bad"))
	if !errors.Is(err, rollout.ErrAborted) || res.Outcome != rollout.Aborted || res.StepsCompleted != 0 {
		t.Fatalf("the release answering 5 %% errors: %+v, %v; want it aborted at its first step", res, err)
	}
	if !strings.Contains(err.Error(), "error-rate") {
		t.Errorf("abort reason %v, want the error-rate check", err)
	}
	var worst float64
	for _, ph := range res.Phases {
		for _, ms := range ph.Measurements {
			for _, mr := range ms {
				if mr.Name == "error-rate" && mr.Status == analysis.Fail {
					worst = max(worst, mr.Value)
				}
			}
		}
	}
	// The measured rate is below the 5 % the release answers early in a
	// step (Prometheus' rate() does not count a new series' first errors),
	// but it is a measured value above the SLO.
	if worst <= analysis.DefaultMaxErrorRate {
		t.Errorf("the failing error-rate measurement was %v, want a value above %v", worst, analysis.DefaultMaxErrorRate)
	}
	rollouttest.Settle(t, m, "v1")
	bad := m.Stop()
	t.Logf("during the bad release: %s", bad)
	for v := range bad.Versions {
		if v != "v1" && v != "v2-bad" {
			t.Errorf("answers from %q", v)
		}
	}

	healthyCanary(t, r, canary("v2"), "the SLO checks")
}

// Without Prometheus: each measurement is a load probe through the
// candidate's own Service (the reference chart's <service>-<colour>), judged
// on the same SLOs. The release answering 5 % errors is aborted at its
// first step; the healthy one passes every step with 0 failed requests
// through the live Service.
func TestRealNodeProbeAnalysis(t *testing.T) {
	a := newChartApp(t, "v1", "v2")
	a.images["v2-bad"] = rollouttest.Image(t, "v2-bad", "ERROR_RATE=0.05")
	ctx := context.Background()
	values := []string{"autoscaling.enabled=false", "replicaCount=3"}
	if res, err := rollout.Promote(ctx, a.config(t, "v1", values...)); err != nil || res.Outcome != rollout.Installed {
		t.Fatalf("first release: %+v, %v", res, err)
	}
	r := a.real(t)
	r.WaitServing(t, "v1")
	ip := map[string]string{}
	for _, colour := range []string{"blue", "green"} {
		svc, err := a.Client.CoreV1().Services(a.Namespace).Get(ctx, "fx-platform-service-"+colour, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the shared release's colour Service: %v", err)
		}
		ip[colour] = svc.Spec.ClusterIP
	}
	// What preview-url: http://fx-platform-service-{{.Color}}.<namespace>
	// is in a cluster, with the addresses the host reaches.
	preview := fmt.Sprintf(`http://{{if eq .Color "blue"}}%s{{else}}%s{{end}}`, ip["blue"], ip["green"])
	probe, err := verify.NewProbeAnalysis(preview, sampleapp.PathStrategy, 100, 50, analysis.DefaultMaxErrorRate, analysis.DefaultMaxP95)
	if err != nil {
		t.Fatal(err)
	}
	canary := func(version string) rollout.Config {
		cfg := a.config(t, version, values...)
		cfg.Router, cfg.Strategy, cfg.Steps, cfg.Pauses = "replicas", rollout.Canary, []int{34, 67, 100}, []time.Duration{6 * time.Second}
		cfg.Analysis, cfg.AnalysisInterval, cfg.ScaleDownDelay = probe, 2*time.Second, time.Second
		return cfg
	}

	m := r.Probe(t)
	res, err := rollout.Promote(ctx, canary("v2-bad"))
	if !errors.Is(err, rollout.ErrAborted) || res.StepsCompleted != 0 || !strings.Contains(err.Error(), "error-rate") {
		t.Fatalf("the release answering 5 %% errors: %+v, %v; want it aborted at its first step on error-rate", res, err)
	}
	rollouttest.Settle(t, m, "v1")
	t.Logf("during the bad release: %s", m.Stop())

	healthyCanary(t, r, canary("v2"), "the probe analysis")
}

// healthyCanary promotes a healthy v2 under the probe of the live Service:
// every step passes its analysis (judge names it), and no request fails.
func healthyCanary(t *testing.T, r *rollouttest.Real, cfg rollout.Config, judge string) {
	t.Helper()
	m := r.Probe(t)
	res, err := rollout.Promote(context.Background(), cfg)
	if err != nil || res.Outcome != rollout.Promoted {
		logPhases(t, res)
		logPods(t, r.Cluster)
		t.Fatalf("the healthy release: %+v, %v", res, err)
	}
	for _, ph := range res.Phases {
		if ph.Weight > 0 && ph.Weight < 100 && ph.Status != "pass" {
			t.Errorf("step %s: %s, want pass (judged by %s)", ph.Name, ph.Status, judge)
		}
	}
	rollouttest.Settle(t, m, "v2")
	rollouttest.CheckProbe(t, "the healthy release under "+judge, m, "v1", "v2")
}

// logPhases logs when each phase of a promotion began and ended.
func logPhases(t *testing.T, res *rollout.Result) {
	t.Helper()
	if res == nil {
		return
	}
	for _, ph := range res.Phases {
		t.Logf("phase %q: %s to %s, %s", ph.Name, ph.Start.Format("15:04:05.000"), ph.End.Format("15:04:05.000"), ph.Status)
	}
}

// logPods logs the namespace's pods and its latest events, for a rollout
// that waited too long.
func logPods(t *testing.T, c rollouttest.Cluster) {
	t.Helper()
	ctx := context.Background()
	if pods, err := c.Client.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			ready := false
			for _, cond := range p.Status.Conditions {
				ready = ready || cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue
			}
			t.Logf("pod %s: %s ready=%v deleting=%v ip=%s created %s", p.Name, p.Status.Phase, ready, p.DeletionTimestamp != nil, p.Status.PodIP, p.CreationTimestamp.Format("15:04:05"))
		}
	}
	if evs, err := c.Client.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		from := max(0, len(evs.Items)-30)
		for _, e := range evs.Items[from:] {
			t.Logf("event %s %s/%s: %s: %s", e.LastTimestamp.Format("15:04:05"), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
}
