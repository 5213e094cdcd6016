package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// alertsAnswer is a Prometheus whose ALERTS are fixed, or which cannot be
// asked (err).
type alertsAnswer struct {
	alerts  []map[string]string
	err     error
	queries []string
}

func (a *alertsAnswer) QueryVector(_ context.Context, q string) ([]analysis.Sample, error) {
	a.queries = append(a.queries, q)
	if a.err != nil {
		return nil, a.err
	}
	var out []analysis.Sample
	for _, l := range a.alerts {
		out = append(out, analysis.Sample{Labels: l, Value: 1})
	}
	return out, nil
}

func gatePromotion(t *testing.T, p analysis.VectorProvider, inconclusiveLimit int, scope ...analysis.AlertScope) (*promotion, *[]Event) {
	t.Helper()
	check, err := analysis.NewAlertCheck(p, analysis.DefaultAlertMatchers, append(scope, "")[0])
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	cfg := &Config{Target: Target{App: traffic.App{Namespace: "prod", Service: "fx-service", Deployment: "fx"},
		OnEvent: func(e Event) { events = append(events, e) }}, Alerts: check, InconclusiveLimit: inconclusiveLimit}
	return &promotion{cfg: cfg, res: &Result{}, stable: "blue", cand: "green"}, &events
}

// The gate: warnings never stop a rollout, a critical alert does and is
// named, the query is the service's, and a Prometheus that cannot be asked
// is allowed inconclusive-limit times in all.
func TestAlertGate(t *testing.T) {
	prom := &alertsAnswer{alerts: []map[string]string{
		{"alertname": "HighLatency", "severity": "warning", "namespace": "prod", "service": "fx-service"},
		{"alertname": "Info", "namespace": "prod", "service": "fx-service"},
	}}
	p, events := gatePromotion(t, prom, 0)
	if err := p.alertGate(context.Background(), "before 10 %"); err != nil {
		t.Fatalf("warnings only: %v", err)
	}
	if len(*events) != 2 || !strings.Contains((*events)[0].Message, "before 10 %: HighLatency (warning) is firing") {
		t.Errorf("events %+v", *events)
	}
	if want := `ALERTS{alertstate="firing",namespace="prod",service="fx-service"}`; prom.queries[0] != want {
		t.Errorf("query %s, want %s", prom.queries[0], want)
	}

	prom.alerts = append(prom.alerts, map[string]string{"alertname": "DeploymentFailure", "severity": "critical", "namespace": "prod", "service": "fx-service"})
	err := p.alertGate(context.Background(), "before 25 %")
	if !errors.Is(err, ErrAborted) || !errors.Is(err, analysis.ErrAlertFiring) || !strings.Contains(err.Error(), "before 25 %") || !strings.Contains(err.Error(), "DeploymentFailure (critical)") {
		t.Errorf("critical: %v", err)
	}

	down := &alertsAnswer{err: analysis.ErrUnavailable}
	p, _ = gatePromotion(t, down, 1)
	if err := p.alertGate(context.Background(), "before the promotion"); err != nil {
		t.Errorf("first unreachable gate, limit 1: %v", err)
	}
	if err := p.alertGate(context.Background(), "before 10 %"); !errors.Is(err, ErrAborted) || !errors.Is(err, analysis.ErrInconclusive) {
		t.Errorf("second unreachable gate, limit 1: %v", err)
	}
}

// With scope candidate, the stable colour's critical alert (blue's) is
// reported and the candidate (green) goes on; the candidate's own stops it.
func TestAlertGateCandidateScope(t *testing.T) {
	prom := &alertsAnswer{alerts: []map[string]string{
		{"alertname": "HighErrorRate", "severity": "critical", "namespace": "prod", "service": "fx-service", "color": "blue"},
	}}
	p, events := gatePromotion(t, prom, 0, analysis.ScopeCandidate)
	if err := p.alertGate(context.Background(), "before the promotion"); err != nil {
		t.Fatalf("the stable colour's alert stopped the candidate: %v", err)
	}
	if len(*events) != 1 || !strings.Contains((*events)[0].Message, "HighErrorRate (critical, not stopping) on colour blue is firing") {
		t.Errorf("events %+v", *events)
	}
	app, _ := gatePromotion(t, prom, 0)
	if err := app.alertGate(context.Background(), "before the promotion"); !errors.Is(err, analysis.ErrAlertFiring) {
		t.Errorf("scope app: %v, want the stable colour's alert to stop it", err)
	}
	prom.alerts = append(prom.alerts, map[string]string{"alertname": "HighErrorRate", "severity": "critical", "namespace": "prod", "service": "fx-service", "color": "green"})
	if err := p.alertGate(context.Background(), "before 10 %"); !errors.Is(err, analysis.ErrAlertFiring) || !strings.Contains(err.Error(), "on colour green") || strings.Contains(err.Error(), "on colour blue") {
		t.Errorf("the candidate's alert: %v", err)
	}
}
