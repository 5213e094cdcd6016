package monitoring_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
)

var update = flag.Bool("update", false, "rewrite the reference chart's files/dashboard.json instead of comparing it")

// The reference chart, whose monitoring templates write what the
// generator writes; helm templates cannot call it, so these tests render
// both and compare.
const (
	referenceChart = "../../testdata/charts/fx-platform"
	dashboardFile  = "files/dashboard.json"
)

func loadReferenceChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(referenceChart)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// chartDashboard is the dashboard the chart carries: the generator's, for
// a service of placeholder values, each turned into an @name@ the
// dashboard template fills in (the numbers in quotes, so the file stays
// JSON). No value of a service holds an @, so filling one in never makes
// another placeholder.
func chartDashboard(t *testing.T) []byte {
	t.Helper()
	s := monitoring.Defaults()
	s.Namespace, s.Service, s.Deployment = "chart-namespace", "chart-service", "chart-deployment"
	s.Selector = map[string]string{"app": "chart"}
	s.RequestsMetric, s.CodeLabel, s.LatencyMetric = "chart_requests_metric", "chart_code_label", "chart_latency_metric"
	s.Thresholds = monitoring.Thresholds{
		Latency:    monitoring.DurationLevels{Warning: model.Duration(1111 * time.Millisecond), Critical: model.Duration(2222 * time.Millisecond)},
		ErrorRatio: monitoring.Levels{Warning: 0.0111, Critical: 0.0555},
		CPU:        monitoring.Levels{Warning: 0.8111, Critical: 0.9111},
		Memory:     monitoring.Levels{Warning: 0.8222, Critical: 0.9222},
	}
	data, err := monitoring.DashboardJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{
		{`"uid": "chart-namespace-chart-deployment"`, `"uid": "@uid@"`},                              // before the names it is made of
		{"chart-deployment-(blue|green)-[4-9bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}", "@pods@"}, // a long name's differs
		{"chart-namespace", "@namespace@"},
		{"chart-service", "@service@"},
		{"chart_requests_metric", "@requestsMetric@"},
		{"chart_code_label", "@codeLabel@"},
		{"chart_latency_metric", "@latencyMetric@"},
		{`"value": 1.111`, `"value": "@latency.warning@"`},
		{`"value": 2.222`, `"value": "@latency.critical@"`},
		{`"value": 0.0111`, `"value": "@errorRatio.warning@"`},
		{`"value": 0.0555`, `"value": "@errorRatio.critical@"`},
		{`"value": 0.8111`, `"value": "@cpu.warning@"`},
		{`"value": 0.9111`, `"value": "@cpu.critical@"`},
		{`"value": 0.8222`, `"value": "@memory.warning@"`},
		{`"value": 0.9222`, `"value": "@memory.critical@"`},
	} {
		if !bytes.Contains(data, []byte(r[0])) {
			t.Fatalf("the dashboard has no %s: the placeholders no longer fit the generator", r[0])
		}
		data = bytes.ReplaceAll(data, []byte(r[0]), []byte(r[1]))
	}
	for _, left := range []string{"chart-", "chart_", "1111", "2222", "0111", "0555", "8111", "9111", "8222", "9222"} {
		if bytes.Contains(data, []byte(left)) {
			t.Fatalf("the dashboard still has %q after its placeholders were put in", left)
		}
	}
	return data
}

// The chart's dashboard is the generator's: go test -run
// TestChartDashboardFile -update rewrites it after a change to the
// dashboard.
func TestChartDashboardFile(t *testing.T) {
	want := chartDashboard(t)
	path := filepath.Join(referenceChart, dashboardFile)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with: go test ./pkg/monitoring -run TestChartDashboardFile -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with pkg/monitoring's dashboard; rewrite it with: go test ./pkg/monitoring -run TestChartDashboardFile -update\n%s",
			path, diff(string(got), string(want)))
	}
	if !json.Valid(got) {
		t.Errorf("%s is not JSON", path)
	}
}

// renderShared renders the chart's shared part as promote does, with
// monitoring on and vals over the chart's values.
func renderShared(t *testing.T, release, namespace string, vals map[string]any, set ...string) (*helm.Rendered, error) {
	t.Helper()
	merged, err := helm.Values{Set: append([]string{"rollout.part=shared", "monitoring.enabled=true"}, set...)}.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return helm.Render(loadReferenceChart(t), release, namespace, mergeValues(vals, merged))
}

// mergeValues lays over onto base, map by map.
func mergeValues(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if a, ok := out[k].(map[string]any); ok {
			if b, ok := v.(map[string]any); ok {
				out[k] = mergeValues(a, b)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// The chart's PrometheusRule, ServiceMonitor and dashboard are the
// generator's for the same service, whatever the values: the rule and the
// monitor decoded strictly into prometheus-operator's types and equal, the
// dashboard's JSON byte for byte.
func TestChartRendersTheGenerators(t *testing.T) {
	ms := func(d time.Duration) model.Duration { return model.Duration(d) }
	for _, tc := range []struct {
		name      string
		release   string
		namespace string
		vals      map[string]any // as a values file gives them
		set       []string       // as --set gives them: numbers as strings
		want      func(*monitoring.Service)
	}{
		{
			name: "the chart's defaults", release: "fx-platform", namespace: "production",
			set: []string{"service.name=fx-platform-service"},
			want: func(s *monitoring.Service) {
				s.Service = "fx-platform-service"
			},
		},
		{
			name: "every value changed", release: "fx.platform", namespace: "trading",
			vals: map[string]any{
				"metrics": map[string]any{"path": "/internal/metrics"},
				"monitoring": map[string]any{
					"objectLabels":   map[string]any{"release": "kube-prometheus-stack", "team": "fx"},
					"scrapeInterval": "15s", "rateWindow": "2m",
					"requestsMetric": "app:requests:total", "codeLabel": "status", "latencyMetric": "app_latency_seconds",
					"thresholds": map[string]any{
						"latency":    map[string]any{"warning": "750ms", "critical": "2500ms"},
						"errorRatio": map[string]any{"warning": 0.02},
						"cpu":        map[string]any{"critical": 1},
					},
					"for":        map[string]any{"deploymentFailure": "0", "cpu": "90s", "memory": "1h"},
					"runbookURL": "https://runbooks.example.com/fx's",
				},
			},
			set: []string{"service.name=fx-quotes", "monitoring.thresholds.memory.warning=0.75", "monitoring.for.errorRate=30s"},
			want: func(s *monitoring.Service) {
				s.Service = "fx-quotes"
				s.ObjectLabels = map[string]string{"release": "kube-prometheus-stack", "team": "fx"}
				s.MetricsPath = "/internal/metrics"
				s.ScrapeInterval, s.RateWindow = ms(15*time.Second), ms(2*time.Minute)
				s.RequestsMetric, s.CodeLabel, s.LatencyMetric = "app:requests:total", "status", "app_latency_seconds"
				s.Thresholds.Latency = monitoring.DurationLevels{Warning: ms(750 * time.Millisecond), Critical: ms(2500 * time.Millisecond)}
				s.Thresholds.ErrorRatio.Warning = 0.02
				s.Thresholds.CPU.Critical = 1
				s.Thresholds.Memory.Warning = 0.75
				s.For.DeploymentFailure, s.For.CPU, s.For.Memory, s.For.ErrorRate = 0, ms(90*time.Second), ms(time.Hour), ms(30*time.Second)
				s.RunbookURL = "https://runbooks.example.com/fx's"
			},
		},
		{
			// Over 40 characters, the pods' names are cut inside their
			// ReplicaSet's hash, and the queries match what is left.
			name: "a long release name", release: "fx-platform-trading-gateway-europe-west-2a", namespace: "production",
			set:  []string{"service.name=fx-platform-service"},
			want: func(s *monitoring.Service) { s.Service = "fx-platform-service" },
		},
		{
			// Over 40 characters, the dashboard's uid is a hash.
			name: "a long uid", release: "fx-platform", namespace: "fx-platform-production-europe",
			// 0.10075 is 10.075 %, a tie the descriptions round alike
			// (the chart's mulf multiplies in decimal).
			set: []string{"service.name=fx-platform-service", "monitoring.thresholds.latency.warning=1s500ms", "monitoring.thresholds.cpu.warning=0.10075"},
			want: func(s *monitoring.Service) {
				s.Service = "fx-platform-service"
				s.Thresholds.Latency.Warning = ms(1500 * time.Millisecond)
				s.Thresholds.CPU.Warning = 0.10075
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := renderShared(t, tc.release, tc.namespace, tc.vals, tc.set...)
			if err != nil {
				t.Fatal(err)
			}
			s := monitoring.Defaults()
			s.Namespace, s.Deployment = tc.namespace, tc.release
			s.Selector = map[string]string{"app": "fx-platform", "app.kubernetes.io/instance": tc.release}
			tc.want(&s)

			wantRule, err := monitoring.PrometheusRule(s)
			if err != nil {
				t.Fatal(err)
			}
			var rule monitoringv1.PrometheusRule
			decodeRendered(t, r, "PrometheusRule", wantRule.Name, &rule)
			same(t, &rule, wantRule)

			wantMonitor, err := monitoring.ServiceMonitor(s)
			if err != nil {
				t.Fatal(err)
			}
			var monitor monitoringv1.ServiceMonitor
			decodeRendered(t, r, "ServiceMonitor", wantMonitor.Name, &monitor)
			same(t, &monitor, wantMonitor)

			wantDashboard, err := monitoring.DashboardJSON(s)
			if err != nil {
				t.Fatal(err)
			}
			cm := r.Find("ConfigMap", s.Service+"-dashboard")
			if cm == nil {
				t.Fatalf("no ConfigMap %s-dashboard; rendered %v", s.Service, kinds(r))
			}
			if l := cm.GetLabels(); l["grafana_dashboard"] != "1" {
				t.Errorf("the dashboard's ConfigMap has labels %v, want grafana_dashboard: \"1\" for Grafana's sidecar", l)
			}
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			key := s.Namespace + "-" + s.Service + ".json"
			if got := data[key]; got != string(wantDashboard) {
				t.Errorf("the ConfigMap's %s differs from monitoring.DashboardJSON (keys %v):\n%s", key, keys(data), diff(got, string(wantDashboard)))
			}
		})
	}
}

// decodeRendered decodes the rendered object of kind and name into out,
// refusing a field out's type does not have.
func decodeRendered(t *testing.T, r *helm.Rendered, kind, name string, out any) {
	t.Helper()
	o := r.Find(kind, name)
	if o == nil {
		t.Fatalf("no %s %q; rendered %v", kind, name, kinds(r))
	}
	data, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("decoding %s %q: %v\n%s", kind, name, err, data)
	}
}

// same fails the test, showing the YAML of both, when the chart's object
// is not the generator's.
func same(t *testing.T, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := yaml.Marshal(got)
	w, _ := yaml.Marshal(want)
	t.Errorf("the chart's object (-) differs from the generator's (+):\n%s", diff(string(g), string(w)))
}

func diff(got, want string) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(got), B: difflib.SplitLines(want), FromFile: "got", ToFile: "want", Context: 2})
	return d
}

func kinds(r *helm.Rendered) []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Only the shared release renders the monitoring objects, and only with
// monitoring on: a colour's release never does (promote refuses an object
// two releases render), nor part all, whose one Deployment has no colour
// for the queries to select.
func TestChartRendersMonitoringInTheSharedPartOnly(t *testing.T) {
	for _, tc := range []struct {
		release, part string
		enabled       bool
		want          bool
	}{
		{"fx-platform", "shared", true, true},
		{"fx-platform", "shared", false, false},
		{"fx-platform", "all", true, false},
		{"fx-platform", "all", false, false},
		{"fx-platform-blue", "blue", true, false},
		{"fx-platform-green", "green", true, false},
		{"fx-platform-blue", "blue", false, false},
	} {
		t.Run(fmt.Sprintf("%s enabled %v", tc.part, tc.enabled), func(t *testing.T) {
			vals, err := helm.Values{Set: []string{"service.name=fx-platform-service", "rollout.part=" + tc.part, fmt.Sprintf("monitoring.enabled=%v", tc.enabled)}}.Merge()
			if err != nil {
				t.Fatal(err)
			}
			r, err := helm.Render(loadReferenceChart(t), tc.release, "production", vals)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range r.Objects {
				if o.GetAPIVersion() == "monitoring.coreos.com/v1" || o.GetLabels()["grafana_dashboard"] != "" {
					got = append(got, o.GetKind()+"/"+o.GetName())
				}
			}
			want := []string(nil)
			if tc.want {
				want = []string{"ConfigMap/fx-platform-service-dashboard", "PrometheusRule/fx-platform-deployment-alerts", "ServiceMonitor/fx-platform-service"}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("release %s renders %v, want %v", tc.release, got, want)
			}
		})
	}
}

// The chart's monitoring values default to the strategy's, as
// monitoring.Defaults, under the same names.
func TestChartMonitoringDefaults(t *testing.T) {
	m, ok := loadReferenceChart(t).Values["monitoring"].(map[string]any)
	if !ok {
		t.Fatal("the chart's values have no monitoring block")
	}
	if m["enabled"] != false {
		t.Errorf("monitoring.enabled is %v by default, want false", m["enabled"])
	}
	delete(m, "enabled")
	data, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got monitoring.Service
	if err := yaml.UnmarshalStrict(data, &got); err != nil {
		t.Fatalf("the chart's monitoring values are not monitoring.Service's: %v", err)
	}
	want := monitoring.Defaults()
	// The chart's own: the release's namespace, the Services' port, and
	// metrics.path.
	got.Namespace, got.MetricsPort, got.MetricsPath = want.Namespace, want.MetricsPort, want.MetricsPath
	if len(got.ObjectLabels) == 0 {
		got.ObjectLabels = nil
	}
	same(t, got, want)
	if path := loadReferenceChart(t).Values["metrics"].(map[string]any)["path"]; path != want.MetricsPath {
		t.Errorf("metrics.path is %v, want %s", path, want.MetricsPath)
	}
}

// A Deployment name so long that its pods' names lose the colour is
// refused by the chart and by Check alike: no query could select a colour.
func TestChartRefusesAReleaseNameThatHidesTheColour(t *testing.T) {
	release := strings.Repeat("fx-platform-", 4) + "abcd" // 52 characters
	_, err := renderShared(t, release, "production", nil, "service.name=fx-platform-service")
	if err == nil || !strings.Contains(err.Error(), "longer than 51 characters") {
		t.Errorf("the chart rendered the monitoring of release %q: %v", release, err)
	}
	s := monitoring.Defaults()
	s.Namespace, s.Service, s.Deployment, s.Selector = "production", "fx-platform-service", release, map[string]string{"app": "fx"}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "deployment") {
		t.Errorf("Check took deployment %q: %v", release, err)
	}
	s.Deployment = release[:monitoring.MaxDeploymentName]
	if err := s.Check(); err != nil {
		t.Errorf("Check refused a %d-character deployment: %v", len(s.Deployment), err)
	}
}

// The chart refuses what monitoring.Service's Check refuses, naming the
// value, rather than render alerts that never fire.
func TestChartRefusesBadMonitoringValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string // the monitoring block, over the defaults
		field  string
	}{
		{"not a duration", "for: {cpu: 5 minutes}", "monitoring.for.cpu"},
		{"a percentage", "thresholds: {cpu: {warning: 80}}", "monitoring.thresholds.cpu.warning"},
		{"warning above critical", "thresholds: {errorRatio: {warning: 0.05, critical: 0.01}}", "monitoring.thresholds.errorRatio.warning"},
		{"latency warning above critical", "thresholds: {latency: {warning: 3s}}", "monitoring.thresholds.latency.warning"},
		{"no latency", "thresholds: {latency: {critical: 0s}}", "monitoring.thresholds.latency.critical"},
		{"a metric name with a dash", "requestsMetric: http-requests-total", "monitoring.requestsMetric"},
		{"a bucket", "latencyMetric: http_request_duration_seconds_bucket", "monitoring.latencyMetric"},
		{"a reserved label", "codeLabel: __code", "monitoring.codeLabel"},
		{"one scrape per window", "rateWindow: 45s", "monitoring.rateWindow"},
		{"a runbook with a fragment", "runbookURL: https://runbooks.example.com/fx#top", "monitoring.runbookURL"},
		{"a runbook with a space", "runbookURL: https://runbooks.example.com/fx runbooks", "monitoring.runbookURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(tc.values), &m); err != nil {
				t.Fatal(err)
			}
			_, err := renderShared(t, "fx-platform", "production", map[string]any{"monitoring": m}, "service.name=fx-platform-service")
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("the chart rendered with %s: error %v, want one naming %s", tc.values, err, tc.field)
			}
			_, err = monitoring.ParseService([]byte("namespace: production\nservice: fx-platform-service\ndeployment: fx-platform\nselector: {app: fx-platform}\n" + tc.values))
			if err == nil {
				t.Errorf("monitoring.ParseService took %s, which the chart refuses", tc.values)
			}
		})
	}
}
