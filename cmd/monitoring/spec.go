package main

import (
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
)

var spec = &action.Spec{
	Name:        "monitoring",
	Description: "Write a service's monitoring as code, for a cluster without the reference chart: the strategy's alerts as a PrometheusRule (Prometheus Operator) and as a rule file (plain Prometheus), a ServiceMonitor, and a Grafana dashboard of the rollout, performance and resources. From a service file, inputs, or both; it only writes files, and applies nothing to a cluster.",
	Inputs: []action.Input{
		{Name: "service-file", Description: "YAML or JSON file describing the service (namespace, service, deployment, selector, objectLabels, metricsPort, metricsPath, scrapeInterval, requestsMetric, codeLabel, latencyMetric, rateWindow, thresholds, for, runbookURL, businessMetrics), read over the strategy's defaults; a field it does not know is an error. The inputs below override its fields."},
		{Name: "namespace", Description: "Namespace of the Service and Deployments (default: service-file's, else default)."},
		{Name: "service", Description: "The live Service: the alerts' service label and the ServiceMonitor's name; the colours' Services <service>-blue and <service>-green are the ones scraped. Required unless service-file gives it."},
		{Name: "deployment", Description: "Deployment base name: the colours are <deployment>-blue and <deployment>-green, and the PrometheusRule is <deployment>-deployment-alerts. Required unless service-file gives it."},
		{Name: "selector", Kind: action.KindMap, Description: "Labels every pod and Service of the app carries, both colours alike, without the colour label: KEY=VALUE lines (app=fx-platform). Replaces service-file's; required unless service-file gives it."},
		{Name: "metrics-port", Description: "Name of the Services' port the metrics are scraped on (default: service-file's, else http)."},
		{Name: "metrics-path", Description: "Path of the metrics (default: service-file's, else /metrics)."},
		{Name: "runbook-url", Description: "Where the runbooks are: each alert links to <runbook-url>#<alert name in lower case> (default: service-file's, else " + monitoring.DefaultRunbookURL + ")."},
		{Name: "output-dir", Default: "monitoring", Description: "Directory the four files are written to, made if missing; files of the same names in it are replaced."},
	},
	Outputs: []action.Output{
		{Name: "prometheus-rule-file", Description: "Path of the PrometheusRule (" + monitoring.FilePrometheusRule + "), for kubectl apply where the Prometheus Operator runs."},
		{Name: "service-monitor-file", Description: "Path of the ServiceMonitor (" + monitoring.FileServiceMonitor + ")."},
		{Name: "rules-file", Description: "Path of the same alerts as a Prometheus rule file (" + monitoring.FileRules + "), for rule_files and promtool."},
		{Name: "dashboard-file", Description: "Path of the Grafana dashboard's JSON (" + monitoring.FileDashboard + ")."},
	},
}
