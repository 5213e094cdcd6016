package availability

import (
	"math"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

func TestParse(t *testing.T) {
	spec := &action.Spec{Name: "t", Inputs: Inputs}
	tests := []struct {
		name       string
		inputs     map[string]string
		defaultURL string
		health     string
		want       Probe
		wantErr    string
	}{
		{name: "defaults", want: Probe{Rate: 10, Min: 0.999}},
		{name: "environment-url's health path by default", defaultURL: "https://fx.example.com", want: Probe{URL: "https://fx.example.com/api/health", Rate: 10, Min: 0.999}},
		{name: "environment-url with a path as it is", defaultURL: "https://fx.example.com/status", want: Probe{URL: "https://fx.example.com/status", Rate: 10, Min: 0.999}},
		{name: "a health path with a query", defaultURL: "https://fx.example.com", health: "/api/health?full=1", want: Probe{URL: "https://fx.example.com/api/health?full=1", Rate: 10, Min: 0.999}},
		{name: "none turns it off", inputs: map[string]string{"availability-url": "none"}, defaultURL: "https://fx.example.com", want: Probe{Rate: 10, Min: 0.999}},
		{name: "its own URL", inputs: map[string]string{"availability-url": "http://10.96.0.10/api/strategy", "availability-rate": "200", "min-availability": "99.99%"},
			want: Probe{URL: "http://10.96.0.10/api/strategy", Rate: 200, Min: 0.9999}},
		{name: "not a URL", inputs: map[string]string{"availability-url": "fx.example.com"}, wantErr: `input "availability-url"`},
		{name: "credentials refused", inputs: map[string]string{"availability-url": "http://u:p@127.0.0.1/api/health"}, wantErr: `input "availability-url"`},
		{name: "environment-url with credentials is not probed", defaultURL: "https://u:p@fx.example.com", wantErr: `input "environment-url"`},
		{name: "a fraction is not a percentage", inputs: map[string]string{"min-availability": "0.999"}, wantErr: `input "min-availability"`},
		{name: "rate zero", inputs: map[string]string{"availability-rate": "0"}, wantErr: `input "availability-rate"`},
		{name: "rate too high", inputs: map[string]string{"availability-rate": "1001"}, wantErr: `input "availability-rate"`},
		{name: "minimum above 100 %", inputs: map[string]string{"min-availability": "100.1"}, wantErr: `input "min-availability"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for k, v := range tc.inputs {
				args = append(args, "--"+k, v)
			}
			a, err := action.New(spec, action.WithArgs(args), action.WithGetenv(func(string) string { return "" }))
			if err != nil {
				t.Fatal(err)
			}
			in := a.Inputs()
			if tc.health == "" {
				tc.health = "/api/health"
			}
			got := Parse(in, tc.defaultURL, tc.health)
			err = in.Err()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to name %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.URL != tc.want.URL || got.Rate != tc.want.Rate || math.Abs(got.Min-tc.want.Min) > 1e-9 {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
