package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

const goodImage = "127.0.0.1:5000/fx-platform@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestBadInput: every bad input is refused before the first request to the
// cluster, in one error that names the input.
func TestBadInput(t *testing.T) {
	cluster := actiontest.NewTLSServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good: map[string]string{"image": goodImage, "command": "/app/sample-app migrate up", "deployment": "fx-platform",
			"namespace": "production", "kubeconfig": cluster.Kubeconfig()},
		Servers: []*actiontest.Server{cluster},
	}.Test(t, []actiontest.BadInput{
		{Name: "no image", Set: map[string]string{"image": ""}, Input: "image"},
		{Name: "an image by tag", Set: map[string]string{"image": "127.0.0.1:5000/fx-platform:v2"}, Input: "image"},
		{Name: "no command", Set: map[string]string{"command": ""}, Input: "command"},
		{Name: "shell quoting", Set: map[string]string{"command": `psql -c "SELECT 1"`}, Input: "command"},
		{Name: "a command that is not JSON", Set: map[string]string{"command": `["psql", `}, Input: "command"},
		{Name: "no deployment", Set: map[string]string{"deployment": ""}, Input: "deployment"},
		{Name: "a deployment name with capitals", Set: map[string]string{"deployment": "FX"}, Input: "deployment"},
		{Name: "a bad namespace", Set: map[string]string{"namespace": "prod_1"}, Input: "namespace"},
		{Name: "an unknown template-from", Set: map[string]string{"template-from": "helm"}, Input: "template-from"},
		{Name: "template-from chart without a chart", Set: map[string]string{"template-from": "chart"}, Input: "chart"},
		{Name: "a chart with template-from live", Set: map[string]string{"template-from": "live", "chart": "../../testdata/charts/fx-platform"}, Input: "chart"},
		{Name: "values with template-from none", Set: map[string]string{"template-from": "none", "set": "replicas=3"}, Input: "set"},
		{Name: "an unknown chart-part", Set: map[string]string{"chart": "../../testdata/charts/fx-platform", "chart-part": "green"}, Input: "chart-part"},
		{Name: "a chart that is not there", Set: map[string]string{"chart": "../../testdata/charts/nope"}, Input: "chart"},
		{Name: "a release name too long", Set: map[string]string{"chart": "../../testdata/charts/fx-platform", "release": strings.Repeat("a", 50)}, Input: "release"},
		{Name: "a container name that no pod can hold", Set: map[string]string{"container": "Fx_Platform"}, Input: "container"},
		{Name: "env without a value", Set: map[string]string{"env": "LOG_LEVEL"}, Input: "env"},
		{Name: "a zero timeout", Set: map[string]string{"timeout": "0s"}, Input: "timeout"},
		{Name: "a timeout that is not a duration", Set: map[string]string{"timeout": "soon"}, Input: "timeout"},
		{Name: "a kubeconfig that is not one", Set: map[string]string{"kubeconfig": "not: [a kubeconfig"}, Input: "kubeconfig"},
	})
}

// TestTemplateFirstRelease: before production's first release there is no
// live Service (promote installs blue); the migration runs in the pod
// rendered from the chart, as promote will install it, instead of failing
// on the missing Service.
func TestTemplateFirstRelease(t *testing.T) {
	cluster := actiontest.NewTLSServer(t, nil)
	r := actiontest.New(t, map[string]string{"image": goodImage, "command": "/app/sample-app migrate up", "deployment": "fx-platform",
		"namespace": "production", "service": "fx-platform", "chart": "../../testdata/charts/fx-platform", "chart-part": "colour",
		"kubeconfig": cluster.Kubeconfig()})
	var source string
	code := r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
		in, err := parseInputs(a)
		if err != nil {
			return err
		}
		tmpl, src, _, err := template(ctx, a, fake.NewClientset(), in)
		if err != nil {
			return err
		}
		if tmpl == nil {
			return errors.New("no template")
		}
		source = src
		return nil
	})
	if code != 0 || !strings.Contains(source, "blue") {
		t.Errorf("exit %d, template %q; want the chart's blue pod\n%s", code, source, r.Log.String())
	}
}
