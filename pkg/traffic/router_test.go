package traffic_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestNewRouter(t *testing.T) {
	cfg := traffic.Config{Client: fake.NewClientset(), App: traffic.App{Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"}}
	// The capabilities each router has, as its optional interfaces say.
	type caps struct{ splits, scales, follows bool }
	tests := []struct {
		name    string
		router  string
		edit    func(*traffic.Config)
		want    caps
		wantErr string
	}{
		{name: "service", router: "service"},
		{name: "replicas", router: "replicas", want: caps{splits: true, scales: true}},
		{name: "nginx", router: "nginx", edit: func(c *traffic.Config) { c.Ingress = "canary" }, want: caps{splits: true, follows: true}},
		{name: "gateway-api", router: "gateway-api", edit: func(c *traffic.Config) {
			c.HTTPRoute, c.Dynamic = "fx", dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
		}, want: caps{splits: true, follows: true}},
		{name: "unknown name is an error, not a fallback", router: "istio", wantErr: `unknown traffic router "istio" (known: gateway-api, nginx, replicas, service)`},
		{name: "gateway-api needs a route", router: "gateway-api", wantErr: "needs an HTTPRoute name"},
		{name: "nginx needs an ingress", router: "nginx", wantErr: "needs the canary Ingress"},
		{name: "service is required", router: "service", edit: func(c *traffic.Config) { c.Service = "" }, wantErr: "are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.edit != nil {
				tc.edit(&c)
			}
			r, err := traffic.NewRouter(tc.router, c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, splits := r.(traffic.Splitter)
			_, scales := r.(traffic.Scaler)
			_, follows := r.(traffic.Follower)
			if got := (caps{splits, scales, follows}); r.Name() != tc.router || got != tc.want {
				t.Errorf("got %s %+v, want %s %+v", r.Name(), got, tc.router, tc.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name           string
		total          int32
		weight         int
		canary, stable int32
	}{
		{"nothing on the canary", 20, 0, 0, 20},
		{"10 % of 20", 20, 10, 2, 18},
		{"25 % of 20", 20, 25, 5, 15},
		{"all on the canary", 20, 100, 20, 0},
		{"10 % of 3 still gets one canary", 3, 10, 1, 2},
		{"90 % of 3 keeps one stable", 3, 90, 2, 1},
		{"50 % of 1 rounds to the canary", 1, 50, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, s := traffic.Split(tc.total, tc.weight)
			if c != tc.canary || s != tc.stable {
				t.Errorf("Split(%d, %d) = %d, %d; want %d, %d", tc.total, tc.weight, c, s, tc.canary, tc.stable)
			}
		})
	}
}
