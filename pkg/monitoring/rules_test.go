package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// promtool is Debian's, from the prometheus package; a test that needs it
// fails without it, so that a machine without it never passes for one
// that checked the rules.
func promtool(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/promtool", "promtool"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("promtool is missing: scripts/install-deps installs Debian's prometheus package, which has it")
	return ""
}

// runPromtool runs promtool with args in a directory holding files.
func runPromtool(t *testing.T, files map[string][]byte, args ...string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		var shown strings.Builder
		for name, data := range files {
			shown.WriteString("--- " + name + "\n" + string(data))
		}
		t.Fatalf("promtool %s: %v\n%s\n%s", strings.Join(args, " "), err, out, shown.String())
	}
}

func TestPrometheusRule(t *testing.T) {
	rule, err := PrometheusRule(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	if rule.Name != "fx-platform-deployment-alerts" || rule.Namespace != "production" ||
		rule.APIVersion != "monitoring.coreos.com/v1" || rule.Kind != "PrometheusRule" {
		t.Errorf("object %s %s/%s %s", rule.APIVersion, rule.Namespace, rule.Name, rule.Kind)
	}
	if len(rule.Spec.Groups) != 1 {
		t.Fatalf("%d groups, want 1", len(rule.Spec.Groups))
	}
	type key struct{ alert, severity, hold string }
	var got []key
	for _, r := range rule.Spec.Groups[0].Rules {
		hold := ""
		if r.For != nil {
			hold = string(*r.For)
		}
		got = append(got, key{r.Alert, r.Labels["severity"], hold})
		if r.Expr.Type != intstr.String || r.Expr.StrVal == "" {
			t.Errorf("%s: expr %#v, want a string", r.Alert, r.Expr)
		}
		if r.Labels["service"] != "fx-platform-service" || r.Labels["namespace"] != "production" || len(r.Labels) != 3 {
			t.Errorf("%s: labels %v", r.Alert, r.Labels)
		}
		if want := DefaultRunbookURL + "#" + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: annotations %v", r.Alert, r.Annotations)
		}
	}
	want := []key{
		{"DeploymentFailure", "critical", "2m"},
		{"HighErrorRate", "warning", "1m"}, {"HighErrorRate", "critical", "1m"},
		{"HighLatency", "warning", "3m"}, {"HighLatency", "critical", "3m"},
		{"HighCPU", "warning", "5m"}, {"HighCPU", "critical", "5m"},
		{"HighMemory", "warning", "5m"}, {"HighMemory", "critical", "5m"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alerts\n got %v\nwant %v", got, want)
	}
}

func TestPrometheusRuleRoundTrip(t *testing.T) {
	s := fxPlatform()
	s.Deployment = "fx.platform"
	s.ObjectLabels = map[string]string{"release": "kube-prometheus-stack"}
	rule, err := PrometheusRule(s)
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	var back monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("reading the PrometheusRule back: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(&back, rule) {
		t.Errorf("round trip changed the PrometheusRule:\n%s", data)
	}
	if !strings.Contains(string(data), `deployment=~"fx[.]platform-(blue|green)"`) {
		t.Errorf("the Deployment's dot is not matched literally:\n%s", data)
	}
}

func TestRuleFileInPromtool(t *testing.T) {
	for name, s := range map[string]Service{"defaults": fxPlatform(), "dotted deployment": func() Service {
		s := fxPlatform()
		s.Deployment, s.RequestsMetric, s.CodeLabel = "fx.platform", "app:requests:total", "status"
		return s
	}()} {
		t.Run(name, func(t *testing.T) {
			rule, err := PrometheusRule(s)
			if err != nil {
				t.Fatal(err)
			}
			data, err := RuleFile(rule)
			if err != nil {
				t.Fatal(err)
			}
			runPromtool(t, map[string][]byte{"rules.yml": data}, "check", "rules", "rules.yml")
		})
	}
}

func TestRuleFileRefuses(t *testing.T) {
	if _, err := RuleFile(nil); err == nil {
		t.Error("RuleFile(nil) gave no error")
	}
	rule, err := PrometheusRule(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	rule.Spec.Groups[0].PartialResponseStrategy = "warn"
	if _, err := RuleFile(rule); err == nil || !strings.Contains(err.Error(), "partial_response_strategy") {
		t.Errorf("a Thanos-only field: %v", err)
	}
}

// A latency threshold in milliseconds reads as PromQL and people write it.
func TestLatencyThresholdInSeconds(t *testing.T) {
	s := fxPlatform()
	s.Thresholds.Latency.Warning = model.Duration(1118 * time.Millisecond)
	rule, err := PrometheusRule(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rule.Spec.Groups[0].Rules {
		if r.Alert == AlertHighLatency && r.Labels["severity"] == SeverityWarning && !strings.HasSuffix(r.Expr.StrVal, " > 1.118") {
			t.Errorf("expr %q, want it to end in > 1.118", r.Expr.StrVal)
		}
	}
}
