package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Chart renders the colours from a Helm chart instead of copying the live
// Deployment: each colour is its own release, <Release>-blue and
// <Release>-green, so everything of one colour (Deployment, HPA, PDB,
// Secret, ConfigMap) ships with it and keeps its Helm history, and the
// objects both colours share (the live Service, the colour Services, the
// NetworkPolicy) are a third release, <Release>. The chart follows the
// contract of the values under "rollout" (ValuePart and the others; the
// README and testdata/charts/fx-platform show it).
type Chart struct {
	// Helm deploys to the Target's namespace.
	Helm  *helm.Client
	Chart *chart.Chart
	// Values are the release's own values, the image's included (as
	// helm.Values.Merge makes them); promote adds the contract's.
	Values map[string]any
	// Release names the releases; "" is the Deployment base name.
	Release    string
	MaxHistory int
}

// The contract's values, under the "rollout" key.
const (
	// ValuePart is which part of the app a release renders: PartAll (the
	// whole app in one release, as deploy renders staging), PartShared, or
	// a colour.
	ValuePart = "part"
	// ValueColorLabel is the pod label that tells the colours apart.
	ValueColorLabel = "colorLabel"
	// ValueLive is the colour the shared release's live Service selects;
	// "" selects both (the replicas router's split).
	ValueLive = "live"
	// ValueReplicas is the replica count a colour's release starts at.
	ValueReplicas = "replicas"

	PartAll    = "all"
	PartShared = "shared"
)

// releaseName is the release of a part: <Release> for the shared objects,
// <Release>-<colour> for a colour.
func (ch *Chart) releaseName(app traffic.App, part string) string {
	base := ch.Release
	if base == "" {
		base = app.Deployment
	}
	if part == PartShared {
		return base
	}
	return base + "-" + part
}

// values are the release's values with the contract's set for part.
func (ch *Chart) values(app traffic.App, part string, set map[string]any) (map[string]any, error) {
	// A deep copy through JSON: the values came from YAML and --set, so
	// they are JSON's types, and no render may change another's values.
	raw, err := json.Marshal(ch.Values)
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	vals := map[string]any{}
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	r, _ := vals["rollout"].(map[string]any)
	if r == nil {
		r = map[string]any{}
	}
	r[ValuePart], r[ValueColorLabel] = part, app.ColorLabel
	for k, v := range set {
		r[k] = v
	}
	vals["rollout"] = r
	return vals, nil
}

// render renders part with the contract's values (and set) client-side.
func (ch *Chart) render(app traffic.App, part string, set map[string]any) (*helm.Rendered, error) {
	vals, err := ch.values(app, part, set)
	if err != nil {
		return nil, err
	}
	return helm.Render(ch.Chart, ch.releaseName(app, part), app.Namespace, vals)
}

// Check checks the chart against the contract for app, its image in
// container, as promote does before it changes anything; it needs no
// cluster. Callers use it to refuse a chart at input time.
func (ch *Chart) Check(app traffic.App, container, image string) error {
	return ch.check(app.WithDefaults(), container, image)
}

// check renders every part client-side and checks the contract before
// anything changes:
//   - each colour's release renders <deployment>-<colour> with the colour's
//     label on its selector and its pods, running image in container, any
//     autoscaler of it scaling that Deployment, and not the live Service;
//   - the shared release, with either colour live, renders the live
//     Service selecting that colour's pods and nothing else's, and no
//     Deployment;
//   - no object is rendered by two releases: promote's releases adopt what
//     they render (Own), so a candidate's release would take over, and
//     rewrite, an object the live colour depends on.
func (ch *Chart) check(app traffic.App, container, image string) error {
	if ch.Chart == nil {
		return errors.New("no chart")
	}
	owner := map[string]string{} // kind/name -> the release that renders it
	pods := map[string]map[string]string{}
	claim := func(r *helm.Rendered, release string) error {
		// Hooks too: an upgrade runs them, and a hook object with
		// before-hook-creation is deleted and made anew by either release.
		for _, o := range append(append([]*unstructured.Unstructured(nil), r.Objects...), r.HookObjects...) {
			key := o.GetKind() + "/" + o.GetName()
			if other, ok := owner[key]; ok && other != release {
				return fmt.Errorf("releases %s and %s both render %s: each object must belong to one release (suffix a colour's objects with its colour)", other, release, key)
			}
			owner[key] = release
		}
		return nil
	}
	for _, colour := range []string{"blue", "green"} {
		name := ch.releaseName(app, colour)
		r, err := ch.render(app, colour, nil)
		if err != nil {
			return err
		}
		if err := checkColour(r, app, colour, container, image); err != nil {
			return fmt.Errorf("release %s: %w (see the chart contract in the README)", name, err)
		}
		if err := claim(r, name); err != nil {
			return err
		}
		pods[colour], _, _ = unstructured.NestedStringMap(r.Find("Deployment", app.DeploymentName(colour)).Object, "spec", "template", "metadata", "labels")
	}
	name := ch.releaseName(app, PartShared)
	for _, live := range []string{"blue", "green"} {
		r, err := ch.render(app, PartShared, map[string]any{ValueLive: live})
		if err != nil {
			return err
		}
		if err := checkShared(r, app, live, pods); err != nil {
			return fmt.Errorf("release %s: %w (see the chart contract in the README)", name, err)
		}
		if err := claim(r, name); err != nil {
			return err
		}
	}
	return nil
}

func checkColour(r *helm.Rendered, app traffic.App, colour, container, image string) error {
	name := app.DeploymentName(colour)
	d := r.Find("Deployment", name)
	if d == nil {
		return fmt.Errorf("with %s=%s it renders no Deployment %q", "rollout.part", colour, name)
	}
	for _, path := range [][]string{{"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		labels, _, _ := unstructured.NestedStringMap(d.Object, path...)
		if labels[app.ColorLabel] != colour {
			return fmt.Errorf("Deployment %q: .%s has %s=%q, want %q", name, strings.Join(path, "."), app.ColorLabel, labels[app.ColorLabel], colour)
		}
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	var images []string
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if n, _ := m["name"].(string); container == "" || n == container {
			img, _ := m["image"].(string)
			images = append(images, img)
		}
	}
	switch {
	case container == "" && len(images) > 1:
		return fmt.Errorf("Deployment %q has %d containers: name the one that runs the image (input container)", name, len(images))
	case len(images) != 1 || images[0] != image:
		return fmt.Errorf("Deployment %q runs %v, not %s: check the image keys (image-repository-key, image-digest-key)", name, images, image)
	}
	for _, o := range r.Objects {
		switch kind := o.GetKind(); {
		case kind == "Service" && o.GetName() == app.Service:
			return fmt.Errorf("it renders the live Service %q too; a colour's release must leave it to the shared release", app.Service)
		case kind == "HorizontalPodAutoscaler":
			if target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name"); target != name {
				return fmt.Errorf("HorizontalPodAutoscaler %q scales %q; a colour's autoscaler must scale its own Deployment, %q", o.GetName(), target, name)
			}
		}
	}
	return nil
}

// checkShared checks the shared release, rendered with live selected,
// against the pod labels of each colour's release.
func checkShared(r *helm.Rendered, app traffic.App, live string, pods map[string]map[string]string) error {
	svc := r.Find("Service", app.Service)
	if svc == nil {
		return fmt.Errorf("with rollout.part=shared it renders no Service %q", app.Service)
	}
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	if sel[app.ColorLabel] != live {
		return fmt.Errorf("Service %q: with rollout.live=%s its selector has %s=%q, want %s", app.Service, live, app.ColorLabel, sel[app.ColorLabel], live)
	}
	for k, v := range sel {
		if pods[live][k] != v {
			return fmt.Errorf("Service %q selects %s=%s, which the pods of %s do not carry: it would select none of them", app.Service, k, v, app.DeploymentName(live))
		}
	}
	for _, o := range r.Objects {
		if o.GetKind() == "Deployment" {
			return fmt.Errorf("it renders Deployment %q; the shared release must leave workloads to the colours' releases", o.GetName())
		}
	}
	return nil
}

// Autoscaler names the HorizontalPodAutoscaler a colour's release renders
// for its Deployment ("HorizontalPodAutoscaler fx-platform-blue"), or "".
func (ch *Chart) Autoscaler(app traffic.App) (string, error) {
	app = app.WithDefaults()
	r, err := ch.render(app, "blue", nil)
	if err != nil {
		return "", err
	}
	for _, o := range r.Objects {
		target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if o.GetKind() == "HorizontalPodAutoscaler" && target == app.DeploymentName("blue") {
			return "HorizontalPodAutoscaler " + o.GetName(), nil
		}
	}
	return "", nil
}

// rendersAs reports whether colour's release, as last deployed, is what
// the chart renders now with these values (at the replicas that release
// was given): the same manifest, compared with the one Helm recorded, so
// no digest of the configuration (Secrets included) is kept anywhere else.
// A colour with no release, a failed one, or one whose Deployment was
// changed outside Helm (candidate-from live, a rollback to a digest: the
// caller compares the running image too) does not.
func (ch *Chart) rendersAs(app traffic.App, colour string) (bool, error) {
	hist, err := ch.Helm.History(ch.releaseName(app, colour))
	if err != nil || len(hist) == 0 {
		return false, err
	}
	last := hist[len(hist)-1]
	if last.Info.Status != rcommon.StatusDeployed {
		return false, nil
	}
	set := map[string]any{}
	if r, ok := last.Config["rollout"].(map[string]any); ok && r[ValueReplicas] != nil {
		set[ValueReplicas] = r[ValueReplicas]
	}
	r, err := ch.render(app, colour, set)
	if err != nil {
		return false, err
	}
	return r.Manifest == last.Manifest && r.Hooks == helm.HooksText(last.Hooks), nil
}

// applyShared installs or upgrades the shared release, its live Service
// selecting live. promote calls it only while no traffic is split, with
// the colour that is live then, so it never moves traffic: it brings the
// chart's shared objects (ports, NetworkPolicy) up to date. It reports
// whether it changed anything: a render that changes nothing adds no
// revision to the history.
func (ch *Chart) applyShared(ctx context.Context, app traffic.App, live string, timeout time.Duration) (bool, error) {
	vals, err := ch.values(app, PartShared, map[string]any{ValueLive: live})
	if err != nil {
		return false, err
	}
	name := ch.releaseName(app, PartShared)
	hist, err := ch.Helm.History(name)
	if err != nil {
		return false, err
	}
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		if r, err := helm.Render(ch.Chart, name, app.Namespace, vals); err == nil && last.Info.Status == rcommon.StatusDeployed && last.Manifest == r.Manifest && r.Hooks == helm.HooksText(last.Hooks) {
			return false, nil
		}
	}
	// Forward: a revision left pending by a run killed in its upgrade is
	// marked failed, not rolled back to the last deployed one, whose live
	// Service may select the colour that was live then.
	if _, err := ch.Helm.Deploy(ctx, helm.Request{Release: name, Chart: ch.Chart, Values: vals, Timeout: timeout, MaxHistory: ch.MaxHistory, Own: true, Forward: true}); err != nil {
		return false, fmt.Errorf("helm upgrade --install %s: %w", name, err)
	}
	return true, nil
}

// applyColour installs or upgrades colour's release starting at replicas,
// without waiting: the caller waits for the Deployment.
func (ch *Chart) applyColour(ctx context.Context, app traffic.App, colour string, replicas int32, timeout time.Duration) error {
	vals, err := ch.values(app, colour, map[string]any{ValueReplicas: int64(replicas)})
	if err != nil {
		return err
	}
	return ch.apply(ctx, ch.releaseName(app, colour), vals, timeout)
}

func (ch *Chart) apply(ctx context.Context, release string, vals map[string]any, timeout time.Duration) error {
	if _, err := ch.Helm.Deploy(ctx, helm.Request{Release: release, Chart: ch.Chart, Values: vals, Timeout: timeout, MaxHistory: ch.MaxHistory, Own: true}); err != nil {
		return fmt.Errorf("helm upgrade --install %s: %w", release, err)
	}
	return nil
}

// firstReplicas is what the first colour of a new app starts at: the
// chart's replicas, else its HPA's minimum, else one.
func (ch *Chart) firstReplicas(app traffic.App, colour string) (int32, error) {
	r, err := ch.render(app, colour, nil)
	if err != nil {
		return 0, err
	}
	name := app.DeploymentName(colour)
	d := r.Find("Deployment", name)
	if d == nil {
		return 0, fmt.Errorf("the chart renders no Deployment %q", name)
	}
	if n, ok, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); ok {
		return int32(n), nil
	}
	for _, o := range r.Objects {
		target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if o.GetKind() == "HorizontalPodAutoscaler" && target == name {
			if n, ok, _ := unstructured.NestedInt64(o.Object, "spec", "minReplicas"); ok && n > 0 {
				return int32(n), nil
			}
		}
	}
	return 1, nil
}

// renderCandidate brings the shared release up to date (selecting the live
// colour, so no traffic moves) and renders the candidate's release at
// replicas. It first checks that the chart's live Service selects the live
// colour's pods as they run: a Service made by hand, adopted by the shared
// release, must not lose its endpoints to a label the old pods lack.
func (p *promotion) renderCandidate(ctx context.Context, live *appsv1.Deployment, replicas int32) error {
	c := p.cfg
	ch := c.Chart
	if !p.res.Resumed {
		sel, err := ch.liveSelector(c.App, p.stable)
		if err != nil {
			return err
		}
		for k, v := range sel {
			if live.Spec.Template.Labels[k] != v {
				return fmt.Errorf("the chart's Service %q selects %s=%s, which the pods of %q (the live colour) do not carry: rendering it would leave production without endpoints; label them, or render the live colour from the chart first (a blue-green promote of the image it runs)",
					c.Service, k, v, live.Name)
			}
		}
		c.emit("create", 0, "helm upgrade --install %s (the shared objects; %s stays live)", ch.releaseName(c.App, PartShared), p.stable)
		if _, err := ch.applyShared(ctx, c.App, p.stable, c.Timeout); err != nil {
			return err
		}
	}
	c.emit("create", 0, "helm upgrade --install %s: %s at %d replicas", ch.releaseName(c.App, p.cand), c.Image, replicas)
	return ch.applyColour(ctx, c.App, p.cand, replicas, c.Timeout)
}

// liveSelector is the selector the shared release gives the live Service
// with live selected.
func (ch *Chart) liveSelector(app traffic.App, live string) (map[string]string, error) {
	r, err := ch.render(app, PartShared, map[string]any{ValueLive: live})
	if err != nil {
		return nil, err
	}
	svc := r.Find("Service", app.Service)
	if svc == nil {
		return nil, fmt.Errorf("the chart renders no Service %q", app.Service)
	}
	sel, _, err := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	return sel, err
}

// install makes the first release of an app from its chart: blue at the
// chart's replicas, waited for, then the shared objects with blue live, and
// the state. Nothing served before, so no traffic moves.
func (p *promotion) install(ctx context.Context) error {
	c := p.cfg
	ch := c.Chart
	// Only into an empty place: with a Deployment or a release of the app
	// already there, a missing Service is a typo or a deletion, and a
	// first release would adopt and replace what may be serving.
	var found []string
	for _, colour := range []string{"blue", "green"} {
		_, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, c.DeploymentName(colour), metav1.GetOptions{})
		switch {
		case err == nil:
			found = append(found, "deployment "+c.DeploymentName(colour))
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("reading deployment %q: %w", c.DeploymentName(colour), err)
		}
	}
	for _, part := range []string{PartShared, "blue", "green"} {
		hist, err := ch.Helm.History(ch.releaseName(c.App, part))
		if err != nil {
			return err
		}
		if len(hist) > 0 {
			found = append(found, "Helm release "+ch.releaseName(c.App, part))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("service %q does not exist, but %s does: a first release is installed only where nothing of the app is; check the service input, or remove what is left",
			c.Service, strings.Join(found, " and "))
	}
	p.stable, p.cand = "green", "blue"
	n, err := ch.firstReplicas(c.App, p.cand)
	if err != nil {
		return err
	}
	ph := p.begin("install "+p.cand, -1)
	c.emit("create", 0, "first release: helm upgrade --install %s: %s at %d replicas", ch.releaseName(c.App, p.cand), c.Image, n)
	if err := ch.applyColour(ctx, c.App, p.cand, n, c.Timeout); err != nil {
		p.end(ph, "fail")
		return err
	}
	if _, err := kube.WaitAvailable(ctx, c.Client, c.Namespace, c.DeploymentName(p.cand), c.Timeout, 0); err != nil {
		p.end(ph, "fail")
		return err
	}
	if _, err := ch.applyShared(ctx, c.App, p.cand, c.Timeout); err != nil {
		p.end(ph, "fail")
		return err
	}
	p.end(ph, "done")
	p.replicas = n
	p.st = State{Phase: PhasePromoted, ActiveColor: p.cand, ActiveImage: c.Image,
		StartedAt: p.res.Started, Step: len(c.Steps), Weight: 100, Replicas: n}
	if err := p.record(ctx); err != nil {
		return err
	}
	p.res.Outcome, p.res.ActiveColor, p.res.StepsCompleted = Installed, p.cand, 0
	p.res.Reason = fmt.Sprintf("no live Service %q: the first release, installed on %s", c.Service, p.cand)
	return nil
}

// checkAutoscalers refuses the replicas router when an autoscaler scales
// either colour: the router's weights are replica counts, which an HPA
// changes under it (a step that leaves the stable colour below the HPA's
// minimum is undone at once), so the observed weight would drift from the
// one asked. Routers that weigh requests are not affected.
func (p *promotion) checkAutoscalers(ctx context.Context) error {
	c := p.cfg
	if _, scales := c.router.(traffic.Scaler); !scales {
		return nil
	}
	if c.Chart != nil {
		// The candidate's release will render its own: refuse it now,
		// before the first release with one.
		if hpa, err := c.Chart.Autoscaler(c.App); err != nil || hpa != "" {
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: the chart renders %s, and the %s router sets traffic by replica counts, which the autoscaler changes: "+
				"use traffic-router gateway-api or nginx (they weigh requests), strategy blue-green, or turn the chart's autoscaler off for this service",
				ErrUnreachableWeights, hpa, c.Router)
		}
	}
	hpas, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing autoscalers: %w", err)
	}
	for _, h := range hpas.Items {
		ref := h.Spec.ScaleTargetRef
		for _, colour := range []string{"blue", "green"} {
			if ref.Kind == "Deployment" && ref.Name == c.DeploymentName(colour) {
				return fmt.Errorf("%w: HorizontalPodAutoscaler %q scales %q, and the %s router sets traffic by replica counts, which the autoscaler changes: "+
					"use traffic-router gateway-api or nginx (they weigh requests), strategy blue-green, or a chart without the autoscaler for this service",
					ErrUnreachableWeights, h.Name, ref.Name, c.Router)
			}
		}
	}
	return nil
}

// Pod is the pod a release will run, as RenderPod renders it.
type Pod struct {
	Template *corev1.PodTemplateSpec
	// Deployment and Release are the Deployment's name and its Helm
	// release's.
	Deployment, Release string
	// Config are the ConfigMaps and Secrets the release renders: a pod
	// that refers to one before the release is installed needs it made.
	Config []*unstructured.Unstructured
}

// RenderPod renders part client-side (a colour, as promote renders a
// candidate, or PartAll, as deploy renders staging's one Deployment) and
// returns the pod template of its Deployment: the pod the release will
// run, environment and all, for a migration Job that runs before it.
func (ch *Chart) RenderPod(app traffic.App, part string) (*Pod, error) {
	app = app.WithDefaults()
	release := ch.releaseName(app, part)
	if part == PartAll {
		// One release of the whole app, named as deploy names it.
		release = ch.releaseName(app, PartShared)
	}
	vals, err := ch.values(app, part, nil)
	if err != nil {
		return nil, err
	}
	r, err := helm.Render(ch.Chart, release, app.Namespace, vals)
	if err != nil {
		return nil, err
	}
	pod := &Pod{Release: release}
	var deployments []*unstructured.Unstructured
	for _, o := range r.Objects {
		switch o.GetKind() {
		case "Deployment":
			deployments = append(deployments, o)
		case "ConfigMap", "Secret":
			pod.Config = append(pod.Config, o)
		}
	}
	want := app.DeploymentName(part)
	if part == PartAll {
		want = release
	}
	d := r.Find("Deployment", want)
	if d == nil && len(deployments) == 1 {
		d = deployments[0]
	}
	if d == nil {
		return nil, fmt.Errorf("with %s=%s the chart renders %d Deployments, none named %q", "rollout.part", part, len(deployments), want)
	}
	var out appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, &out); err != nil {
		return nil, fmt.Errorf("Deployment %q: %w", d.GetName(), err)
	}
	pod.Template, pod.Deployment = &out.Spec.Template, d.GetName()
	return pod, nil
}
