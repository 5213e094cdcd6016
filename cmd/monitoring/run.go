package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// Inputs are monitoring's inputs, parsed and checked.
type Inputs struct {
	Service   monitoring.Service
	OutputDir string
}

// overrides are the inputs that set a field of the service, by the field's
// name in a service file.
var overrides = map[string]string{"namespace": "namespace", "service": "service", "deployment": "deployment",
	"selector": "selector", "metricsPort": "metrics-port", "metricsPath": "metrics-path", "runbookURL": "runbook-url"}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	// failed are the inputs already reported, which the service's check
	// must not report again.
	failed := map[string]bool{}
	s := monitoring.Defaults()
	file := in.String("service-file")
	if file != "" {
		data, err := os.ReadFile(file)
		if err == nil {
			if s, err = monitoring.DecodeService(data); err != nil {
				err = fmt.Errorf("%q: %w", file, err)
			}
		}
		if err != nil {
			in.Fail("service-file", "%v", err)
			failed["service-file"] = true
		}
	}
	for _, o := range []struct {
		input string
		field *string
	}{{"namespace", &s.Namespace}, {"service", &s.Service}, {"deployment", &s.Deployment},
		{"metrics-port", &s.MetricsPort}, {"metrics-path", &s.MetricsPath}, {"runbook-url", &s.RunbookURL}} {
		if v := in.String(o.input); v != "" {
			*o.field = v
		}
	}
	if raw := in.String("selector"); raw != "" {
		kvs, err := action.ParseKeyValues(raw)
		if err != nil {
			in.Fail("selector", "%v", err)
			failed["selector"] = true
		}
		s.Selector = map[string]string{}
		for _, kv := range kvs {
			s.Selector[kv.Key] = kv.Value
		}
	}
	checkService(in, s, file, failed)
	p := Inputs{Service: s, OutputDir: in.String("output-dir")}
	checkDir(in, p.OutputDir)
	return p, in.Err()
}

// checkService reports each bad value of s on the input that gave it: the
// input that sets its field when it is set (or when there is no service
// file), else service-file.
func checkService(in *action.Inputs, s monitoring.Service, file string, failed map[string]bool) {
	err := s.Check()
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var order []string
	problems := map[string][]string{}
	for _, e := range errs {
		input, problem := "service-file", e.Error()
		var fe *monitoring.FieldError
		if errors.As(e, &fe) {
			field, key, _ := strings.Cut(fe.Field, ".")
			o, ok := overrides[field]
			switch {
			case ok && (in.String(o) != "" || file == ""):
				input, problem = o, fe.Problem
				if key != "" {
					problem = key + ": " + problem
				}
				if strings.HasPrefix(problem, "required") {
					problem = "is " + problem
				}
			case ok && strings.HasPrefix(fe.Problem, "required"):
				problem += " (or give the input " + o + ")"
			}
		}
		if failed[input] {
			continue
		}
		if problems[input] == nil {
			order = append(order, input)
		}
		problems[input] = append(problems[input], problem)
	}
	for _, input := range order {
		msg := strings.Join(problems[input], "; ")
		if input == "service-file" && file != "" {
			msg = fmt.Sprintf("%q: %s", file, msg)
		}
		in.Fail(input, "%s", msg)
	}
}

// checkDir refuses an output-dir the files cannot be written in: one that
// is a file or lies under one, or that holds a directory of a file's name.
func checkDir(in *action.Inputs, dir string) {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if !fi.IsDir() {
				in.Fail("output-dir", "%q is a file, not a directory", p)
			}
			break
		}
		if filepath.Dir(p) == p {
			break
		}
	}
	for _, name := range []string{monitoring.FilePrometheusRule, monitoring.FileServiceMonitor, monitoring.FileRules, monitoring.FileDashboard} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			in.Fail("output-dir", "%q is a directory", filepath.Join(dir, name))
		}
	}
}

func run(_ context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	rule, err := monitoring.PrometheusRule(in.Service)
	if err != nil {
		return err
	}
	d, err := monitoring.Dashboard(in.Service)
	if err != nil {
		return err
	}
	paths, err := monitoring.WriteFiles(in.OutputDir, in.Service)
	for _, p := range paths {
		a.Infof("wrote %s", p)
	}
	if err != nil {
		return err
	}
	path := func(name string) string { return filepath.Join(in.OutputDir, name) }
	return errors.Join(a.SetOutputs("prometheus-rule-file", path(monitoring.FilePrometheusRule),
		"service-monitor-file", path(monitoring.FileServiceMonitor), "rules-file", path(monitoring.FileRules),
		"dashboard-file", path(monitoring.FileDashboard)),
		a.AddSummary(summary(in, rule, monitoring.PanelTitles(d))))
}

// summary is the step summary: the files, the alerts with their
// thresholds, and the dashboard's panels.
func summary(in Inputs, rule *monitoringv1.PrometheusRule, panels []string) string {
	s := in.Service
	var b strings.Builder
	fmt.Fprintf(&b, "### monitoring: %s/%s\n\n", s.Namespace, s.Service)
	fmt.Fprintf(&b, "Written to %s: %s, %s, %s and %s.\n\n", report.Code(in.OutputDir), report.Code(monitoring.FilePrometheusRule),
		report.Code(monitoring.FileRules), report.Code(monitoring.FileServiceMonitor), report.Code(monitoring.FileDashboard))
	var rows [][]string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			hold := "at once"
			if r.For != nil {
				hold = string(*r.For)
			}
			rows = append(rows, []string{r.Alert, r.Labels["severity"], threshold(s, r.Alert, r.Labels["severity"]), hold})
		}
	}
	fmt.Fprintf(&b, "**Alerts** (PrometheusRule %s)\n\n%s\n", report.Code(rule.Name), report.Table([]string{"alert", "severity", "fires above", "for"}, rows))
	fmt.Fprintf(&b, "**Dashboard panels**: %s.\n", strings.Join(panels, ", "))
	return b.String()
}

// threshold is what an alert fires above, in words, from the service the
// rule was rendered from.
func threshold(s monitoring.Service, alert, severity string) string {
	critical := severity == monitoring.SeverityCritical
	level := func(l monitoring.Levels) string {
		if critical {
			return percent(l.Critical)
		}
		return percent(l.Warning)
	}
	t := s.Thresholds
	switch alert {
	case monitoring.AlertDeploymentFailure:
		return "unavailable replicas > 0"
	case monitoring.AlertHighErrorRate:
		return fmt.Sprintf("5xx > %s of the requests over %s", level(t.ErrorRatio), s.RateWindow)
	case monitoring.AlertHighLatency:
		d := t.Latency.Warning
		if critical {
			d = t.Latency.Critical
		}
		return fmt.Sprintf("p95 > %s over %s", d, s.RateWindow)
	case monitoring.AlertHighCPU:
		return fmt.Sprintf("CPU > %s of the limit", level(t.CPU))
	case monitoring.AlertHighMemory:
		return fmt.Sprintf("memory > %s of the limit", level(t.Memory))
	}
	return ""
}

// percent is a fraction as people read it: 0.01 is "1 %".
func percent(v float64) string { return fmt.Sprintf("%.4g %%", v*100) }
