package monitoring

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

func TestDashboard(t *testing.T) {
	s := fxPlatform()
	s.BusinessMetrics = []BusinessMetric{
		{Name: "User logins", Query: `sum(rate(user_logins_total{namespace="production"}[5m])) * 60`, Unit: "short"},
		{Name: "Trades executed", Query: `sum(rate(trades_executed_total{namespace="production"}[5m])) * 60`},
	}
	data, err := DashboardJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK reads panels and queries through its plugin registry.
	plugins.RegisterDefaultPlugins()
	// Not UnmarshalJSONStrict: in v0.0.22 it returns an empty
	// cog.BuildErrors, a non-nil error, for a panel without a fault, and
	// drops the panel.
	var d dashboard.Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("reading the dashboard back: %v", err)
	}
	want := []string{"Live colour", "Step weight", "Rollout phase", "Last rollout result", "Last rollout duration", "Running rollout silent for",
		"Response time", "Error rate", "Throughput", "CPU of limit", "Memory of limit",
		"User logins", "Trades executed"}
	if got := PanelTitles(d); !reflect.DeepEqual(got, want) {
		t.Errorf("panels\n got %q\nwant %q", got, want)
	}
	if d.Uid == nil || *d.Uid != "production-fx-platform" {
		t.Errorf("uid %v", d.Uid)
	}
	ids := map[uint32]bool{}
	var exprs []string
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			ids[p.RowPanel.Id] = true
			continue
		}
		panel := p.Panel
		title := *panel.Title
		if panel.Id == nil || ids[*panel.Id] {
			t.Errorf("%s: id %v missing or taken", title, panel.Id)
		} else {
			ids[*panel.Id] = true
		}
		if len(panel.Targets) == 0 {
			t.Errorf("%s: no query", title)
		}
		if panel.Datasource == nil || *panel.Datasource.Uid != "${datasource}" {
			t.Errorf("%s: data source %v", title, panel.Datasource)
		}
		for _, target := range panel.Targets {
			expr := exprOf(t, target)
			if expr == "" {
				t.Errorf("%s: a target without a query", title)
			}
			exprs = append(exprs, expr)
		}
	}
	for _, want := range []string{
		`deploy_actions_rollout_live_color{namespace="production",service="fx-platform-service"}`,
		`deploy_actions_rollout_weight{namespace="production",service="fx-platform-service"}`,
		`histogram_quantile(0.99, sum by (namespace, color, le) (label_replace(rate(http_request_duration_seconds_bucket{`,
		`container_spec_memory_limit_bytes{namespace="production",pod=~"fx-platform-(blue|green)-[4-9bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}",container!=""} > 0`,
		`trades_executed_total`,
	} {
		if !strings.Contains(strings.Join(exprs, "\n"), want) {
			t.Errorf("no query has %s", want)
		}
	}
}

func TestDashboardJSONIsStable(t *testing.T) {
	a, err := DashboardJSON(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	b, err := DashboardJSON(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("two renders of one service differ")
	}
	var any map[string]any
	if err := json.Unmarshal(a, &any); err != nil {
		t.Fatal(err)
	}
}

func TestDashboardUIDFitsGrafana(t *testing.T) {
	s := fxPlatform()
	s.Namespace = strings.Repeat("n", 63)
	d, err := Dashboard(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(*d.Uid) > 40 {
		t.Errorf("uid %q is over Grafana's 40 characters", *d.Uid)
	}
	s.Deployment = "other"
	other, err := Dashboard(s)
	if err != nil {
		t.Fatal(err)
	}
	if *other.Uid == *d.Uid {
		t.Error("two services, one uid")
	}
}

// TestDashboardQueriesInPromtool has Prometheus's parser read every query
// of the dashboard, as recording rules, with Grafana's $__rate_interval
// filled in as Grafana does.
func TestDashboardQueriesInPromtool(t *testing.T) {
	s := fxPlatform()
	s.Deployment = "fx.platform"
	d, err := Dashboard(s)
	if err != nil {
		t.Fatal(err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	n := 0
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue
		}
		for _, target := range p.Panel.Targets {
			n++
			expr := strings.ReplaceAll(exprOf(t, target), "$__rate_interval", "1m")
			quoted, err := json.Marshal(expr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rules, "  - record: dashboard:query%d\n    expr: %s\n", n, quoted)
		}
	}
	runPromtool(t, map[string][]byte{"rules.yml": []byte(rules.String())}, "check", "rules", "rules.yml")
}

// exprOf is a target's query: a built dashboard holds the SDK's query
// values, one read from JSON pointers to them.
func exprOf(t *testing.T, target variants.Dataquery) string {
	t.Helper()
	switch q := target.(type) {
	case prometheus.Dataquery:
		return q.Expr
	case *prometheus.Dataquery:
		return q.Expr
	}
	t.Fatalf("target %#v is not a Prometheus query", target)
	return ""
}

// TestDashboardResponseTimeByColour evaluates the response-time panel's
// queries in Prometheus's engine: each colour has its own p50, p95 and p99
// (the runbooks compare the colours on it), and another Deployment's pods
// are left out.
func TestDashboardResponseTimeByColour(t *testing.T) {
	s := fxPlatform()
	d, err := Dashboard(s)
	if err != nil {
		t.Fatal(err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	for _, p := range d.Panels {
		if p.Panel == nil || *p.Panel.Title != titleResponseTime {
			continue
		}
		for i, target := range p.Panel.Targets {
			quoted, err := json.Marshal(strings.ReplaceAll(exprOf(t, target), "$__rate_interval", "1m"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rules, "  - record: response_time:q%d\n    expr: %s\n", i, quoted)
		}
	}
	// Blue answers everything within 0.1 s, green everything between 1 s
	// and 2 s; the worker and the Job, all in 10 s, are not the app.
	test := `rule_files: [rules.yml]
evaluation_interval: 15s
tests:
- interval: 15s
  input_series:
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + bluePod + `",le="0.1"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + bluePod + `",le="1"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + bluePod + `",le="2"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + bluePod + `",le="+Inf"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + greenPod + `",le="0.1"}', values: '0+0x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + greenPod + `",le="1"}', values: '0+0x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + greenPod + `",le="2"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + greenPod + `",le="+Inf"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + otherPod + `",le="+Inf"}', values: '0+100x20'}
  - {series: 'http_request_duration_seconds_bucket{namespace="production",pod="` + jobPod + `",le="+Inf"}', values: '0+100x20'}
  promql_expr_test:
  - expr: response_time:q0
    eval_time: 4m
    exp_samples:
    - {labels: 'response_time:q0{color="blue",namespace="production"}', value: 0.05}
    - {labels: 'response_time:q0{color="green",namespace="production"}', value: 1.5}
  - expr: response_time:q1
    eval_time: 4m
    exp_samples:
    - {labels: 'response_time:q1{color="blue",namespace="production"}', value: 0.095}
    - {labels: 'response_time:q1{color="green",namespace="production"}', value: 1.95}
`
	runPromtool(t, map[string][]byte{"rules.yml": []byte(rules.String()), "test.yml": []byte(test)}, "test", "rules", "test.yml")
}

// The silence panel evaluates in Prometheus's engine: the seconds since a
// running rollout's last push, and nothing once a result was pushed.
func TestDashboardSilenceOfARunningRollout(t *testing.T) {
	d, err := Dashboard(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, p := range d.Panels {
		if p.Panel != nil && *p.Panel.Title == titleSilent {
			expr = exprOf(t, p.Panel.Targets[0])
		}
	}
	quoted, err := json.Marshal(expr)
	if err != nil {
		t.Fatal(err)
	}
	rules := "groups:\n- name: dashboard\n  rules:\n  - record: silent\n    expr: " + string(quoted) + "\n"
	// The last push of production's rollout was at 60 s (push_time_seconds
	// holds it); staging's finished rollout has a result.
	test := `rule_files: [rules.yml]
evaluation_interval: 15s
tests:
- interval: 15s
  input_series:
  - {series: 'push_time_seconds{job="deploy-actions",namespace="production",service="fx-platform-service"}', values: '60x20'}
  - {series: 'deploy_actions_rollout_phase{job="deploy-actions",namespace="production",service="fx-platform-service",phase="holding"}', values: '1x20'}
  - {series: 'push_time_seconds{job="deploy-actions",namespace="staging",service="fx-platform-service"}', values: '60x20'}
  - {series: 'deploy_actions_rollout_result{job="deploy-actions",namespace="staging",service="fx-platform-service",result="promoted"}', values: '1x20'}
  promql_expr_test:
  - expr: silent
    eval_time: 4m
    exp_samples:
    - {labels: 'silent', value: 180}
`
	runPromtool(t, map[string][]byte{"rules.yml": []byte(rules), "test.yml": []byte(test)}, "test", "rules", "test.yml")
	staging := fxPlatform()
	staging.Namespace = "staging"
	d, err = Dashboard(staging)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Panel != nil && *p.Panel.Title == titleSilent {
			expr = exprOf(t, p.Panel.Targets[0])
		}
	}
	if quoted, err = json.Marshal(expr); err != nil {
		t.Fatal(err)
	}
	rules = "groups:\n- name: dashboard\n  rules:\n  - record: silent\n    expr: " + string(quoted) + "\n"
	test = strings.Replace(test, "exp_samples:\n    - {labels: 'silent', value: 180}", "exp_samples: []", 1)
	runPromtool(t, map[string][]byte{"rules.yml": []byte(rules), "test.yml": []byte(test)}, "test", "rules", "test.yml")
}
