package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

func TestName(t *testing.T) {
	spec := &action.Spec{Name: "names", Inputs: []action.Input{
		{Name: "namespace", Description: "n"}, {Name: "service", Description: "s"},
		{Name: "deployment", Description: "d"}, {Name: "color-label", Description: "l"},
	}}
	long := strings.Repeat("a", 248) // 253 characters with "-blue", 254 with "-green"
	tests := []struct {
		name   string
		inputs map[string]string
		want   string // the error, "" for none
	}{
		{name: "valid", inputs: map[string]string{"namespace": "fx-prod", "service": "fx-platform", "deployment": "fx.platform", "color-label": "app.kubernetes.io/version"}},
		{name: "not set", inputs: map[string]string{}},
		{name: "namespace with capitals", inputs: map[string]string{"namespace": "Prod_1"}, want: `input "namespace": "Prod_1" is not a valid namespace`},
		{name: "namespace with a dot", inputs: map[string]string{"namespace": "fx.prod"}, want: `input "namespace": "fx.prod" is not a valid namespace`},
		{name: "Service starting with a digit", inputs: map[string]string{"service": "1fx"}, want: `input "service": "1fx" is not a valid Service name`},
		{name: "Deployment with an underscore", inputs: map[string]string{"deployment": "fx_platform"}, want: `input "deployment": "fx_platform" makes the Deployment name "fx_platform-green", which is not valid`},
		{name: "colour too long", inputs: map[string]string{"deployment": long}, want: `input "deployment": "` + long + `" makes the Deployment name "` + long + `-green", which is not valid`},
		{name: "label key with a space", inputs: map[string]string{"color-label": "a b"}, want: `input "color-label": "a b" is not a valid label key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, tc.inputs)
			r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
				in := a.Inputs()
				got := []string{
					Name(in, "namespace", NamespaceName, ""),
					Name(in, "service", ServiceName, ""),
					Name(in, "deployment", DeploymentName, "-green"),
					Name(in, "color-label", LabelKey, ""),
				}
				err := in.Err()
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("error = %v, want none", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("error = %v, want one containing %q", err, tc.want)
				}
				for i, name := range []string{"namespace", "service", "deployment", "color-label"} {
					if got[i] != tc.inputs[name] {
						t.Errorf("%s = %q, want the input's %q", name, got[i], tc.inputs[name])
					}
				}
				return nil
			})
		})
	}
}
