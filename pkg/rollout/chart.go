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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

// Check checks the chart against the contract for app, its image in
// container, as promote does before it changes anything; it needs no
// cluster. Callers use it to refuse a chart at input time.
func (ch *Chart) Check(app traffic.App, container, image string) error {
	_, err := ch.check(app.WithDefaults(), container, image)
	return err
}

// check renders every part client-side and checks the contract before
// anything changes: each colour's release renders <deployment>-<colour>
// with the colour's label on its selector and its pods, running image in
// container; the shared release renders the live Service, selecting the
// live colour and nothing of a colour's own. It returns the digest of what
// the colours are made from (a colour's manifest without the run's
// replicas), which tells a release that changed from one that did not.
func (ch *Chart) check(app traffic.App, container, image string) (string, error) {
	if ch.Chart == nil {
		return "", errors.New("no chart")
	}
	var digest string
	var bluePods map[string]string
	for _, colour := range []string{"blue", "green"} {
		vals, err := ch.values(app, colour, nil)
		if err != nil {
			return "", err
		}
		r, err := helm.Render(ch.Chart, ch.releaseName(app, colour), app.Namespace, vals)
		if err != nil {
			return "", err
		}
		if err := checkColour(r, app, colour, container, image); err != nil {
			return "", fmt.Errorf("release %s: %w (see the chart contract in the README)", ch.releaseName(app, colour), err)
		}
		if colour == "blue" {
			digest = helm.ManifestDigest(r.Manifest)
			bluePods, _, _ = unstructured.NestedStringMap(r.Find("Deployment", app.DeploymentName(colour)).Object, "spec", "template", "metadata", "labels")
		}
	}
	vals, err := ch.values(app, PartShared, map[string]any{ValueLive: "blue"})
	if err != nil {
		return "", err
	}
	r, err := helm.Render(ch.Chart, ch.releaseName(app, PartShared), app.Namespace, vals)
	if err != nil {
		return "", err
	}
	if err := checkShared(r, app, bluePods); err != nil {
		return "", fmt.Errorf("release %s: %w (see the chart contract in the README)", ch.releaseName(app, PartShared), err)
	}
	return digest, nil
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
	if len(images) != 1 || images[0] != image {
		return fmt.Errorf("Deployment %q runs %v, not %s: check the image keys (container %q)", name, images, image, container)
	}
	for _, o := range r.Objects {
		if o.GetKind() == "Service" && o.GetName() == app.Service {
			return fmt.Errorf("it renders the live Service %q too; a colour's release must leave it to the shared release", app.Service)
		}
	}
	return nil
}

// checkShared checks the shared release, rendered with blue live, against
// the pod labels of blue's release.
func checkShared(r *helm.Rendered, app traffic.App, bluePods map[string]string) error {
	svc := r.Find("Service", app.Service)
	if svc == nil {
		return fmt.Errorf("with rollout.part=shared it renders no Service %q", app.Service)
	}
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	if sel[app.ColorLabel] != "blue" {
		return fmt.Errorf("Service %q: with rollout.live=blue its selector has %s=%q, want blue", app.Service, app.ColorLabel, sel[app.ColorLabel])
	}
	for k, v := range sel {
		if bluePods[k] != v {
			return fmt.Errorf("Service %q selects %s=%s, which the pods of release %s do not carry: it would select none of them", app.Service, k, v, app.DeploymentName("blue"))
		}
	}
	for _, o := range r.Objects {
		if o.GetKind() == "Deployment" {
			return fmt.Errorf("it renders Deployment %q; the shared release must leave workloads to the colours' releases", o.GetName())
		}
	}
	return nil
}

// applyShared installs or upgrades the shared release, its live Service
// selecting live ("" for both colours). promote calls it only while no
// traffic is split, with the colour that is live then, so it never moves
// traffic: it brings the chart's shared objects (ports, NetworkPolicy) up
// to date.
func (ch *Chart) applyShared(ctx context.Context, app traffic.App, live string, timeout time.Duration) error {
	vals, err := ch.values(app, PartShared, map[string]any{ValueLive: live})
	if err != nil {
		return err
	}
	name := ch.releaseName(app, PartShared)
	// A render that changes nothing adds no revision to the history.
	if hist, err := ch.Helm.History(name); err == nil && len(hist) > 0 {
		last := hist[len(hist)-1]
		if r, err := helm.Render(ch.Chart, name, app.Namespace, vals); err == nil && last.Info.Status == rcommon.StatusDeployed && last.Manifest == r.Manifest {
			return nil
		}
	}
	return ch.apply(ctx, name, vals, timeout)
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
	vals, err := ch.values(app, colour, nil)
	if err != nil {
		return 0, err
	}
	r, err := helm.Render(ch.Chart, ch.releaseName(app, colour), app.Namespace, vals)
	if err != nil {
		return 0, err
	}
	name := app.DeploymentName(colour)
	if n, ok, _ := unstructured.NestedInt64(r.Find("Deployment", name).Object, "spec", "replicas"); ok {
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
		if err := ch.applyShared(ctx, c.App, p.stable, c.Timeout); err != nil {
			return err
		}
	}
	c.emit("create", 0, "helm upgrade --install %s: %s at %d replicas", ch.releaseName(c.App, p.cand), c.Image, replicas)
	return ch.applyColour(ctx, c.App, p.cand, replicas, c.Timeout)
}

// liveSelector is the selector the shared release gives the live Service
// with live selected.
func (ch *Chart) liveSelector(app traffic.App, live string) (map[string]string, error) {
	vals, err := ch.values(app, PartShared, map[string]any{ValueLive: live})
	if err != nil {
		return nil, err
	}
	r, err := helm.Render(ch.Chart, ch.releaseName(app, PartShared), app.Namespace, vals)
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
	if err := ch.applyShared(ctx, c.App, p.cand, c.Timeout); err != nil {
		p.end(ph, "fail")
		return err
	}
	p.end(ph, "done")
	p.replicas = n
	p.st = State{Phase: PhasePromoted, ActiveColor: p.cand, ActiveImage: c.Image, ActiveConfig: c.digest,
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
