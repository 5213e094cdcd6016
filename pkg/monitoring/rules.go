package monitoring

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The alerts, each a warning and a critical rule but DeploymentFailure,
// which is critical only.
const (
	AlertDeploymentFailure = "DeploymentFailure"
	AlertHighErrorRate     = "HighErrorRate"
	AlertHighLatency       = "HighLatency"
	AlertHighCPU           = "HighCPU"
	AlertHighMemory        = "HighMemory"
)

// The alerts' severity label.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// PrometheusRule is the service's alerts, named
// <deployment>-deployment-alerts, in one group of the same name. Each
// alert carries the labels severity, service (the live Service's name) and
// namespace, the color it fires on (blue or green: each colour is judged
// on its own, so a gate can tell the candidate's alerts from the stable
// colour's), and the annotations summary, description and runbook_url.
func PrometheusRule(s Service) (*monitoringv1.PrometheusRule, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	name := s.Deployment + alertsSuffix
	w := s.RateWindow.String()
	at := fmt.Sprintf("%s/%s", s.Namespace, s.Service)
	rules := []monitoringv1.Rule{s.alert(AlertDeploymentFailure, SeverityCritical, s.For.DeploymentFailure,
		fmt.Sprintf(`max by (namespace, deployment, color) (label_replace(kube_deployment_status_replicas_unavailable{namespace=%s,deployment=~"%s"}, "color", "$1", "deployment", "%[2]s")) > 0`, strconv.Quote(s.Namespace), s.colours()),
		"Deployment {{ $labels.deployment }} has unavailable replicas",
		fmt.Sprintf("{{ $value }} replicas of Deployment {{ $labels.namespace }}/{{ $labels.deployment }}, a colour of %s, are unavailable.", at))}
	t := s.Thresholds
	byLevel := []func(l level) monitoringv1.Rule{
		func(l level) monitoringv1.Rule {
			return s.alert(AlertHighErrorRate, l.severity, s.For.ErrorRate,
				s.errorRatio(w)+" > "+number(l.pick(t.ErrorRatio)),
				"High error rate on "+s.Service+" ({{ $labels.color }})",
				fmt.Sprintf("{{ $value | humanizePercentage }} of the requests to the {{ $labels.color }} colour of %s were answered 5xx over the last %s (%s above %s).", at, w, l.severity, percent(l.pick(t.ErrorRatio))))
		},
		func(l level) monitoringv1.Rule {
			return s.alert(AlertHighLatency, l.severity, s.For.Latency,
				s.latency(0.95, w)+" > "+number(seconds(l.pickDuration(t.Latency))),
				"High latency on "+s.Service+" ({{ $labels.color }})",
				fmt.Sprintf("The p95 response time of the {{ $labels.color }} colour of %s over the last %s is {{ $value | humanizeDuration }} (%s above %s).", at, w, l.severity, l.pickDuration(t.Latency)))
		},
		func(l level) monitoringv1.Rule {
			return s.alert(AlertHighCPU, l.severity, s.For.CPU,
				"max by (namespace, color, pod) ("+s.byColour(s.cpu(w))+") > "+number(l.pick(t.CPU)),
				"High CPU on pod {{ $labels.pod }}",
				fmt.Sprintf("A container of pod {{ $labels.namespace }}/{{ $labels.pod }} (%s) uses {{ $value | humanizePercentage }} of its CPU limit (%s above %s).", at, l.severity, percent(l.pick(t.CPU))))
		},
		func(l level) monitoringv1.Rule {
			return s.alert(AlertHighMemory, l.severity, s.For.Memory,
				"max by (namespace, color, pod) ("+s.byColour(s.memory())+") > "+number(l.pick(t.Memory)),
				"High memory on pod {{ $labels.pod }}",
				fmt.Sprintf("A container of pod {{ $labels.namespace }}/{{ $labels.pod }} (%s) uses {{ $value | humanizePercentage }} of its memory limit (%s above %s).", at, l.severity, percent(l.pick(t.Memory))))
		},
	}
	for _, rule := range byLevel {
		rules = append(rules, rule(level{SeverityWarning, false}), rule(level{SeverityCritical, true}))
	}
	return &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: maps.Clone(s.ObjectLabels)},
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{Name: name, Rules: rules}}},
	}, nil
}

// level is one severity: which of a pair of thresholds it takes.
type level struct {
	severity string
	critical bool
}

func (l level) pick(v Levels) float64 {
	if l.critical {
		return v.Critical
	}
	return v.Warning
}

func (l level) pickDuration(v DurationLevels) model.Duration {
	if l.critical {
		return v.Critical
	}
	return v.Warning
}

func (s Service) alert(name, severity string, hold model.Duration, expr, summary, description string) monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:  name,
		Expr:   intstr.FromString(expr),
		Labels: map[string]string{"severity": severity, "service": s.Service, "namespace": s.Namespace},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": s.RunbookURL + "#" + strings.ToLower(name),
		},
	}
	if hold > 0 {
		d := monitoringv1.Duration(hold.String())
		r.For = &d
	}
	return r
}

// seconds is d in seconds, rounded once: 1118ms is 1.118, where
// time.Duration's Seconds, which adds the fraction to the whole seconds,
// gives 1.1179999999999999. The chart computes the same exactly.
func seconds(d model.Duration) float64 { return float64(d) / float64(time.Second) }

// number is a threshold as PromQL reads it.
func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// percent is a fraction as people read it: 0.07 is "7%", not
// "7.000000000000001%". The fraction is multiplied in decimal, as the
// chart's mulf does: 0.10075 is 10.075 %, the double nearest it, which
// rounds to 10.07%, where v*100 (10.075000000000001) gave 10.08%.
func percent(v float64) string {
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	if e, err := strconv.Atoi(exp); err == nil {
		if p, err := strconv.ParseFloat(fmt.Sprintf("%se%d", mantissa, e+2), 64); err == nil {
			return fmt.Sprintf("%.4g%%", p)
		}
	}
	return fmt.Sprintf("%.4g%%", v*100)
}

// RuleFile is rule's groups as the rule file Prometheus loads
// (rule_files) and promtool checks: what the Prometheus Operator writes for
// a PrometheusRule, without a Prometheus Operator.
func RuleFile(rule *monitoringv1.PrometheusRule) ([]byte, error) {
	if rule == nil {
		return nil, errors.New("writing a rule file: no PrometheusRule")
	}
	for _, g := range rule.Spec.Groups {
		if g.PartialResponseStrategy != "" {
			// Thanos Ruler's alone; Prometheus refuses the whole file.
			return nil, fmt.Errorf("writing a rule file: group %q has a partial_response_strategy, which only Thanos reads", g.Name)
		}
	}
	out, err := yaml.Marshal(struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{rule.Spec.Groups})
	if err != nil {
		return nil, fmt.Errorf("writing a rule file: %w", err)
	}
	return out, nil
}
