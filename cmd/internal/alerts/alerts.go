// Package alerts is the firing-alerts gate's input group, declared the
// same way by promote and verify: the inputs alert-gate, alert-matchers
// and alert-scope, read into an analysis.AlertCheck and checked without a
// network call.
package alerts

import (
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
)

// scopes are analysis.AlertScopes as the input's allowed values.
func scopes() []string {
	out := make([]string, len(analysis.AlertScopes))
	for i, s := range analysis.AlertScopes {
		out[i] = string(s)
	}
	return out
}

// Inputs are the group's inputs, added to an action's spec next to
// prometheus-url.
var Inputs = []action.Input{
	{Name: "alert-gate", Default: "true", Kind: action.KindBool, Description: "With prometheus-url, firing alerts matching alert-matchers gate the run: they are asked before a promotion starts, before each step and at every measurement; a critical one (severity=\"critical\") aborts promote and fails verify, others are reported as warnings, and an unreachable Prometheus counts as inconclusive. false turns the gate off; without prometheus-url there is no gate."},
	{Name: "alert-matchers", Default: analysis.DefaultAlertMatchers, Description: "Label matchers of the app's alerts, a template like analysis-checks' queries: the gate asks ALERTS{alertstate=\"firing\",<alert-matchers>} (default: the app's namespace and service labels)."},
	{Name: "alert-scope", Default: string(analysis.ScopeApp), Kind: action.KindEnum, Allowed: scopes(), Description: "Which critical alerts stop the run. app: every one alert-matchers selects, the stable colour's too, so that no release starts or goes on while the service is in trouble. candidate: a critical alert labelled color=<the other colour> (the rules of the monitoring action carry the label) is only a warning, for a release that fixes the stable colour's incident; the candidate's alerts, and those without a color label, still stop it."},
}

// Group is the parsed group: no gate when Matchers is empty.
type Group struct {
	// Matchers are the alert matchers, a template over analysis.Vars.
	Matchers string
	Scope    analysis.AlertScope
}

// Parse reads the group. The matchers are checked whether or not the gate
// is on, so that a bad value is refused before it matters; the gate is on
// when alert-gate is true and prometheusURL (the action's prometheus-url)
// is set, there being nothing to ask without it.
func Parse(in *action.Inputs, prometheusURL string) Group {
	on := in.Bool("alert-gate")
	matchers := in.String("alert-matchers")
	scope := analysis.AlertScope(in.Enum("alert-scope"))
	if err := analysis.CheckAlertMatchers(matchers); err != nil {
		in.Fail("alert-matchers", "%v: want PromQL label matchers such as %s, a template over {{.Namespace}}, {{.Deployment}}, {{.Color}}, {{.Service}}, {{.Pods}}, "+
			"not on alertstate or __name__ (the gate selects firing ALERTS itself)", err, analysis.DefaultAlertMatchers)
		return Group{}
	}
	if !on || prometheusURL == "" {
		return Group{}
	}
	return Group{Matchers: matchers, Scope: scope}
}

// Enabled reports whether the gate is on.
func (g Group) Enabled() bool { return g.Matchers != "" }

// Check is the gate's alert check against p (the action's Prometheus),
// for analysis.Analysis.Alerts and for AlertCheck.Gate; nil when the gate
// is off.
func (g Group) Check(p analysis.VectorProvider) (*analysis.AlertCheck, error) {
	if !g.Enabled() {
		return nil, nil
	}
	return analysis.NewAlertCheck(p, g.Matchers, g.Scope)
}
