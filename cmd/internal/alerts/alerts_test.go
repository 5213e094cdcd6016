package alerts

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

var spec = &action.Spec{Name: "alerts-test", Inputs: append([]action.Input{{Name: "prometheus-url", Description: "p"}}, Inputs...)}

func TestParse(t *testing.T) {
	const prom = "http://prometheus.monitoring:9090"
	tests := []struct {
		name   string
		inputs map[string]string
		want   Group
	}{
		{name: "on by default with a Prometheus", inputs: map[string]string{"prometheus-url": prom}, want: Group{Matchers: analysis.DefaultAlertMatchers, Scope: analysis.ScopeApp}},
		{name: "empty matchers are the default", inputs: map[string]string{"prometheus-url": prom, "alert-matchers": ""}, want: Group{Matchers: analysis.DefaultAlertMatchers, Scope: analysis.ScopeApp}},
		{name: "own matchers", inputs: map[string]string{"prometheus-url": prom, "alert-matchers": `namespace="{{.Namespace}}",team="fx"`},
			want: Group{Matchers: `namespace="{{.Namespace}}",team="fx"`, Scope: analysis.ScopeApp}},
		{name: "the candidate's alerts", inputs: map[string]string{"prometheus-url": prom, "alert-scope": "candidate"},
			want: Group{Matchers: analysis.DefaultAlertMatchers, Scope: analysis.ScopeCandidate}},
		{name: "off without a Prometheus", inputs: map[string]string{}},
		{name: "turned off", inputs: map[string]string{"prometheus-url": prom, "alert-gate": "false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, tc.inputs)
			code := r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
				in := a.Inputs()
				got := Parse(in, in.String("prometheus-url"))
				if err := in.Err(); err != nil {
					return err
				}
				if got != tc.want || got.Enabled() != (tc.want.Matchers != "") {
					t.Errorf("Parse() = %+v (enabled %v), want %+v", got, got.Enabled(), tc.want)
				}
				if c, err := got.Check(fixed{}); (c != nil) != got.Enabled() || err != nil {
					t.Errorf("Check() = %v, %v; want a check only when enabled", c, err)
				}
				return nil
			})
			if code != 0 {
				t.Errorf("exit code %d, log:\n%s", code, r.Log.String())
			}
		})
	}
}

// fixed is a Prometheus with nothing firing.
type fixed struct{}

func (fixed) QueryVector(context.Context, string) ([]analysis.Sample, error) { return nil, nil }

// gateRun parses the group and, when the inputs are good, asks the gate
// once, as promote does before a promotion starts.
func gateRun(ctx context.Context, a *action.Action) error {
	in := a.Inputs()
	g := Parse(in, in.String("prometheus-url"))
	if err := in.Err(); err != nil {
		return err
	}
	p, err := analysis.NewPrometheus(in.String("prometheus-url"))
	if err != nil {
		return err
	}
	c, err := g.Check(p)
	if err != nil || c == nil {
		return err
	}
	warnings, err := c.Gate(ctx, analysis.Vars{Namespace: "production", Service: "fx-platform-service"})
	for _, w := range warnings {
		a.Warningf("alert firing", "%s", w)
	}
	return err
}

func TestGateAsksPrometheus(t *testing.T) {
	var got string
	prom := actiontest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.Form.Get("query")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[`+
			`{"metric":{"__name__":"ALERTS","alertname":"HighLatency","severity":"warning"},"value":[1700000000,"1"]}]}}`)
	}))
	r := actiontest.New(t, map[string]string{"prometheus-url": prom.URL, "alert-matchers": `namespace="{{.Namespace}}",service="{{.Service}}",team!="infra"`})
	if code := r.Run(context.Background(), spec, gateRun); code != 0 {
		t.Fatalf("exit code %d, log:\n%s", code, r.Log.String())
	}
	if want := `ALERTS{alertstate="firing",namespace="production",service="fx-platform-service",team!="infra"}`; got != want || prom.Requests() != 1 {
		t.Errorf("%d requests, the last with %s; want one with %s", prom.Requests(), got, want)
	}
	if w := r.Annotations("warning"); len(w) != 1 || w[0] != "HighLatency (warning)" {
		t.Errorf("warnings %q, want HighLatency (warning)", w)
	}
}

func TestBadInputs(t *testing.T) {
	prom := actiontest.NewServer(t, nil)
	actiontest.BadInputs{
		Spec:    spec,
		Run:     gateRun,
		Good:    map[string]string{"prometheus-url": prom.URL},
		Servers: []*actiontest.Server{prom},
		Check: func(t *testing.T, r *actiontest.Runner) {
			if errs := r.Annotations("error"); len(errs) == 1 && strings.Contains(errs[0], `input "alert-matchers"`) &&
				!strings.Contains(errs[0], analysis.DefaultAlertMatchers) {
				t.Errorf("error %q does not show what is allowed", errs[0])
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "not a matcher", Set: map[string]string{"alert-matchers": "production"}, Input: "alert-matchers"},
		{Name: "a trailing comma", Set: map[string]string{"alert-matchers": `namespace="{{.Namespace}}",`}, Input: "alert-matchers"},
		{Name: "a whole selector", Set: map[string]string{"alert-matchers": `{namespace="production"}`}, Input: "alert-matchers"},
		{Name: "an unknown template field", Set: map[string]string{"alert-matchers": `namespace="{{.Colour}}"`}, Input: "alert-matchers"},
		{Name: "a bad regexp", Set: map[string]string{"alert-matchers": `service=~"fx-(platform"`}, Input: "alert-matchers"},
		{Name: "alertstate", Set: map[string]string{"alert-matchers": `alertstate="pending"`}, Input: "alert-matchers"},
		{Name: "bad matchers with the gate off", Set: map[string]string{"alert-gate": "false", "alert-matchers": "production"}, Input: "alert-matchers"},
		{Name: "alert-gate not a bool", Set: map[string]string{"alert-gate": "sometimes"}, Input: "alert-gate"},
		{Name: "an unknown scope", Set: map[string]string{"alert-scope": "stable"}, Input: "alert-scope"},
	})
}
