package rollout

import (
	"strings"
	"testing"
)

// patchTemplate replaces old with new in the chart's template file (whose
// name ends in file), failing the test when old is not there.
func patchTemplate(t *testing.T, ch *Chart, file, old, new string) {
	t.Helper()
	for _, f := range ch.Chart.Templates {
		if strings.HasSuffix(f.Name, file) {
			if !strings.Contains(string(f.Data), old) {
				t.Fatalf("%s has no %q", f.Name, old)
			}
			f.Data = []byte(strings.ReplaceAll(string(f.Data), old, new))
			return
		}
	}
	t.Fatalf("no template %s", file)
}

// A colour's release that renders an object under a name the other
// colour's release renders too (here the Secret, not suffixed with the
// colour) passes the check; with --take-ownership the candidate's release
// then adopts and rewrites the live colour's object while it serves.
func TestChartColoursShareNoObject(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service")
	patchTemplate(t, ch, "templates/secret.yaml", `{{ include "fx-platform.fullname" . }}-config`, `{{ include "fx-platform.name" . }}-config`)
	patchTemplate(t, ch, "templates/deployment.yaml", `{{ include "fx-platform.fullname" . }}-config`, `{{ include "fx-platform.name" . }}-config`)
	if err := ch.check(chartApp, "", chartImage); err == nil {
		t.Error("both colours' releases render Secret fx-platform-config, and the check passed")
	}
}

// The shared release is checked with blue live only: a live Service that
// selects blue whatever rollout.live says passes, and the first promote
// that renders the shared release with green live points production at
// blue (scaled to zero, or the old release).
func TestChartLiveServiceFollowsLive(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service")
	patchTemplate(t, ch, "templates/service.yaml", `{{ $label }}: {{ .Values.rollout.live }}`, `{{ $label }}: blue`)
	if err := ch.check(chartApp, "", chartImage); err == nil {
		t.Error("the live Service selects blue with rollout.live=green, and the check passed")
	}
}

// A colour's HPA that scales another Deployment (here the other colour)
// passes the check: green's release would autoscale blue.
func TestChartColourHPAScalesItsOwn(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service")
	patchTemplate(t, ch, "templates/hpa.yaml", "    name: {{ include \"fx-platform.fullname\" . }}\n", "    name: {{ include \"fx-platform.name\" . }}-blue\n")
	if err := ch.check(chartApp, "", chartImage); err == nil {
		t.Error("green's HPA scales fx-platform-blue, and the check passed")
	}
}

// With monitoring on, the shared release alone renders the PrometheusRule,
// the ServiceMonitor and the dashboard's ConfigMap, and the chart keeps
// the contract; rendered in the colours' releases as well, they would be
// objects of two releases, which the check refuses.
func TestChartMonitoringKeepsTheContract(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service", "monitoring.enabled=true")
	if err := ch.check(chartApp, "", chartImage); err != nil {
		t.Fatal(err)
	}
	shared, err := ch.render(chartApp, PartShared, map[string]any{ValueLive: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{{"PrometheusRule", "fx-platform-deployment-alerts"}, {"ServiceMonitor", "fx-platform-service"}, {"ConfigMap", "fx-platform-service-dashboard"}} {
		if shared.Find(want[0], want[1]) == nil {
			t.Errorf("the shared release renders no %s %s", want[0], want[1])
		}
	}

	ch = referenceChart(t, "service.name=fx-platform-service", "monitoring.enabled=true")
	patchTemplate(t, ch, "templates/_monitoring.tpl", `(eq (include "fx-platform.part" .) "shared")`, `true`)
	if err := ch.check(chartApp, "", chartImage); err == nil || !strings.Contains(err.Error(), "both render") {
		t.Errorf("both colours' releases render the PrometheusRule: check = %v, want a refusal", err)
	}
}
