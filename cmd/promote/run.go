package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/client-go/dynamic"

	"github.com/fxplatform/deploy-actions/cmd/internal/alerts"
	"github.com/fxplatform/deploy-actions/cmd/internal/availability"
	"github.com/fxplatform/deploy-actions/cmd/internal/charts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/gate"
	"github.com/fxplatform/deploy-actions/cmd/internal/ghdeploy"
	"github.com/fxplatform/deploy-actions/cmd/internal/notify"
	progressgw "github.com/fxplatform/deploy-actions/cmd/internal/progress"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/changes"
	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// Inputs are promote's inputs, parsed and checked.
type Inputs struct {
	traffic.App
	Container, Image string
	Digest           name.Digest
	// Chart renders the candidate (candidate-from chart), as Release's
	// colour; without it the live Deployment is copied.
	Chart      *charts.Group
	chartHPA   string // the autoscaler the local chart renders for a colour, if any
	Release    string
	MaxHistory int
	// Gate is the signature policy the image must pass before anything
	// changes (off when no verify-* input is set).
	Gate      sign.Policy
	Strategy  string
	Steps     []int
	StepPause []time.Duration
	// PauseAt are the weights held for a person, each hold bounded by
	// PauseTimeout.
	PauseAt      []int
	PauseTimeout time.Duration
	Notify       notify.Group
	// Alerts is the firing-alerts gate (off without prometheus-url).
	Alerts alerts.Group
	// Progress pushes the rollout gauges (pushgateway-url).
	Progress                          progressgw.Group
	TrafficRouter, HTTPRoute, Ingress string
	// PreviewURL is a template over analysis.Vars: {{.Color}} is the
	// idle colour.
	PreviewURL       *template.Template
	previewRaw       string
	ProbeRequests    int
	HealthPaths      []string
	PrometheusURL    string
	AnalysisChecks   []analysis.Check
	AnalysisInterval time.Duration
	// SLO: AnalysisChecks are the SLO checks (prometheus-url without
	// analysis-checks).
	SLO                                            bool
	MaxErrorRate                                   float64
	RequestsMetric, LatencyMetric, MetricsSelector string
	MaxP95                                         time.Duration
	FailureLimit, InconclusiveLimit, MinSamples    int
	// Compare is the canary-against-baseline comparison (compare-*), off
	// without metrics.
	Compare                             comparison
	PostPromotionWindow, ScaleDownDelay time.Duration
	LockTimeout, Timeout                time.Duration
	Kube                                *kube.Config // nil after an input problem
	GitHub                              ghdeploy.Group
	Owner                               string
	Availability                        availability.Probe
}

// parseSLO reads the SLO inputs; with a Prometheus and no checks of the
// user's own (useSLO), they become the analysis.
func (p *Inputs) parseSLO(in *action.Inputs, useSLO bool) {
	slo := analysis.SLO{
		RequestsMetric: in.String("requests-metric"), LatencyMetric: in.String("latency-metric"),
		Selector: in.String("metrics-selector"), MaxErrorRate: in.Percent("max-error-rate"), MaxP95: in.Duration("max-p95-latency"),
		Window: p.AnalysisInterval,
	}
	p.MaxErrorRate, p.MaxP95 = slo.MaxErrorRate, slo.MaxP95
	p.RequestsMetric, p.LatencyMetric, p.MetricsSelector = slo.RequestsMetric, slo.LatencyMetric, slo.Selector
	bad := false
	for _, name := range []string{"requests-metric", "latency-metric"} {
		if err := analysis.CheckMetricName(in.String(name)); err != nil {
			in.Fail(name, "%v", err)
			bad = true
		}
	}
	if err := analysis.CheckSelector(slo.Selector, analysis.SampleVars); err != nil {
		in.Fail("metrics-selector", "%v: want PromQL label matchers such as %s, a template over {{.Namespace}}, {{.Deployment}}, {{.Color}}, {{.Service}}, {{.Pods}}", err, analysis.DefaultSelector)
		bad = true
	}
	if bad || !useSLO || p.PrometheusURL == "" {
		return
	}
	checks, err := slo.Checks()
	if err != nil {
		in.Fail("max-error-rate", "%v", err)
		return
	}
	p.AnalysisChecks, p.SLO = checks, true
}

// checkMonitored refuses pauses in which nothing would judge the
// candidate (no analysis, no availability probe): such a pause is only a
// wait, unless allow-unmonitored says that is what is wanted.
func (p *Inputs) checkMonitored(in *action.Inputs) {
	if len(p.AnalysisChecks) > 0 || p.PreviewURL != nil || p.Availability.URL != "" || in.Bool("allow-unmonitored") {
		return
	}
	waits := p.Strategy == rollout.Canary && slices.ContainsFunc(p.StepPause, func(d time.Duration) bool { return d > 0 })
	switch {
	case waits:
		in.Fail("step-pause", "%v: nothing would judge the candidate during these pauses (no prometheus-url, analysis-checks, preview-url or availability probe); "+
			"set prometheus-url for the SLO checks, a preview-url to probe the candidate on them, an availability-url, or allow-unmonitored: true", p.StepPause)
	case p.PostPromotionWindow > 0:
		in.Fail("post-promotion-window", "%s: nothing would judge the new colour in it (no prometheus-url, analysis-checks, preview-url or availability probe); "+
			"set prometheus-url for the SLO checks, a preview-url to probe the candidate on them, an availability-url, or allow-unmonitored: true", p.PostPromotionWindow)
	}
}

// parseChart reads candidate-from and the chart group. A local chart is
// checked against the contract now, so one that breaks it changes nothing.
func (p *Inputs) parseChart(in *action.Inputs, digest name.Digest) {
	p.MaxHistory = in.Int("max-history", 0, 1000)
	from := in.Enum("candidate-from")
	g := charts.Parse(in, digestOrNil(digest), in.String("image"))
	if from == "live" {
		if g.Set() {
			in.Fail("candidate-from", "is live (copy the live Deployment), but chart is set too; set candidate-from: chart to render the colours from it")
		}
		// What only a chart uses would be silently ignored.
		for _, name := range []string{"release", "chart-version", "values-files", "set", "set-string"} {
			if in.String(name) != "" {
				in.Fail(name, "is for candidate-from chart; with live, the candidate copies the live Deployment and only its image changes")
			}
		}
		return
	}
	if !g.Set() {
		in.Fail("chart", "is required with candidate-from chart (the default); to copy the live Deployment and set its image instead, set candidate-from: live")
		return
	}
	p.Chart = &g
	if p.Release = in.String("release"); p.Release == "" {
		p.Release = p.Deployment
	}
	// The longest release name is <release>-green.
	if err := chartutil.ValidateReleaseName(p.Release + "-green"); p.Release != "" && err != nil {
		in.Fail("release", "%q: %q is not a valid release name (lower-case letters, digits and '-', at most 53 characters)", p.Release, p.Release+"-green")
		return
	}
	if g.Local() != nil && g.Values != nil && p.Image != "" && p.Deployment != "" && p.Service != "" {
		ch := rollout.Chart{Chart: g.Local(), Values: g.Values, Release: p.Release}
		if err := ch.Check(p.App, p.Container, p.Image); err != nil {
			in.Fail("chart", "%v", err)
		} else {
			p.chartHPA, _ = ch.Autoscaler(p.App)
		}
	}
}

func digestOrNil(d name.Digest) *name.Digest {
	if d.DigestStr() == "" {
		return nil
	}
	return &d
}

// parseInputs reads and checks every input without a network call.
func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var p Inputs
	p.App = cluster.App(in)
	p.Container = in.String("container")
	digest := in.Digest("image")
	if digest.DigestStr() != "" {
		p.Image = digest.String()
	}
	p.Digest = digest
	p.Gate = gate.Parse(a, in, digest)
	p.parseChart(in, digest)
	p.Strategy = in.Enum("strategy")
	if p.Strategy == rollout.Canary {
		p.Steps = in.Steps("steps")
		switch {
		case len(p.Steps) == 0 && in.String("steps") == "":
			in.Fail("steps", "is empty: a canary needs its traffic steps in percent, ending at 100 (10,25,50,100)")
		case len(p.Steps) > 0 && p.Steps[len(p.Steps)-1] != 100:
			in.Fail("steps", "%v must end at 100", p.Steps)
		}
	}
	for _, s := range in.List("step-pause") {
		d, err := action.ParseDuration(s)
		if err != nil {
			in.Fail("step-pause", "%v", err)
		}
		p.StepPause = append(p.StepPause, d)
	}
	for _, s := range in.List("pause-at") {
		w, err := strconv.Atoi(s)
		if err != nil || w < 0 || w > 100 {
			in.Fail("pause-at", "%q is not a weight in %% (0 to 100)", s)
			continue
		}
		p.PauseAt = append(p.PauseAt, w)
	}
	if err := rollout.CheckPauseAt(p.PauseAt, p.Strategy, p.Steps); err != nil && len(p.Steps) > 0 || err != nil && p.Strategy != rollout.Canary {
		in.Fail("pause-at", "%v", err)
	}
	if d, err := action.ParseDuration(in.String("pause-timeout")); err == nil && d <= 0 {
		in.Fail("pause-timeout", "must be above 0")
	}
	p.PauseTimeout = in.Duration("pause-timeout") // reports a value that is not a duration
	if p.TrafficRouter = in.Enum("traffic-router"); p.TrafficRouter == "" {
		p.TrafficRouter = rollout.DefaultRouter(p.Strategy)
	}
	if p.TrafficRouter == "replicas" && p.Strategy == rollout.Canary && p.chartHPA != "" {
		in.Fail("traffic-router", "replicas sets traffic by replica counts, and the chart renders %s, which changes them: use gateway-api or nginx (they weigh requests), strategy blue-green, or turn the chart's autoscaler off for this service", p.chartHPA)
	}
	if p.TrafficRouter == "service" && p.Strategy == rollout.Canary {
		in.Fail("traffic-router", "the service router switches all traffic at once; strategy canary needs replicas, gateway-api or nginx")
	}
	p.HTTPRoute, p.Ingress = in.String("httproute"), in.String("ingress")
	if p.TrafficRouter == "gateway-api" && p.HTTPRoute == "" {
		in.Fail("httproute", "is required with traffic-router gateway-api")
	}
	if p.TrafficRouter == "nginx" && p.Ingress == "" {
		in.Fail("ingress", "is required with traffic-router nginx")
	}
	if raw := in.String("preview-url"); raw != "" {
		t, err := template.New("preview-url").Option("missingkey=error").Parse(raw)
		if err == nil {
			_, err = verify.RenderURL(t, analysis.Vars{Color: "blue"})
		}
		if err != nil {
			in.Fail("preview-url", "%v (want a base URL; {{.Color}} names the idle colour)", err)
		}
		p.PreviewURL, p.previewRaw = t, raw
	}
	p.ProbeRequests = in.Int("probe-requests", 1, 100000)
	p.HealthPaths = in.List("health-paths")
	for _, path := range p.HealthPaths {
		// Checked now, as verify does: a path that is a URL of its own
		// would send the preview's requests elsewhere, and be refused
		// only once the rollout had begun.
		if err := verify.CheckPath(path); err != nil {
			in.Fail("health-paths", "%v", err)
		}
	}
	p.PrometheusURL = in.String("prometheus-url")
	if p.PrometheusURL != "" {
		if err := analysis.CheckURL(p.PrometheusURL); err != nil {
			in.Fail("prometheus-url", "%v", err)
		}
	}
	checks, err := analysis.ParseChecks(in.String("analysis-checks"))
	if err != nil {
		in.Fail("analysis-checks", "%v", err)
	}
	p.AnalysisChecks = checks
	if len(checks) > 0 && p.PrometheusURL == "" {
		in.Fail("prometheus-url", "is required with analysis-checks")
	}
	p.AnalysisInterval = in.Duration("analysis-interval")
	if p.AnalysisInterval <= 0 {
		in.Fail("analysis-interval", "must be above 0")
	}
	p.parseSLO(in, err == nil && len(checks) == 0)
	p.Alerts = alerts.Parse(in, p.PrometheusURL)
	p.Progress = progressgw.Parse(in)
	p.Compare = parseComparison(in, p.PreviewURL != nil, p.PrometheusURL != "", p.MetricsSelector)
	if p.PreviewURL != nil && (len(p.AnalysisChecks) == 0 && err == nil || len(p.Compare.Metrics) > 0) {
		// The probe through preview-url judges each step, or compares the
		// colours: it must reach each colour on its own.
		b, berr := verify.RenderURL(p.PreviewURL, analysis.Vars{Color: "blue"})
		g, gerr := verify.RenderURL(p.PreviewURL, analysis.Vars{Color: "green"})
		if berr == nil && gerr == nil && b.String() == g.String() {
			in.Fail("preview-url", "%s names no colour, and without prometheus-url a probe of it judges each step: it would measure the same Service whichever colour is the candidate; put {{.Color}} where the colour goes (http://fx-platform-service-{{.Color}}.production)", b)
		}
	}
	p.FailureLimit = in.Int("failure-limit", 0, 100)
	p.InconclusiveLimit = in.Int("inconclusive-limit", 0, 100)
	p.MinSamples = in.Int("min-samples", 0, 1<<30)
	p.PostPromotionWindow = in.Duration("post-promotion-window")
	p.ScaleDownDelay = in.Duration("scale-down-delay")
	p.LockTimeout = in.Duration("lock-timeout")
	if in.String("timeout") == "" {
		_, p.Timeout = rollout.Timeouts(p.Strategy, p.Steps, p.StepPause, p.PostPromotionWindow)
	} else {
		p.Timeout = in.Duration("timeout")
		if err := rollout.CheckTimeout(p.Timeout, p.Strategy, p.Steps, p.StepPause, p.PostPromotionWindow); err != nil {
			in.Fail("timeout", "%v", err)
		}
	}
	p.Kube = cluster.Parse(a, in)
	p.GitHub = ghdeploy.Parse(a, in)
	p.Availability = availability.Parse(in, p.GitHub.URL, firstOr(p.HealthPaths, "/api/health"))
	p.Notify = notify.Parse(a, in)
	p.checkMonitored(in)
	gh, err := a.Context()
	p.Owner = kube.Holder(gh.Repository, gh.RunID, "")
	if err := errors.Join(in.Err(), err); err != nil {
		return Inputs{}, err
	}
	return p, nil
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	if err := gate.Check(ctx, a, in.Digest, in.Gate, "promote"); err != nil {
		return err
	}
	cfg, err := config(ctx, in, a)
	if err != nil {
		return err
	}
	dep, err := in.GitHub.Start(ctx, a, github.Request{Production: true,
		Description: fmt.Sprintf("%s %s to %s", in.Strategy, in.Image, in.Service),
		Payload:     map[string]any{"image": in.Image, "service": in.Service, "namespace": in.Namespace, "strategy": in.Strategy}})
	if err != nil {
		return err
	}
	nt := in.Notify.Notifier(a, notify.DeploymentsURL(a, in.GitHub.Environment))
	defer notify.Close(ctx, nt)
	base := pkgnotify.Event{Action: "promote", Service: in.Namespace + "/" + in.Service, Environment: in.GitHub.Environment, Image: in.Image, Weight: -1}
	pg := in.Progress.Pusher(a)
	defer progressgw.Close(ctx, pg)
	cfg.OnEvent = progress(ctx, a, dep, nt, base, pg, in)
	a.Infof("Promoting %s to %s/%s (%s, router %s)", in.Image, in.Namespace, in.Service, in.Strategy, cfg.Router)
	// The probe lives as long as the promotion may: its Lease wait, its
	// timeout, its holds, and the scale-down after it.
	probe, err := in.Availability.Start(ctx, in.LockTimeout+in.Timeout+time.Duration(len(in.PauseAt)+1)*in.PauseTimeout+in.ScaleDownDelay+time.Minute)
	if err != nil {
		return err
	}
	start := base
	start.Kind, start.Weight = pkgnotify.Start, 0
	start.Title = fmt.Sprintf("promote: %s to %s", in.Image, start.Service)
	start.Message = fmt.Sprintf("%s, router %s", in.Strategy, cfg.Router)
	if in.Strategy == rollout.Canary {
		start.Message += fmt.Sprintf(", steps %v", in.Steps)
	}
	nt.Notify(start)
	if probe != nil {
		cfg.Guard = func(since time.Time) error { return probe.Require(in.Availability.Min, since) }
	}
	res, perr := rollout.Promote(ctx, cfg)
	var settleUntil time.Time
	if res != nil {
		if t := lastMove(res); !t.IsZero() {
			settleUntil = t.Add(availability.Settle)
		}
	}
	// The GitHub Deployment gets its final status whatever happens to the
	// step's own report.
	var report changes.Report
	if res != nil && res.Outcome == rollout.Aborted && res.PreviousImage != "" {
		report = notify.Changes(ctx, a, in.GitHub.Client(), res.PreviousImage, in.Image)
	}
	nt.Notify(outcomeEvent(base, res, perr, report))
	// A rerun that changed nothing leaves the last rollout's figures.
	if res != nil && res.Outcome != "" && res.Outcome != rollout.Unchanged {
		final := monitoring.Progress{Namespace: in.Namespace, Service: in.Service, Phase: res.Outcome, Result: res.Outcome,
			LiveColor: res.ActiveColor, Duration: res.Duration}
		if res.Outcome == rollout.Promoted {
			final.Weight = 100
		}
		pg.Update(final)
	}
	var reportErr error
	if res != nil {
		reportErr = errors.Join(a.SetOutputs(
			"result", res.Outcome, "active-color", res.ActiveColor,
			"previous-color", res.PreviousColor, "image", activeImage(res),
			"duration", res.Duration.Round(time.Millisecond).String(),
			"steps-completed", fmt.Sprint(res.StepsCompleted),
		), a.AddSummary(summary(in, res, perr)+changesSection(res, report)))
	}
	if _, err := in.Availability.Finish(ctx, a, probe, settleUntil); err != nil {
		reportErr = errors.Join(reportErr, err)
	}
	finish(ctx, dep, res, perr)
	if perr != nil {
		return errors.Join(fmt.Errorf("promoting %s: %w", in.Image, perr), reportErr)
	}
	if reportErr != nil {
		return reportErr
	}
	if res.Outcome == rollout.Unchanged {
		a.Noticef("unchanged", "%s", res.Reason)
	}
	return nil
}

// probeRate is the rate of the probe analysis' requests (per second).
const probeRate = 50

// interruptGrace is what an interrupted rollout gets to put traffic back
// and record it; the GitHub Deployment's final status gets a quarter of
// action.StopGrace after it, so the step reports before the runner kills
// it.
const interruptGrace = action.StopGrace / 2

// lastMove is when the last phase that moved traffic ended: a step, the
// switch, or an abort's return to the stable colour.
func lastMove(res *rollout.Result) time.Time {
	var t time.Time
	for _, ph := range res.Phases {
		if ph.Weight >= 0 || strings.HasPrefix(ph.Name, "abort") {
			if ph.End.After(t) {
				t = ph.End
			}
		}
	}
	return t
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

func activeImage(res *rollout.Result) string {
	if res.Outcome == rollout.Aborted {
		return res.PreviousImage
	}
	return res.Image
}

// config builds the rollout from the inputs: clients, router, analysis.
func config(ctx context.Context, in Inputs, a *action.Action) (rollout.Config, error) {
	client, err := in.Kube.Clientset()
	if err != nil {
		return rollout.Config{}, err
	}
	dyn, err := dynamic.NewForConfig(in.Kube.REST())
	if err != nil {
		return rollout.Config{}, err
	}
	var chartCfg *rollout.Chart
	if in.Chart != nil {
		ch, err := in.Chart.Load(ctx, a, "deploy-actions/promote")
		if err != nil {
			return rollout.Config{}, err
		}
		h, err := helm.New(in.Kube.Getter(), in.Namespace, helm.WithLogger(a.DebugLog("helm")))
		if err != nil {
			return rollout.Config{}, err
		}
		chartCfg = &rollout.Chart{Helm: h, Chart: ch, Values: in.Chart.Values, Release: in.Release, MaxHistory: in.MaxHistory}
	}
	cfg := rollout.Config{
		Chart: chartCfg,
		Target: rollout.Target{App: in.App, Client: client, Dynamic: dyn, Router: in.TrafficRouter, HTTPRoute: in.HTTPRoute, Ingress: in.Ingress,
			Owner: in.Owner, LockTimeout: in.LockTimeout, Timeout: in.Timeout, InterruptGrace: interruptGrace,
			OnEvent: func(e rollout.Event) { a.Infof("%s", e.Message) }},
		Container: in.Container, Image: in.Image, Strategy: in.Strategy, Steps: in.Steps, Pauses: in.StepPause,
		AnalysisInterval: in.AnalysisInterval, FailureLimit: in.FailureLimit, InconclusiveLimit: in.InconclusiveLimit,
		PostPromotionWindow: in.PostPromotionWindow, ScaleDownDelay: in.ScaleDownDelay,
		PauseAt: in.PauseAt, PauseTimeout: in.PauseTimeout,
	}
	// One client for the checks, the alert gate and the comparison.
	var prom *analysis.Prometheus
	if in.PrometheusURL != "" {
		var err error
		if prom, err = analysis.NewPrometheus(in.PrometheusURL); err != nil {
			return rollout.Config{}, err
		}
	}
	if len(in.AnalysisChecks) > 0 || in.Alerts.Enabled() {
		var err error
		if cfg.Alerts, err = in.Alerts.Check(prom); err != nil {
			return rollout.Config{}, err
		}
		if len(in.AnalysisChecks) > 0 {
			cfg.Analysis = &analysis.Analysis{Provider: prom, Checks: in.AnalysisChecks, MinSamples: float64(in.MinSamples), Alerts: cfg.Alerts}
		}
	}
	if in.PreviewURL != nil {
		cfg.Preview = func(ctx context.Context, colour string) error {
			u, err := verify.RenderURL(in.PreviewURL, analysis.Vars{Namespace: in.Namespace, Deployment: in.DeploymentName(colour), Color: colour, Service: in.Service})
			if err != nil {
				return err
			}
			_, err = verify.Health{Timeout: in.Timeout / 10}.Wait(ctx, u, in.HealthPaths)
			return err
		}
		if cfg.Analysis == nil {
			// No Prometheus: each measurement is a load probe through the
			// colour's own URL, judged on the same SLOs.
			pa, err := verify.NewProbeAnalysis(in.previewRaw, firstOr(in.HealthPaths, "/api/health"), in.ProbeRequests, probeRate, in.MaxErrorRate, in.MaxP95)
			if err != nil {
				return rollout.Config{}, err
			}
			cfg.Analysis = pa
		}
	}
	if len(in.Compare.Metrics) > 0 {
		c, err := in.comparison(prom)
		if err != nil {
			return rollout.Config{}, err
		}
		if cfg.Analysis == nil {
			cfg.Analysis = c
		} else {
			cfg.Analysis = rollout.Analyzers{cfg.Analysis, c}
		}
	}
	return cfg, nil
}

// comparison is the canary-against-baseline analyzer of the compare-*
// inputs: samples from prom when there is one, or, when its live traffic
// is too thin, probes of both colours through preview-url when there is
// one.
func (in Inputs) comparison(prom *analysis.Prometheus) (*verify.Comparison, error) {
	c, err := verify.NewComparison(in.previewRaw, cmp.Or(in.Compare.Path, firstOr(in.HealthPaths, "/api/health")), in.ProbeRequests, probeRate,
		in.Compare.Metrics, in.Compare.Critical, in.Compare.Options)
	if err != nil || prom == nil {
		return c, err
	}
	return c, c.WithPrometheus(verify.PrometheusSamples{Prometheus: prom, RequestsMetric: in.RequestsMetric, LatencyMetric: in.LatencyMetric,
		Selector: in.MetricsSelector, Window: in.AnalysisInterval})
}

// progress logs each rollout event, records traffic moves and aborts on
// the GitHub Deployment as in_progress statuses ("25 % traffic on green"),
// and notifies each measured step, hold and resume.
func progress(ctx context.Context, a *action.Action, dep *ghdeploy.Record, nt *pkgnotify.Notifier, base pkgnotify.Event, pg *monitoring.ProgressPusher, in Inputs) func(rollout.Event) {
	started := time.Now()
	// Events come from the promotion and from its control listener.
	var mu sync.Mutex
	gauge := monitoring.Progress{Namespace: in.Namespace, Service: in.Service, Phase: rollout.PhaseProgressing}
	return func(e rollout.Event) {
		a.Infof("%s", e.Message)
		// Only the gauge is shared: the GitHub status below may take
		// seconds, and must not hold up the listener's answer to a verb.
		mu.Lock()
		if e.Live != "" {
			gauge.LiveColor = e.Live
		}
		gauge.Duration = time.Since(started)
		switch e.Phase {
		case "step":
			gauge.Weight, gauge.Phase = e.Weight, rollout.PhaseProgressing
		case "hold":
			gauge.Phase = monitoring.PhaseHolding
		case "resume":
			gauge.Phase = rollout.PhaseProgressing
		case "abort":
			gauge.Phase, gauge.Weight = rollout.PhaseAborted, 0
		case "promoted":
			gauge.Phase, gauge.Weight = rollout.PhasePromoted, 100
		}
		// Events beside the rollout's course (a Lease taken over from a
		// killed run, alerts, control verbs, waits) push nothing: a rerun
		// that changes nothing would replace the last rollout's result with
		// "progressing" at 0 %, and push nothing after.
		switch e.Phase {
		case "lock", "alerts", "control", "wait", "preempt":
		default:
			pg.Update(gauge)
		}
		mu.Unlock()
		if e.Phase == "step" || e.Phase == "abort" {
			dep.Progress(ctx, e.Message)
		}
		if e.Phase == "alerts" {
			a.Warningf("alerts", "%s", e.Message)
		}
		ev := base
		switch e.Phase {
		case "measured":
			ev.Kind = pkgnotify.Step
		case "hold":
			ev.Kind = pkgnotify.Hold
		case "resume":
			ev.Kind = pkgnotify.Resume
		default:
			return
		}
		ev.Weight, ev.Message, ev.Values = e.Weight, e.Message, notify.Values(e.Results)
		ev.Title = fmt.Sprintf("promote %s: %s at %d %%", base.Service, ev.Kind, e.Weight)
		nt.Notify(ev)
	}
}

// outcomeEvent is the notification of how the promotion ended: success
// with the last KPIs, an abort with its reason, the values that failed
// and the changes, or a failure.
func outcomeEvent(base pkgnotify.Event, res *rollout.Result, perr error, report changes.Report) pkgnotify.Event {
	ev := base
	if res == nil {
		ev.Kind, ev.Title, ev.Reason = pkgnotify.Failure, "promote "+base.Service+": failed", fmt.Sprint(perr)
		return ev
	}
	ev.StableImage, ev.Duration = res.PreviousImage, res.Duration
	var last []analysis.Result
	for _, ph := range res.Phases {
		if n := len(ph.Measurements); n > 0 && (last == nil || res.Outcome != rollout.Aborted || ph.Status == "fail" || ph.Status == "inconclusive") {
			last = ph.Measurements[n-1]
		}
	}
	ev.Values = notify.Values(last)
	switch {
	case res.Outcome == rollout.Aborted:
		ev.Kind, ev.Weight, ev.Reason, ev.Changes = pkgnotify.Abort, 0, res.Reason, notify.ChangeList(report)
		ev.Title = fmt.Sprintf("promote %s: aborted, all traffic back on %s", base.Service, res.ActiveColor)
		ev.Message = report.Summary()
	case perr != nil:
		ev.Kind, ev.Title, ev.Reason = pkgnotify.Failure, "promote "+base.Service+": failed", perr.Error()
	default:
		ev.Kind, ev.Weight = pkgnotify.Success, 100
		ev.Title = fmt.Sprintf("promote %s: %s, live on %s", base.Service, res.Outcome, res.ActiveColor)
		ev.Message = fmt.Sprintf("%s in %s", res.Outcome, res.Duration.Round(time.Second))
	}
	return ev
}

// changesSection is the failure report of an aborted promotion.
func changesSection(res *rollout.Result, report changes.Report) string {
	if res == nil || res.Outcome != rollout.Aborted || res.PreviousImage == "" {
		return ""
	}
	return "\n" + report.Markdown()
}

// finish sets the GitHub Deployment's final status.
func finish(ctx context.Context, dep *ghdeploy.Record, res *rollout.Result, perr error) {
	switch {
	case perr == nil:
		dep.Succeed(ctx, fmt.Sprintf("100 %% traffic on %s (%s)", res.ActiveColor, res.Outcome))
	case res != nil && res.Outcome == rollout.Aborted:
		dep.Fail(ctx, fmt.Sprintf("Aborted: 100 %% traffic back on %s", res.ActiveColor))
	default:
		dep.Fail(ctx, "Promotion failed")
	}
}
