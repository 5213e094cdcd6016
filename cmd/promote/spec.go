package main

import (
	"slices"

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
)

var spec = &action.Spec{
	Name:        "promote",
	Description: "Promote an image (by digest) to production: blue-green switch or 10/25/50/100 % steps with Prometheus analysis, automatic abort to the stable colour, state recorded on the live Service, one run at a time (Lease).",
	Inputs: append([]action.Input{
		{Name: "namespace", Default: "default", Description: "Namespace of the Service and Deployments."},
		{Name: "service", Required: true, Description: "The live Service; its selector's colour label names the live colour."},
		{Name: "deployment", Required: true, Description: "Deployment base name: the colours are <deployment>-blue and <deployment>-green."},
		{Name: "color-label", Default: "version", Description: "Label that tells the colours apart."},
		{Name: "container", Description: "Container whose image is set (default: the only one)."},
		{Name: "image", Required: true, Kind: action.KindImage, Description: "Image pinned by digest, repo@sha256:... (a tag alone is refused)."},
		{Name: "candidate-from", Default: "chart", Kind: action.KindEnum, Allowed: []string{"chart", "live"}, Description: "chart: render the candidate colour from chart, as its own Helm release <release>-<colour> (see the chart contract). live: copy the live colour's Deployment and set its image (nothing else of a release reaches production)."},
		{Name: "release", Description: "Base name of the Helm releases (candidate-from chart): <release>-blue, <release>-green, and <release> for the shared objects. Default: deployment."},
		{Name: "max-history", Default: "10", Kind: action.KindInt, Description: "Revisions kept per release (0: no limit)."},
		{Name: "strategy", Default: "blue-green", Kind: action.KindEnum, Allowed: []string{"blue-green", "canary"}, Description: "blue-green: switch at once; canary: move traffic in steps."},
		{Name: "steps", Default: "10,25,50,100", Kind: action.KindList, Description: "Canary traffic steps in percent, increasing, ending at 100."},
		{Name: "step-pause", Default: "5m,10m,15m", Kind: action.KindList, Description: "Monitoring after each step but the last: one duration, or one per step."},
		{Name: "pause-at", Kind: action.KindList, Description: "Manual judgement: weights at which the rollout holds for a person, after that step's pause, until control's resume or promote-full (or abort): a step before the last, or 0 to hold before any traffic moves (blue-green's approval before the switch). Analysis goes on while held; the step summary and the notifications report the wait."},
		{Name: "pause-timeout", Default: "1h", Kind: action.KindDuration, Description: "How long one hold (pause-at, or control's pause) waits for a person before it aborts. The time held does not count against timeout."},
		{Name: "traffic-router", Kind: action.KindEnum, Allowed: []string{"service", "replicas", "gateway-api", "nginx"}, Description: "How traffic moves (default: service for blue-green, replicas for canary)."},
		{Name: "httproute", Description: "HTTPRoute whose backendRefs <service>-blue/<service>-green get the weights (gateway-api)."},
		{Name: "ingress", Description: "Canary Ingress that gets the canary-weight annotation (nginx)."},
		{Name: "preview-url", Description: "Base URL of the idle colour; {{.Color}} in it names that colour (http://fx-platform-service-{{.Color}}.production, the reference chart's colour Services). Its health paths are checked before any traffic moves; without prometheus-url, each measurement is a load probe through it, judged on max-error-rate and max-p95-latency."},
		{Name: "probe-requests", Default: "100", Kind: action.KindInt, Description: "Requests of each measurement through preview-url when there is no prometheus-url (sent at 50 a second to the first health path)."},
		{Name: "health-paths", Default: "/api/health,/api/health/database,/api/health/external", Kind: action.KindList, Description: "Health paths checked through preview-url."},
		{Name: "prometheus-url", Description: "Prometheus base URL. With no analysis-checks, the candidate is judged on the strategy's SLOs (max-error-rate, max-p95-latency) from requests-metric and latency-metric."},
		{Name: "analysis-checks", Kind: action.KindLines, Description: "YAML list of checks (verify's format), instead of the SLO checks; queries are templates over {{.Color}}, {{.Namespace}}, {{.Deployment}} (the colour's), {{.Service}} and {{.Pods}} (a regular expression of the names of the colour's current pods)."},
		{Name: "max-error-rate", Default: "0.1%", Kind: action.KindPercent, Description: "SLO: highest share of 5xx answers of the candidate (its pods' metrics, or the probe through preview-url)."},
		{Name: "max-p95-latency", Default: "500ms", Kind: action.KindDuration, Description: "SLO: highest p95 latency of the candidate (its pods' metrics, or the probe through preview-url)."},
		{Name: "requests-metric", Default: analysis.DefaultRequestsMetric, Description: "SLO checks: counter of answered requests, with the status in a code label."},
		{Name: "latency-metric", Default: analysis.DefaultLatencyMetric, Description: "SLO checks: latency histogram (without _bucket), in seconds."},
		{Name: "metrics-selector", Default: analysis.DefaultSelector, Description: "SLO checks: label matchers of one colour's series, a template like analysis-checks' queries (default: the namespace and pod labels Prometheus gives pod targets, for the pods of the colour's current release)."},
		{Name: "allow-unmonitored", Default: "false", Kind: action.KindBool, Description: "Allow pauses (step-pause, post-promotion-window) in which nothing judges the candidate: no prometheus-url, no analysis-checks and no availability probe. Without it such a run is refused."},
		{Name: "analysis-interval", Default: "1m", Kind: action.KindDuration, Description: "Time between measurements during a pause."},
		{Name: "failure-limit", Default: "0", Kind: action.KindInt, Description: "Failed measurements tolerated per step (0: the first aborts)."},
		{Name: "inconclusive-limit", Default: "0", Kind: action.KindInt, Description: "Inconclusive measurements (no data, NaN, Prometheus down) tolerated per step."},
		{Name: "min-samples", Default: "0", Kind: action.KindInt, Description: "Minimum samples for checks with a samples query."},
		{Name: "compare-metrics", Kind: action.KindList, Description: "Canary against baseline, as Kayenta does: metrics on which each measurement before 100 % compares the candidate with the stable colour, side by side over the same window (latency: Mann-Whitney U with the Hodges-Lehmann shift; error-rate: Fisher's exact test, or the two-proportion z-test for large counts). With prometheus-url, the samples are each colour's live requests over analysis-interval (requests-metric and latency-metric, selected per colour by metrics-selector); when a colour has fewer than compare-min-samples, both colours are probed through preview-url instead (when set), so both sides come from one source, and for the rest of the run (the probe's requests are in the next windows). Without Prometheus, they are probe-requests requests to each colour at once through preview-url, as many rounds as the minimum needs. Empty: no comparison."},
		{Name: "compare-critical", Kind: action.KindList, Description: "Compared metrics whose failure fails the comparison alone, whatever the score (default: error-rate, when compared). The others are scored: pass 1, marginal ½, fail 0, weighted equally; a score of 95 passes, 75 to 95 is marginal (inconclusive, as Argo Rollouts takes Kayenta's marginal), below 75 fails."},
		{Name: "compare-tolerance", Default: "10%", Kind: action.KindPercent, Description: "How much worse than the stable colour the candidate may be before a significant difference counts: its median latency 10 % higher, its error rate 1.1 times the stable's. A significant difference within it passes; beyond it, one whose confidence interval reaches back within it is marginal, else a failure."},
		{Name: "compare-min-shift", Default: "1ms", Kind: action.KindDuration, Description: "Smallest latency shift that can count against the candidate, however large relative to the stable colour: a service answering in 0.4 ms jitters by more than 10 % between two pods. 0s takes every shift."},
		{Name: "compare-confidence", Default: "0.95", Description: "Confidence level of the comparison's tests, strictly between 0 and 1: at 0.95 a difference counts when p < 0.05."},
		{Name: "compare-min-samples", Default: "50", Kind: action.KindInt, Description: "Fewest samples each colour needs per metric (Spinnaker's advice: 50; at most 10,000, as the probe sends 50 a second). Fewer is insufficient data, inconclusive, never a pass. At least what lets a test find a difference at compare-confidence (4 at 0.95, 5 at 0.99): below it every candidate would pass."},
		{Name: "compare-path", Description: "Path the comparison probes on both colours (default: the first of health-paths); a business endpoint exercises more than a health check."},
		{Name: "post-promotion-window", Default: "0s", Kind: action.KindDuration, Description: "Analysis after 100 %; a failure switches traffic back."},
		{Name: "scale-down-delay", Default: "30s", Kind: action.KindDuration, Description: "Wait before the old colour is scaled to zero (also for the candidate after an abort)."},
		{Name: "lock-timeout", Default: "10m", Kind: action.KindDuration, Description: "How long to wait for another run's Lease on the Service."},
		{Name: "timeout", Kind: action.KindDuration, Description: "Bound on the whole promotion; past it, the rollout aborts. Empty: the step pauses and post-promotion-window plus 5m for each change of traffic (55m for steps 10,25,50,100 with pauses 5m,10m,15m). A timeout no longer than the pauses and the window is refused."},
	}, slices.Concat(charts.Inputs("Chart the colours are rendered from (candidate-from chart): local directory, packaged .tgz, or oci:// reference.", false),
		cluster.Inputs, ghdeploy.Inputs("production"), availability.Inputs, gate.Inputs, notify.Inputs, alerts.Inputs, progressgw.Inputs)...),
	Outputs: append([]action.Output{
		{Name: "result", Description: "promoted, aborted, unchanged, or installed (the first release of a chart: no live Service before)."},
		{Name: "active-color", Description: "The colour live at the end."},
		{Name: "previous-color", Description: "The other colour."},
		{Name: "image", Description: "The image live at the end."},
		{Name: "duration", Description: "How long the promotion took."},
		{Name: "steps-completed", Description: "Traffic steps completed."},
	}, availability.Outputs...),
}
