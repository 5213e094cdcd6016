package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// alertSeries is one series of ALERTS as Prometheus answers it.
func alertSeries(name, severity string) string {
	sev := ""
	if severity != "" {
		sev = fmt.Sprintf(`,"severity":%q`, severity)
	}
	return fmt.Sprintf(`{"metric":{"__name__":"ALERTS","alertname":%q,"alertstate":"firing","namespace":"production","service":"fx-platform-service"%s},"value":[1700000000,"1"]}`, name, sev)
}

func alertsAnswer(series ...string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(series, ",") + `]}}`
}

// alertsServer is a Prometheus that answers /api/v1/query with a fixed
// status and body and records the queries it was sent.
type alertsServer struct {
	URL     string
	mu      sync.Mutex
	queries []string
}

func newAlertsServer(t *testing.T, code int, body string) *alertsServer {
	t.Helper()
	s := &alertsServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		s.mu.Lock()
		s.queries = append(s.queries, r.Form.Get("query"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *alertsServer) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// refusedURL is an address nothing listens on any more.
func refusedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

const wantAlertsQuery = `ALERTS{alertstate="firing",namespace="production",service="fx-platform-service"}`

func TestAlertCheck(t *testing.T) {
	tests := []struct {
		name         string
		code         int
		body         string
		down         bool // connection refused
		wantStatus   Status
		wantCurrent  string
		wantWarnings []string
		wantErr      error  // Result.Err of an inconclusive result
		wantGate     error  // what Gate's error wraps; nil for none
		wantGateText string // what Gate's error names
	}{
		{name: "no alert firing", code: 200, body: alertsAnswer(), wantStatus: Pass, wantCurrent: "none firing"},
		{name: "a warning only", code: 200, body: alertsAnswer(alertSeries("HighLatency", "warning")),
			wantStatus: Pass, wantCurrent: "HighLatency (warning)", wantWarnings: []string{"HighLatency (warning)"}},
		{name: "no severity is a warning", code: 200, body: alertsAnswer(alertSeries("Watchdog", "")),
			wantStatus: Pass, wantCurrent: "Watchdog (no severity)", wantWarnings: []string{"Watchdog (no severity)"}},
		{name: "a critical and a warning", code: 200,
			body:       alertsAnswer(alertSeries("HighLatency", "warning"), alertSeries("DeploymentFailure", "critical")),
			wantStatus: Fail, wantCurrent: "DeploymentFailure (critical), HighLatency (warning)", wantWarnings: []string{"HighLatency (warning)"},
			wantGate: ErrAlertFiring, wantGateText: "critical alert firing: DeploymentFailure (critical)"},
		{name: "two critical, one of them twice", code: 200,
			body: alertsAnswer(alertSeries("HighLatency", "critical"), alertSeries("DeploymentFailure", "critical"),
				alertSeries("HighLatency", "critical")),
			wantStatus: Fail, wantCurrent: "DeploymentFailure (critical), HighLatency (critical) ×2",
			wantGate: ErrAlertFiring, wantGateText: "critical alert firing: DeploymentFailure (critical), HighLatency (critical) ×2"},
		{name: "Prometheus down", down: true, wantStatus: Inconclusive, wantErr: ErrUnavailable, wantGate: ErrInconclusive},
		{name: "Prometheus 500", code: 500, body: "internal error", wantStatus: Inconclusive, wantErr: ErrUnavailable, wantGate: ErrInconclusive},
		{name: "malformed answer", code: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":`,
			wantStatus: Inconclusive, wantErr: ErrUnavailable, wantGate: ErrInconclusive},
		{name: "a scalar", code: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`,
			wantStatus: Inconclusive, wantErr: ErrNotVector, wantGate: ErrInconclusive},
		{name: "refused query", code: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`,
			wantStatus: Inconclusive, wantErr: ErrBadQuery, wantGate: ErrInconclusive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var srv *alertsServer
			addr := refusedURL(t)
			if !tc.down {
				srv = newAlertsServer(t, tc.code, tc.body)
				addr = srv.URL
			}
			p, err := NewPrometheus(addr, WithQueryTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewAlertCheck(p, DefaultAlertMatchers, "")
			if err != nil {
				t.Fatal(err)
			}

			r := c.Evaluate(context.Background(), SampleVars)
			if r.Name != AlertCheckName || r.Query != wantAlertsQuery {
				t.Errorf("result %q with query %s, want %q with %s", r.Name, r.Query, AlertCheckName, wantAlertsQuery)
			}
			if r.Status != tc.wantStatus {
				t.Errorf("status %s (%v), want %s", r.Status, r.Err, tc.wantStatus)
			}
			if tc.wantErr != nil && !errors.Is(r.Err, tc.wantErr) {
				t.Errorf("error %v, want %v", r.Err, tc.wantErr)
			}
			if tc.wantCurrent != "" && r.Current() != tc.wantCurrent {
				t.Errorf("Current() = %q, want %q", r.Current(), tc.wantCurrent)
			}
			if got := alertStrings(r.Warnings()); strings.Join(got, ";") != strings.Join(tc.wantWarnings, ";") {
				t.Errorf("Warnings() = %q, want %q", got, tc.wantWarnings)
			}

			warnings, err := c.Gate(context.Background(), SampleVars)
			switch {
			case tc.wantGate == nil && err != nil:
				t.Errorf("Gate() error = %v, want none", err)
			case tc.wantGate != nil && !errors.Is(err, tc.wantGate):
				t.Errorf("Gate() error = %v, want %v", err, tc.wantGate)
			case tc.wantGateText != "" && err.Error() != tc.wantGateText:
				t.Errorf("Gate() error = %q, want %q", err, tc.wantGateText)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("Gate() error = %v, want it to wrap %v too", err, tc.wantErr)
			}
			if got := alertStrings(warnings); strings.Join(got, ";") != strings.Join(tc.wantWarnings, ";") {
				t.Errorf("Gate() warnings = %q, want %q", got, tc.wantWarnings)
			}
			if srv != nil {
				for _, q := range srv.sent() {
					if q != wantAlertsQuery {
						t.Errorf("sent %s, want %s", q, wantAlertsQuery)
					}
				}
			}
		})
	}
}

func alertStrings(alerts []Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.String())
	}
	return out
}

func TestAlertCheckFiringLabels(t *testing.T) {
	srv := newAlertsServer(t, 200, alertsAnswer(alertSeries("HighLatency", "warning")))
	p, err := NewPrometheus(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewAlertCheck(p, `namespace="{{.Namespace}}",pod=~"{{.Pods}}"`, "")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := c.Firing(context.Background(), SampleVars)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("Firing() = %v, %v; want one alert", alerts, err)
	}
	a := alerts[0]
	if a.Name != "HighLatency" || a.Severity != "warning" || a.Labels["service"] != "fx-platform-service" || a.Labels["__name__"] != "" {
		t.Errorf("alert %+v, want HighLatency, warning, its labels without __name__", a)
	}
	if got, want := srv.sent(), `ALERTS{alertstate="firing",namespace="production",pod=~"fx[.]platform-blue-5d4f8b9c7-[a-z0-9]+"}`; len(got) != 1 || got[0] != want {
		t.Errorf("sent %q, want %s", got, want)
	}
}

// The alert check runs with the other checks, at every measurement, and a
// critical alert fails the measurement.
func TestAnalysisRunsAlertCheck(t *testing.T) {
	srv := newAlertsServer(t, 200, alertsAnswer(alertSeries("DeploymentFailure", "critical")))
	p, err := NewPrometheus(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := NewAlertCheck(p, DefaultAlertMatchers, "")
	if err != nil {
		t.Fatal(err)
	}
	a := &Analysis{
		Provider: answers{`p95{deploy="fx.platform-blue"}`: 0.12},
		Checks:   mustChecks(t, "- name: p95\n  query: p95{deploy=\"{{.Deployment}}\"}\n  max: 500ms\n  unit: seconds\n"),
		Alerts:   alerts,
	}
	got := a.Run(context.Background(), SampleVars)
	if len(got) != 2 || got[0].Status != Pass || got[1].Name != AlertCheckName || got[1].Status != Fail {
		t.Fatalf("Run() = %+v, want p95 passing and %s failing", got, AlertCheckName)
	}
	err = Verdict(got)
	if !errors.Is(err, ErrCheckFailed) || !errors.Is(err, ErrAlertFiring) || !strings.Contains(err.Error(), "DeploymentFailure (critical)") {
		t.Errorf("Verdict() = %v, want a failed check naming DeploymentFailure (critical)", err)
	}
	if got[1].Threshold.String() != "≤ 0 critical alerts" {
		t.Errorf("target %q", got[1].Threshold)
	}
}

func TestCheckAlertMatchers(t *testing.T) {
	tests := []struct {
		matchers string
		want     string // in the error; "" for none
	}{
		{matchers: DefaultAlertMatchers},
		{matchers: `namespace="{{.Namespace}}",severity=~"critical|warning"`},
		{matchers: "team='fx',job=`fx-platform`"},
		{matchers: "", want: "is not a label matcher"},
		{matchers: `namespace`, want: `"namespace" is not a label matcher`},
		{matchers: `namespace="{{.Namespace}}",`, want: `"" is not a label matcher`},
		{matchers: `namespace="{{.Namespace}`, want: "template"},
		{matchers: `namespace="{{.Colour}}"`, want: "Colour"},
		{matchers: `service=~"fx-(platform"`, want: "missing closing )"},
		{matchers: `alertstate="pending"`, want: "alertstate, which the check sets itself"},
		{matchers: `namespace="x",__name__="up"`, want: "__name__, which the check sets itself"},
	}
	for _, tc := range tests {
		t.Run(tc.matchers, func(t *testing.T) {
			err := CheckAlertMatchers(tc.matchers)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckAlertMatchers() = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckAlertMatchers() = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestNewAlertCheckRefuses(t *testing.T) {
	p, err := NewPrometheus("http://127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAlertCheck(nil, DefaultAlertMatchers, ""); err == nil {
		t.Error("NewAlertCheck(nil, ...) accepted it")
	}
	if _, err := NewAlertCheck(p, `alertstate="firing"`, ""); err == nil {
		t.Error("NewAlertCheck(p, alertstate) accepted it")
	}
}

func FuzzCheckAlertMatchers(f *testing.F) {
	f.Add(DefaultAlertMatchers)
	f.Add(`namespace="{{.Namespace}}",pod=~"{{.Pods}}"`)
	f.Add("a=`x`,b!~'y|z'")
	f.Add(`a="b\"c",d!=""`)
	f.Fuzz(func(t *testing.T, matchers string) {
		if CheckAlertMatchers(matchers) != nil {
			return
		}
		c, err := NewAlertCheck(answersVector{}, matchers, "")
		if err != nil {
			t.Fatalf("accepted matchers %q make no check: %v", matchers, err)
		}
		q, err := c.Query(SampleVars)
		if err != nil || !strings.HasPrefix(q, `ALERTS{alertstate="firing",`) || !strings.HasSuffix(q, "}") {
			t.Fatalf("accepted matchers %q render %q, %v", matchers, q, err)
		}
	})
}

// answersVector is a VectorProvider with nothing firing.
type answersVector struct{}

func (answersVector) QueryVector(context.Context, string) ([]Sample, error) { return nil, nil }

// firing is a VectorProvider whose answer is a fixed set of alerts.
type firing []map[string]string

func (f firing) QueryVector(context.Context, string) ([]Sample, error) {
	out := make([]Sample, 0, len(f))
	for _, labels := range f {
		out = append(out, Sample{Labels: labels, Value: 1})
	}
	return out, nil
}

// A check built as a literal reads its matchers at the first query, and
// refuses bad ones there.
func TestAlertCheckLiteral(t *testing.T) {
	c := &AlertCheck{Provider: firing{}, Matchers: DefaultAlertMatchers}
	if q, err := c.Query(SampleVars); err != nil || q != wantAlertsQuery {
		t.Errorf("Query() = %s, %v; want %s", q, err, wantAlertsQuery)
	}
	bad := &AlertCheck{Provider: firing{}, Matchers: `alertstate="pending"`}
	if r := bad.Evaluate(context.Background(), SampleVars); r.Status != Inconclusive || !errors.Is(r.Err, ErrBadQuery) {
		t.Errorf("Evaluate() = %s (%v), want inconclusive, a bad query", r.Status, r.Err)
	}
}

func ExampleAlertCheck_Gate() {
	// promote would pass its Prometheus; a fixed answer shows the flow.
	prom := firing{
		{"alertname": "HighLatency", "severity": "warning", "namespace": "production"},
		{"alertname": "DeploymentFailure", "severity": "critical", "namespace": "production"},
	}
	c, _ := NewAlertCheck(prom, DefaultAlertMatchers, "")
	warnings, err := c.Gate(context.Background(), Vars{Namespace: "production", Service: "fx-platform-service"})
	fmt.Println(errors.Is(err, ErrAlertFiring), err)
	fmt.Println("warnings:", warnings[0])
	// Output:
	// true critical alert firing: DeploymentFailure (critical)
	// warnings: HighLatency (warning)
}

// alertOn is an ALERTS series with more labels, a JSON object's members.
func alertOn(name, severity, labels string) string {
	return fmt.Sprintf(`{"metric":{"__name__":"ALERTS","alertname":%q,"alertstate":"firing","severity":%q,"namespace":"production","service":"fx-platform-service",%s},"value":[1700000000,"1"]}`, name, severity, labels)
}

// The scope decides which critical alerts stop a rollout whose candidate
// is SampleVars.Color (blue): the app's all, or the candidate's and the
// colourless ones; the report names where each fires.
func TestAlertScope(t *testing.T) {
	body := alertsAnswer(
		alertOn("DeploymentFailure", "critical", `"deployment":"fx-platform-green","color":"green"`),
		alertOn("HighErrorRate", "critical", `"color":"blue"`),
		alertOn("Watchdog", "critical", `"team":"fx"`),
		alertOn("HighCPU", "warning", `"pod":"fx-platform-blue-5d4f8b9c7-x2k9p","color":"blue"`),
	)
	for _, tc := range []struct {
		scope        AlertScope
		wantGate     string
		wantWarnings []string
	}{
		{ScopeApp, "critical alert firing: DeploymentFailure (critical) on deployment fx-platform-green, HighErrorRate (critical) on colour blue, Watchdog (critical)",
			[]string{"HighCPU (warning) on pod fx-platform-blue-5d4f8b9c7-x2k9p"}},
		{"", "critical alert firing: DeploymentFailure (critical) on deployment fx-platform-green, HighErrorRate (critical) on colour blue, Watchdog (critical)",
			[]string{"HighCPU (warning) on pod fx-platform-blue-5d4f8b9c7-x2k9p"}},
		{ScopeCandidate, "critical alert firing: HighErrorRate (critical) on colour blue, Watchdog (critical)",
			[]string{"DeploymentFailure (critical, not stopping) on deployment fx-platform-green", "HighCPU (warning) on pod fx-platform-blue-5d4f8b9c7-x2k9p"}},
	} {
		t.Run(string(tc.scope), func(t *testing.T) {
			p, err := NewPrometheus(newAlertsServer(t, 200, body).URL)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewAlertCheck(p, DefaultAlertMatchers, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := c.Gate(context.Background(), SampleVars)
			if !errors.Is(err, ErrAlertFiring) || err.Error() != tc.wantGate {
				t.Errorf("Gate() error = %v, want %q", err, tc.wantGate)
			}
			if got := alertStrings(warnings); strings.Join(got, ";") != strings.Join(tc.wantWarnings, ";") {
				t.Errorf("Gate() warnings = %q, want %q", got, tc.wantWarnings)
			}
			if r := c.Evaluate(context.Background(), SampleVars); r.Value != float64(len(strings.Split(tc.wantGate, ", "))) {
				t.Errorf("Evaluate() = %v critical alerts, want those of %q", r.Value, tc.wantGate)
			}
		})
	}
	if _, err := NewAlertCheck(answersVector{}, DefaultAlertMatchers, "stable"); err == nil {
		t.Error("NewAlertCheck took the scope stable")
	}
}

// A report names five alerts, and counts the rest.
func TestAlertListCountsTheRest(t *testing.T) {
	var alerts []Alert
	for i := range 8 {
		alerts = append(alerts, Alert{Name: "HighCPU", Severity: "critical", Stops: true, Labels: map[string]string{"pod": fmt.Sprintf("p%d", i)}})
	}
	want := "HighCPU (critical) on pod p0, HighCPU (critical) on pod p1, HighCPU (critical) on pod p2, HighCPU (critical) on pod p3, HighCPU (critical) on pod p4, and 3 more"
	if got := alertList(alerts); got != want {
		t.Errorf("alertList() = %q, want %q", got, want)
	}
}

// Without a candidate colour (verify judges a Deployment, not a
// promotion's candidate) no colour is "the other one": the candidate scope
// lets no critical alert through, as the app scope.
func TestAlertScopeCandidateWithoutAColour(t *testing.T) {
	prom := firing{
		{"alertname": "HighErrorRate", "severity": "critical", "namespace": "production", "service": "fx-platform-service", "color": "green"},
		{"alertname": "HighLatency", "severity": "critical", "namespace": "production", "service": "fx-platform-service", "color": "blue"},
	}
	c, err := NewAlertCheck(prom, DefaultAlertMatchers, ScopeCandidate)
	if err != nil {
		t.Fatal(err)
	}
	v := SampleVars
	v.Color = ""
	_, err = c.Gate(context.Background(), v)
	want := "critical alert firing: HighErrorRate (critical) on colour green, HighLatency (critical) on colour blue"
	if !errors.Is(err, ErrAlertFiring) || err.Error() != want {
		t.Errorf("Gate() without a colour = %v, want %q", err, want)
	}
}
