package traffic_test

import (
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestNewRouter(t *testing.T) {
	cfg := traffic.Config{Client: fake.NewClientset(), Namespace: "prod", Service: "fx-platform-service", Deployment: "fx-platform"}
	tests := []struct {
		name     string
		router   string
		edit     func(*traffic.Config)
		weighted bool
		wantErr  string
	}{
		{name: "service", router: "service"},
		{name: "replicas", router: "replicas", weighted: true},
		{name: "nginx", router: "nginx", edit: func(c *traffic.Config) { c.Ingress = "canary" }, weighted: true},
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
			if r.Name() != tc.router || r.Weighted() != tc.weighted {
				t.Errorf("got %s weighted=%v, want %s weighted=%v", r.Name(), r.Weighted(), tc.router, tc.weighted)
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
