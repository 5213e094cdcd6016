package monitoring

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The gauges promote pushes to a Pushgateway during a rollout, each
// labelled with the namespace and the live Service's name (LabelNamespace,
// LabelService), which the dashboard reads.
const (
	// MetricRolloutWeight is the share of traffic on the candidate at the
	// current step, 0 to 100.
	MetricRolloutWeight = "deploy_actions_rollout_weight"
	// MetricRolloutLiveColor is 1 for the colour the live Service
	// selects, 0 for the other, labelled LabelColor.
	MetricRolloutLiveColor = "deploy_actions_rollout_live_color"
	// MetricRolloutPhase is 1 for the phase the rollout is in, labelled
	// LabelPhase.
	MetricRolloutPhase = "deploy_actions_rollout_phase"
	// MetricRolloutDuration is how long the last rollout took, in
	// seconds.
	MetricRolloutDuration = "deploy_actions_rollout_duration_seconds"
	// MetricRolloutResult is 1 for the result of the last rollout,
	// labelled LabelResult.
	MetricRolloutResult = "deploy_actions_rollout_result"
)

// The labels of the rollout gauges.
const (
	LabelNamespace = "namespace"
	LabelService   = "service"
	LabelColor     = "color"
	LabelPhase     = "phase"
	LabelResult    = "result"
)

// The dashboard's panels, before one per business metric.
const (
	titleLiveColour    = "Live colour"
	titleStepWeight    = "Step weight"
	titlePhase         = "Rollout phase"
	titleResult        = "Last rollout result"
	titleDuration      = "Last rollout duration"
	titleSilent        = "Running rollout silent for"
	titleResponseTime  = "Response time"
	titleErrorRate     = "Error rate"
	titleThroughput    = "Throughput"
	titleCPU           = "CPU of limit"
	titleMemory        = "Memory of limit"
	datasourceVariable = "datasource"
)

var fixedTitles = []string{titleLiveColour, titleStepWeight, titlePhase, titleResult, titleDuration, titleSilent,
	titleResponseTime, titleErrorRate, titleThroughput, titleCPU, titleMemory}

// Dashboard is the service's Grafana dashboard: the rollout (live colour,
// step weight, phase, last result and duration), response time p50, p95
// and p99, error rate and throughput per colour, CPU and memory per colour
// as shares of the limits, and one panel per business metric. Its queries
// use a Prometheus data source picked with the variable "datasource"; the
// thresholds drawn are the alerts'.
func Dashboard(s Service) (dashboard.Dashboard, error) {
	if err := s.Check(); err != nil {
		return dashboard.Dashboard{}, err
	}
	ds := common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + datasourceVariable + "}")}
	t := s.Thresholds
	b := dashboard.NewDashboardBuilder(fmt.Sprintf("%s (%s)", s.Service, s.Namespace)).
		Uid(uid(s)).
		Tags([]string{"deploy-actions"}).
		Refresh("30s").
		Time("now-3h", "now").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVariable).Label("Prometheus").Type("prometheus")).
		WithRow(dashboard.NewRowBuilder("Rollout")).
		WithPanel(statPanel(ds, titleLiveColour, "Colour the live Service selects", query(fmt.Sprintf("max by (%s) (%s) == 1", LabelColor, s.rollout(MetricRolloutLiveColor)), "{{"+LabelColor+"}}")).
			TextMode(common.BigValueTextModeName).ColorMode(common.BigValueColorModeBackground).
			OverrideByName("blue", []dashboard.DynamicConfigValue{fixedColour("blue")}).
			OverrideByName("green", []dashboard.DynamicConfigValue{fixedColour("green")})).
		WithPanel(statPanel(ds, titleStepWeight, "Share of traffic on the candidate at the current step", query(fmt.Sprintf("max(%s)", s.rollout(MetricRolloutWeight)), "weight")).
			Unit("percent").Min(0).Max(100)).
		WithPanel(statPanel(ds, titlePhase, "", query(fmt.Sprintf("max by (%s) (%s) == 1", LabelPhase, s.rollout(MetricRolloutPhase)), "{{"+LabelPhase+"}}")).
			TextMode(common.BigValueTextModeName)).
		WithPanel(statPanel(ds, titleResult, "", query(fmt.Sprintf("max by (%s) (%s) == 1", LabelResult, s.rollout(MetricRolloutResult)), "{{"+LabelResult+"}}")).
			TextMode(common.BigValueTextModeName)).
		WithPanel(statPanel(ds, titleDuration, "", query(fmt.Sprintf("max(%s)", s.rollout(MetricRolloutDuration)), "duration")).
			Unit("s")).
		WithPanel(statPanel(ds, titleSilent, fmt.Sprintf("Since the running promote or rollback last pushed its progress (it pushes at least every %s). Past %s it has died (a SIGKILL, a lost runner): the phase above is stale, and the next promote or rollback takes over once its Lease expires.",
			ProgressHeartbeat, MaxProgressSilence),
			query(fmt.Sprintf(`(time() - max(%s)) unless on () max(%s)`, s.rollout("push_time_seconds", "job="+strconv.Quote(ProgressJob)), s.rollout(MetricRolloutResult)), "silent")).
			Unit("s").NoValue("no rollout running").ColorMode(common.BigValueColorModeBackground).
			Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
				{Value: nil, Color: "green"}, {Value: cog.ToPtr(MaxProgressSilence.Seconds()), Color: "red"},
			}))).
		WithRow(dashboard.NewRowBuilder("Performance")).
		WithPanel(graph(ds, titleResponseTime, "s", thresholds(seconds(t.Latency.Warning), seconds(t.Latency.Critical)),
			query(s.latency(0.5, rateInterval), "{{color}} p50"),
			query(s.latency(0.95, rateInterval), "{{color}} p95"),
			query(s.latency(0.99, rateInterval), "{{color}} p99")).
			Description("Per colour: a candidate slower than the stable colour is the release; both slow is load or a dependency")).
		WithPanel(graph(ds, titleErrorRate, "percentunit", thresholds(t.ErrorRatio.Warning, t.ErrorRatio.Critical),
			query(s.errorRatio(rateInterval), "{{color}}"))).
		WithPanel(graph(ds, titleThroughput, "reqpm", nil,
			query(s.throughput(rateInterval), "{{color}}"))).
		WithRow(dashboard.NewRowBuilder("Resources")).
		WithPanel(graph(ds, titleCPU, "percentunit", thresholds(t.CPU.Warning, t.CPU.Critical),
			query("max by (color) ("+s.byColour(s.cpu(rateInterval))+")", "{{color}}")).
			Description("The busiest limited container of each colour")).
		WithPanel(graph(ds, titleMemory, "percentunit", thresholds(t.Memory.Warning, t.Memory.Critical),
			query("max by (color) ("+s.byColour(s.memory())+")", "{{color}}")).
			Description("The fullest limited container of each colour"))
	if len(s.BusinessMetrics) > 0 {
		b = b.WithRow(dashboard.NewRowBuilder("Business metrics"))
		for _, m := range s.BusinessMetrics {
			b = b.WithPanel(graph(ds, m.Name, m.Unit, nil, query(m.Query, "")))
		}
	}
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("building the dashboard: %w", err)
	}
	// Grafana links to a panel by its id; the builders leave it unset.
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	return d, nil
}

// DashboardJSON is Dashboard as the JSON Grafana imports.
func DashboardJSON(s Service) ([]byte, error) {
	d, err := Dashboard(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	// PromQL's > and < as they are, not \u003e.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("writing the dashboard: %w", err)
	}
	return b.Bytes(), nil
}

// PanelTitles lists the titles of d's panels in order, the panels of
// collapsed rows included and the rows left out.
func PanelTitles(d dashboard.Dashboard) []string {
	var out []string
	add := func(p dashboard.Panel) {
		if p.Title != nil {
			out = append(out, *p.Title)
		}
	}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			add(*p.Panel)
		case p.RowPanel != nil:
			for _, q := range p.RowPanel.Panels {
				add(q)
			}
		}
	}
	return out
}

// rateInterval is Grafana's rate window: at least four scrape intervals of
// the data source, and the query's step.
const rateInterval = "$__rate_interval"

// uid names the dashboard the same at every render, so an import replaces
// it. Grafana takes 40 characters at most.
func uid(s Service) string {
	if u := s.Namespace + "-" + s.Deployment; len(u) <= 40 {
		return u
	}
	sum := sha256.Sum256([]byte(s.Namespace + "/" + s.Deployment))
	return "deploy-actions-" + hex.EncodeToString(sum[:])[:25]
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Expr(expr)
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

func statPanel(ds common.DataSourceRef, title, description string, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().Title(title).Datasource(ds).Height(4).Span(4).
		WithTarget(q.RefId("A").Instant()).
		GraphMode(common.BigValueGraphModeNone).Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if description != "" {
		p = p.Description(description)
	}
	return p
}

func graph(ds common.DataSourceRef, title, unit string, steps *dashboard.ThresholdsConfigBuilder, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Datasource(ds).Height(8).Span(12)
	if unit != "" {
		p = p.Unit(unit)
	}
	for i, q := range queries {
		p = p.WithTarget(q.RefId(string(rune('A' + i))).Range())
	}
	if steps != nil {
		p = p.Thresholds(steps).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	}
	return p
}

// thresholds draws the alerts' warning and critical levels.
func thresholds(warning, critical float64) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
		{Value: nil, Color: "green"},
		{Value: cog.ToPtr(warning), Color: "orange"},
		{Value: cog.ToPtr(critical), Color: "red"},
	})
}

func fixedColour(colour string) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": colour}}
}
