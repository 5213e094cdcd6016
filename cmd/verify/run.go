package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/cmd/internal/alerts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// Inputs are verify's inputs, parsed and checked.
type Inputs struct {
	URL              *url.URL
	HealthPaths      []string
	HealthTimeout    time.Duration
	LoadPath         string
	LoadRequests     int
	LoadConcurrency  int
	LoadRate         int
	MaxP95Latency    time.Duration
	MaxErrorRate     float64
	MinThroughput    float64 // per second
	PrometheusURL    string
	PrometheusChecks []analysis.Check
	Service          string
	// Alerts is the firing-alerts gate (off without prometheus-url).
	Alerts     alerts.Group
	MinSamples int
	Kube       *kube.Config // nil without a deployment
	Namespace  string
	Deployment string
	ReportFile string
	// Record is the signed verification record asked for with attest; nil
	// without.
	Record *Record
}

// probeTimeout bounds each load-probe request.
const probeTimeout = 10 * time.Second

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var v Inputs
	if s := in.String("url"); s != "" {
		u, err := verify.ParseBaseURL(s)
		if err != nil {
			in.Fail("url", "%v", err)
		}
		v.URL = u
	}
	v.HealthPaths = in.Lines("health-paths")
	for _, p := range v.HealthPaths {
		if err := verify.CheckPath(p); err != nil {
			in.Fail("health-paths", "%v", err)
		}
	}
	v.HealthTimeout = in.Duration("health-timeout")
	v.LoadPath = in.String("load-path")
	if v.LoadPath == "" && len(v.HealthPaths) > 0 {
		v.LoadPath = v.HealthPaths[0]
	}
	if v.LoadPath != "" {
		if err := verify.CheckPath(v.LoadPath); err != nil {
			in.Fail("load-path", "%v", err)
		}
	}
	v.LoadRequests = in.Int("load-requests", 0, 10_000_000)
	v.LoadConcurrency = in.Int("load-concurrency", 1, 10_000)
	v.LoadRate = in.Int("load-rate", 0, 1_000_000)
	if v.LoadRequests > 0 && v.LoadPath == "" {
		in.Fail("load-path", "is required when health-paths is empty and load-requests is above 0")
	}
	v.MaxP95Latency = in.Duration("max-p95-latency")
	v.MaxErrorRate = in.Percent("max-error-rate")
	v.MinThroughput = parseThroughput(in, "min-throughput")

	v.PrometheusURL = in.String("prometheus-url")
	checks, err := analysis.ParseChecks(in.String("prometheus-checks"))
	if err != nil {
		in.Fail("prometheus-checks", "%v", err)
	}
	v.PrometheusChecks = checks
	v.Service = cluster.Name(in, "service", cluster.ServiceName, "")
	v.Alerts = alerts.Parse(in, v.PrometheusURL)
	// verify judges a Deployment, not a promotion's candidate: it knows no
	// colour, so {{.Color}} would be empty and every colour "the other".
	if analysis.AlertScope(in.Enum("alert-scope")) == analysis.ScopeCandidate {
		in.Fail("alert-scope", "candidate is promote's: verify judges no candidate colour, so it would spare every coloured alert; want app")
	}
	if m := in.String("alert-matchers"); strings.Contains(m, ".Color") && analysis.CheckAlertMatchers(m) == nil {
		in.Fail("alert-matchers", "use {{.Color}}, which verify leaves empty (it judges no colour): want matchers over {{.Namespace}}, {{.Service}} or {{.Deployment}}")
	}
	if v.Alerts.Enabled() && v.Service == "" {
		if in.String("alert-matchers") != analysis.DefaultAlertMatchers && strings.Contains(v.Alerts.Matchers, ".Service") {
			in.Fail("service", "is required by alert-matchers, which use {{.Service}}; set service, or alert-matchers without it")
		}
		if in.String("alert-matchers") == analysis.DefaultAlertMatchers {
			v.Alerts.Matchers = `namespace="{{.Namespace}}"`
		}
	}
	switch {
	case v.PrometheusURL != "" && len(checks) == 0 && err == nil && !v.Alerts.Enabled():
		in.Fail("prometheus-checks", "is required when prometheus-url is given and alert-gate is false")
	case v.PrometheusURL == "" && len(checks) > 0:
		in.Fail("prometheus-url", "is required when prometheus-checks are given")
	case v.PrometheusURL != "":
		if err := analysis.CheckURL(v.PrometheusURL); err != nil {
			in.Fail("prometheus-url", "%v", err)
		}
	}
	v.MinSamples = in.Int("min-samples", 0, math.MaxInt32)

	v.Namespace = cluster.Name(in, "namespace", cluster.NamespaceName, "")
	v.Deployment = cluster.Name(in, "deployment", cluster.DeploymentName, "")
	switch {
	case v.Deployment != "":
		if v.Kube = cluster.Parse(a, in); v.Kube != nil && v.Namespace == "" {
			v.Namespace = v.Kube.Namespace()
		}
	case in.String("kubeconfig") != "" || in.String("context") != "":
		// Only a deployment is read from the cluster, but a kubeconfig or
		// context given without one is still checked: a wrong one is a bad
		// input, not one to pass over silently.
		cluster.Parse(a, in)
	}
	if v.Alerts.Enabled() && v.Namespace == "" && strings.Contains(v.Alerts.Matchers, ".Namespace") {
		// namespace="" would select the alerts that have no namespace
		// label (the cluster's own), never the app's.
		in.Fail("namespace", "is required by the alert gate, whose alert-matchers use {{.Namespace}}: set namespace (or deployment, whose kubeconfig context names one), or alert-gate: false")
	}
	if v.URL == nil && len(checks) == 0 && v.Deployment == "" {
		in.Fail("url", "is required unless prometheus-checks or deployment is given")
	}

	v.ReportFile = in.String("report-file")
	if v.ReportFile == "" && a.Getenv("RUNNER_TEMP") != "" {
		v.ReportFile = filepath.Join(a.Getenv("RUNNER_TEMP"), "verify-report.json")
	}
	if v.ReportFile != "" {
		if st, err := os.Stat(filepath.Dir(v.ReportFile)); err != nil || !st.IsDir() {
			in.Fail("report-file", "directory %q does not exist", filepath.Dir(v.ReportFile))
		}
	}
	v.Record = parseRecord(a, in)
	return v, in.Err()
}

// parseThroughput reads "1000/min", "20/s" or a plain number of requests
// per minute, and returns requests per second.
func parseThroughput(in *action.Inputs, name string) float64 {
	s := in.String(name)
	if s == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		return f / 60
	}
	perSecond, err := analysis.ParseRate(s)
	if err != nil {
		in.Fail(name, "%v", err)
	}
	return perSecond
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	cfg, err := in.config(a)
	if err != nil {
		return err
	}
	// A key is loaded before anything is sent, so that a wrong password is
	// a bad input and not a lost record after the probe. A keyless
	// certificate lives minutes: it is asked for when the record is signed.
	var signer sign.Signer
	if in.Record != nil && !in.Record.Signing.Keyless {
		if signer, err = in.Record.Signing.Signer(ctx, a); err != nil {
			return err
		}
	}
	a.Group("verify")
	rep, err := verify.Run(ctx, cfg)
	a.EndGroup()
	if err != nil {
		return err
	}
	if err := writeOutputs(a, in, rep); err != nil {
		return err
	}
	if in.Record != nil {
		// Recorded passed or failed: a failed record is what lets a gate
		// refuse the digest.
		if err := record(ctx, a, in.Record, signer, rep); err != nil {
			return err
		}
	}
	if rep.Passed {
		a.Infof("verify passed")
	}
	return rep.Err()
}

// record signs the verification record of rep and attaches it to the
// image, and says where in the outputs and the summary. When it fails
// after a failed verify, the error tells both.
func record(ctx context.Context, a *action.Action, r *Record, signer sign.Signer, rep *verify.Report) error {
	if d := rep.Deployment; d != nil && !d.RunsDigest(r.Image.DigestStr()) {
		// The record would say this digest was verified, while the pods
		// checked run something else (a tag that moved, another release),
		// or nothing at all.
		runs := "has no pod"
		if len(d.Images) > 0 {
			runs = "runs " + strings.Join(d.Images, ", ")
		}
		err := fmt.Errorf("not recorded: deployment %s/%s %s; each pod of its rollout must run %s, or this verify did not check the image to record", d.Namespace, d.Name, runs, r.Image.DigestStr())
		if !rep.Passed {
			return fmt.Errorf("%w; and %w", rep.Err(), err)
		}
		return err
	}
	res, err := r.sign(ctx, a, signer, rep)
	if err != nil {
		if !rep.Passed {
			return fmt.Errorf("%w; and %w", rep.Err(), err)
		}
		return err
	}
	verdict := sign.VerdictFailed
	if rep.Passed {
		verdict = sign.VerdictPassed
	}
	a.Infof("Recorded the %s verification (%s) of %s: %s", r.Environment, verdict, r.Image, res.AttestationRef)
	if err := a.SetOutputs("attestation-ref", res.AttestationRef, "predicate-type", sign.PredicateVerification); err != nil {
		return err
	}
	rows := [][]string{{"image", report.Code(r.Image.String())}, {"environment", r.Environment}, {"verdict", verdict},
		{"predicate", report.Code(sign.PredicateVerification)}, {"attestations", report.Code(res.AttestationRef)}, {"signed with", r.Signing.Mode()}}
	for _, idx := range res.LogIndexes {
		rows = append(rows, []string{"Rekor entry", fmt.Sprint(idx)})
	}
	return a.AddSummary("### Verification record\n\n" + report.Table([]string{"", ""}, rows))
}

// config turns the inputs into verify's configuration. It makes clients but
// sends nothing.
func (in Inputs) config(a *action.Action) (verify.Config, error) {
	cfg := verify.Config{
		URL:               in.URL,
		HealthPaths:       in.HealthPaths,
		Health:            verify.Health{Timeout: in.HealthTimeout},
		SLO:               verify.SLO{MaxP95: in.MaxP95Latency, MaxErrorRate: in.MaxErrorRate, MinThroughput: in.MinThroughput},
		Levels:            verify.StrategyLevels,
		Vars:              analysis.Vars{Namespace: in.Namespace, Deployment: in.Deployment, Service: in.Service, Pods: regexp.QuoteMeta(in.Deployment) + "-[a-z0-9]+-[a-z0-9]+"},
		Namespace:         in.Namespace,
		Deployment:        in.Deployment,
		DeploymentTimeout: in.HealthTimeout,
		Logger:            a,
	}
	if in.URL != nil && in.LoadRequests > 0 {
		target, err := verify.JoinURL(in.URL, in.LoadPath)
		if err != nil {
			return cfg, &action.InputError{Input: "load-path", Err: err}
		}
		cfg.Load = &verify.Load{URL: target, Requests: in.LoadRequests, Concurrency: in.LoadConcurrency,
			Rate: in.LoadRate, RequestTimeout: probeTimeout}
		cfg.Load.Deadline = cfg.Load.DefaultDeadline()
	}
	if len(in.PrometheusChecks) > 0 || in.Alerts.Enabled() {
		p, err := analysis.NewPrometheus(in.PrometheusURL)
		if err != nil {
			return cfg, &action.InputError{Input: "prometheus-url", Err: err}
		}
		for _, c := range in.PrometheusChecks {
			if c.Samples == "" && in.MinSamples > 0 {
				a.Warningf("check without samples", "check %q has no samples query, so min-samples cannot apply to it", c.Name)
			}
		}
		check, err := in.Alerts.Check(p)
		if err != nil {
			return cfg, &action.InputError{Input: "alert-matchers", Err: err}
		}
		cfg.Analysis = &analysis.Analysis{Provider: p, Checks: in.PrometheusChecks, MinSamples: float64(in.MinSamples), Alerts: check}
	}
	if in.Kube != nil {
		client, err := in.Kube.Clientset()
		if err != nil {
			return cfg, &action.InputError{Input: "kubeconfig", Err: err}
		}
		cfg.Kube = kubernetes.Interface(client)
	}
	return cfg, nil
}

func writeOutputs(a *action.Action, in Inputs, rep *verify.Report) error {
	outs := []string{"passed", strconv.FormatBool(rep.Passed)}
	if l := rep.Load; l != nil {
		outs = append(outs, "p50", ms(l.P50), "p95", ms(l.P95), "p99", ms(l.P99),
			"error-rate", num(l.ErrorRate*100), "throughput", num(l.Throughput*60))
	}
	if in.ReportFile != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
		if err := os.WriteFile(in.ReportFile, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		outs = append(outs, "report-file", in.ReportFile)
	}
	if err := a.SetOutputs(outs...); err != nil {
		return err
	}
	return a.AddSummary(rep.Markdown())
}

func ms(d time.Duration) string { return num(float64(d) / float64(time.Millisecond)) }

// num writes a figure with at most three decimals and no trailing zeros.
func num(f float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64), ".0")
}
