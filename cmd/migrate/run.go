package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/cmd/internal/charts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/migration"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/migrate"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Inputs are migrate's inputs, parsed and checked.
type Inputs struct {
	traffic.App
	Image     string
	Command   []string
	From      string // fromChart, fromLive or fromNone
	Part      string // with a chart: rollout.PartAll, or "colour"
	Release   string
	Container string
	Env       []corev1.EnvVar
	Timeout   time.Duration
	Chart     *charts.Group
	Kube      *kube.Config
	// Gate is the signature policy the image must pass before it runs with
	// the app's secrets (off when no verify-* input is set).
	Gate   sign.Policy
	digest name.Digest
}

// parseInputs reads and checks every input without a network call; a
// local chart is rendered now, so one that renders no Deployment changes
// nothing.
func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	p := Inputs{App: cluster.App(in), Container: in.String("container")}
	if problems := validation.IsDNS1123Label(p.Container); p.Container != "" && len(problems) > 0 {
		// No pod holds such a container: refused before the cluster is read.
		in.Fail("container", "%q is not a container name (a DNS label: lower-case letters, digits and '-'): %s", p.Container, strings.Join(problems, "; "))
	}
	digest := in.Digest("image")
	if digest.DigestStr() != "" {
		p.Image, p.digest = digest.String(), digest
	}
	p.Gate = gate.Parse(a, in, digest)
	if cmd := in.String("command"); cmd != "" {
		words, err := migration.ParseCommand(cmd)
		if err != nil {
			in.Fail("command", "%v", err)
		}
		p.Command = words
	}
	if p.Deployment == "" && in.String("deployment") == "" {
		in.Fail("deployment", "is required")
	}
	for _, kv := range in.KeyValues("env") {
		p.Env = append(p.Env, corev1.EnvVar{Name: kv.Key, Value: kv.Value})
	}
	p.Timeout = in.Duration("timeout")
	if d, err := action.ParseDuration(in.String("timeout")); err == nil && d <= 0 {
		in.Fail("timeout", "must be above 0")
	}
	p.parseTemplate(in, digest)
	p.Kube = cluster.Parse(a, in)
	if err := in.Err(); err != nil {
		return Inputs{}, err
	}
	return p, nil
}

// parseTemplate reads template-from, chart-part, release and the chart
// group.
func (p *Inputs) parseTemplate(in *action.Inputs, digest name.Digest) {
	var img *name.Digest
	if digest.DigestStr() != "" {
		img = &digest
	}
	g := charts.Parse(in, img, in.String("image"))
	p.From = in.Enum("template-from")
	if p.From == "" {
		p.From = fromLive
		if g.Set() {
			p.From = fromChart
		}
	}
	if p.From != fromChart {
		// What only a chart uses would be silently ignored.
		for _, name := range []string{"chart", "chart-version", "values-files", "set", "set-string", "release"} {
			if in.String(name) != "" {
				in.Fail(name, "is for template-from chart; with %s the pod is not rendered", p.From)
			}
		}
		return
	}
	if !g.Set() {
		in.Fail("chart", "is required with template-from chart")
		return
	}
	p.Chart = &g
	p.Part = rollout.PartAll
	if in.Enum("chart-part") == "colour" {
		p.Part = "colour"
	}
	if p.Release = in.String("release"); p.Release == "" {
		p.Release = p.Deployment
	}
	if err := chartutil.ValidateReleaseName(p.Release + "-green"); p.Release != "" && err != nil {
		in.Fail("release", "%q: %q is not a valid release name (lower-case letters, digits and '-', at most 53 characters)", p.Release, p.Release+"-green")
		return
	}
	if g.Local() != nil && g.Values != nil && p.Deployment != "" && p.Image != "" {
		if _, err := p.render(g.Local(), "blue"); err != nil {
			in.Fail("chart", "%v", err)
		}
	}
}

// render renders the release's pod: staging's one Deployment, or the
// colour's.
func (p *Inputs) render(ch *chart.Chart, colour string) (*rollout.Pod, error) {
	part := rollout.PartAll
	if p.Part == "colour" {
		part = colour
	}
	c := rollout.Chart{Chart: ch, Values: p.Chart.Values, Release: p.Release}
	return c.RenderPod(p.App, part)
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	// The image runs with the app's secrets: it passes the same signature
	// gate as deploy and promote, first.
	if err := gate.Check(ctx, a, in.digest, in.Gate, "migrate with"); err != nil {
		return err
	}
	client, err := in.Kube.Clientset()
	if err != nil {
		return err
	}
	tmpl, source, rendered, err := template(ctx, a, client, in)
	if err != nil {
		return err
	}
	s := migrate.Spec{Namespace: in.Namespace, App: in.Deployment, Name: migrate.JobName(in.Deployment, in.Image, in.Command), Image: in.Image, Command: in.Command,
		Template: tmpl, Container: in.Container, Env: in.Env, Timeout: in.Timeout}
	if rendered != nil {
		// Before its first install, a release's own ConfigMaps and Secrets
		// are not there for its pod: made for Helm to adopt.
		made, err := migrate.EnsureConfig(ctx, client, s, rendered.Release, helm.FieldManager, rendered.Config)
		if err != nil {
			return err
		}
		for _, m := range made {
			a.Infof("Made %s from the chart for the migration's pod; the release %s adopts it when it is installed", m, rendered.Release)
		}
	}
	a.Infof("Migrating with %s in %s (pod: %s)", strings.Join(in.Command, " "), in.Image, source)
	res, rerr := migrate.Run(ctx, client, s, func(m string) { a.Infof("%s", m) })
	if res == nil {
		return rerr
	}
	migration.Log(a, res)
	result := migration.Result(res, rerr)
	return errors.Join(rerr, a.SetOutputs("job", res.Job, "result", result, "template", source), a.AddSummary(migration.Summary("migrate", s, res, result, source)))
}

// template is the pod the migration runs in, where it came from, and the
// chart's render when it came from one.
func template(ctx context.Context, a *action.Action, client kubernetes.Interface, in Inputs) (*corev1.PodTemplateSpec, string, *rollout.Pod, error) {
	live := ""
	if in.Service != "" {
		svc, err := client.CoreV1().Services(in.Namespace).Get(ctx, in.Service, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// A first release: promote installs blue, and no colour is
			// live yet.
			a.Infof("No Service %s/%s yet: no colour is live", in.Namespace, in.Service)
		case err != nil:
			return nil, "", nil, fmt.Errorf("reading the live Service %s/%s: %w", in.Namespace, in.Service, err)
		default:
			live = rollout.ReadState(svc).ActiveColor
		}
	}
	switch in.From {
	case fromNone:
		return nil, fromNone, nil, nil
	case fromLive:
		tmpl, name, err := migrate.FindTemplate(ctx, client, in.Namespace, in.Deployment, live)
		if err != nil {
			return nil, "", nil, err
		}
		if tmpl == nil {
			return nil, "", nil, fmt.Errorf("no Deployment %s/%s or of its colours to take the pod from: render it from the chart (template-from chart), or run a bare pod (template-from none, with env)", in.Namespace, in.Deployment)
		}
		return tmpl, fromLive + " (" + name + ")", nil, nil
	}
	ch, err := in.Chart.Load(ctx, a, "deploy-actions/migrate")
	if err != nil {
		return nil, "", nil, err
	}
	// A colour's release is rendered as the candidate's, the colour not
	// live; the colours' pods differ in their names and labels alone.
	colour := "blue"
	if live != "" {
		colour = traffic.Other(live)
	}
	pod, err := in.render(ch, colour)
	if err != nil {
		return nil, "", nil, fmt.Errorf("rendering the chart: %w", err)
	}
	return pod.Template, fromChart + " (" + pod.Deployment + ")", pod, nil
}
