package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
)

// writeFile writes text to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadInput: every bad input is refused before a file is written, in
// one error that names the input once.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	notDir := writeFile(t, dir, "not-a-dir", "")
	files := map[string]string{
		"bad-field":    writeFile(t, dir, "bad-field.yaml", "thresholds: {cpu: {warning: 80, critical: 90}}\n"),
		"unknown":      writeFile(t, dir, "unknown.yaml", "threshold: {}\n"),
		"not-yaml":     writeFile(t, dir, "not-yaml.yaml", "{service: [\n"),
		"no-names":     writeFile(t, dir, "no-names.yaml", "namespace: production\n"),
		"good":         writeFile(t, dir, "good.yaml", "service: fx-platform-service\ndeployment: fx-platform\nselector: {app: fx-platform}\n"),
		"objectLabels": writeFile(t, dir, "object-labels.yaml", "objectLabels: {-release: prom}\n"),
	}
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "taken", monitoring.FileDashboard), 0o755); err != nil {
		t.Fatal(err)
	}
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good: map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "selector": "app=fx-platform", "output-dir": out},
		Check: func(t *testing.T, r *actiontest.Runner) {
			if errs := r.Annotations("error"); len(errs) == 1 && strings.Count(errs[0], `input "`) != 1 {
				t.Errorf("error %q names an input more than once", errs[0])
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was made: %v", out, err)
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "taken")); len(entries) != 1 {
				t.Errorf("files written in taken/: %v", entries)
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "namespace not a DNS label", Set: map[string]string{"namespace": "Production"}, Input: "namespace"},
		{Name: "service with a dot", Set: map[string]string{"service": "fx.platform"}, Input: "service"},
		{Name: "service missing", Set: map[string]string{"service": ""}, Input: "service"},
		{Name: "deployment too long for its alerts' name", Set: map[string]string{"deployment": strings.Repeat("a", 240)}, Input: "deployment"},
		{Name: "deployment missing", Set: map[string]string{"deployment": ""}, Input: "deployment"},
		{Name: "selector missing", Set: map[string]string{"selector": ""}, Input: "selector"},
		{Name: "selector not KEY=VALUE", Set: map[string]string{"selector": "app"}, Input: "selector"},
		{Name: "selector value with a space", Set: map[string]string{"selector": "app=fx platform"}, Input: "selector"},
		{Name: "selector key with a space", Set: map[string]string{"selector": "app name=fx"}, Input: "selector"},
		{Name: "metrics-port a number", Set: map[string]string{"metrics-port": "8080"}, Input: "metrics-port"},
		{Name: "metrics-path relative", Set: map[string]string{"metrics-path": "metrics"}, Input: "metrics-path"},
		{Name: "runbook-url not a URL", Set: map[string]string{"runbook-url": "README.md"}, Input: "runbook-url"},
		{Name: "runbook-url with a fragment", Set: map[string]string{"runbook-url": "https://example.com/runbooks#top"}, Input: "runbook-url"},
		{Name: "service-file missing", Set: map[string]string{"service-file": filepath.Join(dir, "none.yaml")}, Input: "service-file"},
		{Name: "service-file not YAML", Set: map[string]string{"service-file": files["not-yaml"]}, Input: "service-file"},
		{Name: "service-file with an unknown field", Set: map[string]string{"service-file": files["unknown"]}, Input: "service-file"},
		{Name: "service-file threshold in percent", Set: map[string]string{"service-file": files["bad-field"]}, Input: "service-file"},
		{Name: "service-file object label", Set: map[string]string{"service-file": files["objectLabels"]}, Input: "service-file"},
		{Name: "service-file without a deployment, nor the input", Set: map[string]string{"service-file": files["no-names"], "deployment": ""}, Input: "service-file"},
		{Name: "bad input over a good service-file", Set: map[string]string{"service-file": files["good"], "namespace": "-prod"}, Input: "namespace"},
		{Name: "output-dir a file", Set: map[string]string{"output-dir": notDir}, Input: "output-dir"},
		{Name: "output-dir under a file", Set: map[string]string{"output-dir": filepath.Join(notDir, "monitoring")}, Input: "output-dir"},
		{Name: "output-dir holds a directory of a file's name", Set: map[string]string{"output-dir": filepath.Join(dir, "taken")}, Input: "output-dir"},
	})
}

// The error on a service-file names the file and the field at fault, and
// what the inputs could give.
func TestServiceFileErrorNamesTheField(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"threshold", "service: s\ndeployment: d\nselector: {app: a}\nthresholds: {memory: {warning: 0.95, critical: 0.9}}\n",
			[]string{`input "service-file": "`, `thresholds.memory.warning: 0.95 is not below critical 0.9`}},
		{"business metric", "service: s\ndeployment: d\nselector: {app: a}\nbusinessMetrics: [{name: Trades}]\n",
			[]string{`businessMetrics[0].query: required`}},
		{"a name left out", "service: s\nselector: {app: a}\n", []string{`deployment: required (or give the input deployment)`}},
		{"unknown field", "service: s\nthreshold: {}\n", []string{`unknown field "threshold"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, dir, "service.yaml", tc.text)
			r := actiontest.New(t, map[string]string{"service-file": f, "output-dir": filepath.Join(dir, "out")})
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			errs := r.Annotations("error")
			for _, want := range tc.want {
				if len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], f) {
					t.Errorf("errors %q, want one naming %s and %q", errs, f, want)
				}
			}
		})
	}
}

// TestWritesFiles runs the action into a temporary directory, from inputs
// alone and from a service file some inputs override, and reads the four
// files back: they are what the service asked renders, and the objects
// carry its names.
func TestWritesFiles(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "service.yaml", `namespace: staging
service: fx-platform-service
deployment: fx-platform
selector: {app: fx-platform, tier: web}
objectLabels: {release: prometheus}
thresholds:
  cpu: {warning: 0.7, critical: 0.85}
businessMetrics:
  - name: Trades executed
    query: sum(rate(trades_executed_total[5m])) * 60
`)
	tests := []struct {
		name   string
		inputs map[string]string
		want   string // the same service as a file
	}{
		{name: "inputs alone",
			inputs: map[string]string{"namespace": "production", "service": "fx-platform-service", "deployment": "fx-platform", "selector": "app=fx-platform",
				"metrics-port": "metrics", "metrics-path": "/prometheus", "runbook-url": "https://wiki.example.com/fx"},
			want: "namespace: production\nservice: fx-platform-service\ndeployment: fx-platform\nselector: {app: fx-platform}\n" +
				"metricsPort: metrics\nmetricsPath: /prometheus\nrunbookURL: https://wiki.example.com/fx\n"},
		{name: "a file, overridden",
			inputs: map[string]string{"service-file": file, "namespace": "production", "selector": "app=fx"},
			want: `namespace: production
service: fx-platform-service
deployment: fx-platform
selector: {app: fx}
objectLabels: {release: prometheus}
thresholds:
  cpu: {warning: 0.7, critical: 0.85}
businessMetrics:
  - name: Trades executed
    query: sum(rate(trades_executed_total[5m])) * 60
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := monitoring.ParseService([]byte(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "monitoring")
			tc.inputs["output-dir"] = out
			r := actiontest.New(t, tc.inputs)
			if code := r.Run(context.Background(), spec, run); code != 0 {
				t.Fatalf("exit %d: %s", code, r.Log.String())
			}
			outputs := r.Outputs()
			wantFiles, err := monitoring.Files(want)
			if err != nil {
				t.Fatal(err)
			}
			for output, name := range map[string]string{"prometheus-rule-file": monitoring.FilePrometheusRule, "service-monitor-file": monitoring.FileServiceMonitor,
				"rules-file": monitoring.FileRules, "dashboard-file": monitoring.FileDashboard} {
				if p := filepath.Join(out, name); outputs[output] != p {
					t.Errorf("output %s = %q, want %q", output, outputs[output], p)
				}
				got, err := os.ReadFile(outputs[output])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, wantFiles[name]) {
					t.Errorf("%s is not what the service renders:\n%s", name, got)
				}
			}

			var rule monitoringv1.PrometheusRule
			readYAML(t, outputs["prometheus-rule-file"], &rule)
			if rule.Namespace != want.Namespace || rule.Name != want.Deployment+"-deployment-alerts" || len(rule.Spec.Groups) != 1 {
				t.Fatalf("PrometheusRule %s/%s with %d groups", rule.Namespace, rule.Name, len(rule.Spec.Groups))
			}
			for _, a := range rule.Spec.Groups[0].Rules {
				if a.Labels["namespace"] != want.Namespace || a.Labels["service"] != want.Service ||
					!strings.HasPrefix(a.Annotations["runbook_url"], want.RunbookURL+"#") {
					t.Errorf("alert %s: labels %v, runbook %s", a.Alert, a.Labels, a.Annotations["runbook_url"])
				}
			}
			var rules struct {
				Groups []monitoringv1.RuleGroup `json:"groups"`
			}
			readYAML(t, outputs["rules-file"], &rules)
			if len(rules.Groups) != 1 || len(rules.Groups[0].Rules) != len(rule.Spec.Groups[0].Rules) {
				t.Errorf("rules.yml holds %+v, want the PrometheusRule's group", rules.Groups)
			}
			var sm monitoringv1.ServiceMonitor
			readYAML(t, outputs["service-monitor-file"], &sm)
			if ep := sm.Spec.Endpoints; sm.Namespace != want.Namespace || len(sm.Spec.Selector.MatchLabels) != len(want.Selector) ||
				len(ep) != 1 || ep[0].Port != want.MetricsPort || ep[0].Path != want.MetricsPath {
				t.Errorf("ServiceMonitor %s/%s selects %v, endpoints %+v", sm.Namespace, sm.Name, sm.Spec.Selector.MatchLabels, ep)
			}
			var dash struct {
				Title string `json:"title"`
			}
			readYAML(t, outputs["dashboard-file"], &dash)
			if dash.Title != want.Service+" ("+want.Namespace+")" {
				t.Errorf("dashboard title %q", dash.Title)
			}

			sum := r.Summary()
			for _, a := range rule.Spec.Groups[0].Rules {
				row := "| " + a.Alert + " | " + a.Labels["severity"] + " | "
				if !strings.Contains(sum, row) || threshold(want, a.Alert, a.Labels["severity"]) == "" {
					t.Errorf("summary has no threshold for %s %s:\n%s", a.Alert, a.Labels["severity"], sum)
				}
			}
			d, err := monitoring.Dashboard(want)
			if err != nil {
				t.Fatal(err)
			}
			if panels := strings.Join(monitoring.PanelTitles(d), ", "); !strings.Contains(sum, panels) {
				t.Errorf("summary lacks the panels %s:\n%s", panels, sum)
			}
		})
	}
}

// The summary reads the thresholds as people write them.
func TestSummary(t *testing.T) {
	s := monitoring.Defaults()
	s.Namespace, s.Service, s.Deployment, s.Selector = "production", "fx-platform-service", "fx-platform", map[string]string{"app": "fx-platform"}
	rule, err := monitoring.PrometheusRule(s)
	if err != nil {
		t.Fatal(err)
	}
	sum := summary(Inputs{Service: s, OutputDir: "monitoring"}, rule, []string{"Live colour", "Error rate"})
	for _, want := range []string{
		"### monitoring: production/fx-platform-service",
		"| DeploymentFailure | critical | unavailable replicas > 0 | 2m |",
		"| HighErrorRate | warning | 5xx > 1 % of the requests over 5m | 1m |",
		"| HighLatency | critical | p95 > 2s over 5m | 3m |",
		"| HighCPU | warning | CPU > 80 % of the limit | 5m |",
		"| HighMemory | critical | memory > 90 % of the limit | 5m |",
		"**Dashboard panels**: Live colour, Error rate.",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
}
