package traffic_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// ref is one backendRef; weight < 0 leaves the weight out.
func ref(name string, weight int64) any {
	m := map[string]any{"name": name, "port": int64(80)}
	if weight >= 0 {
		m["weight"] = weight
	}
	return m
}

func rule(refs ...any) any { return map[string]any{"backendRefs": refs} }

func httpRoute(rules ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "fx", "namespace": ns},
		"spec":     map[string]any{"parentRefs": []any{map[string]any{"name": "gateway"}}, "rules": rules},
	}}
}

func gatewayRouter(t *testing.T, route *unstructured.Unstructured, colours ...colour) (traffic.Router, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	var objs []runtime.Object
	for _, c := range colours {
		objs = append(objs, c.objects()...)
	}
	var routes []runtime.Object
	if route != nil {
		routes = append(routes, route)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{traffic.HTTPRoutes: "HTTPRouteList"}, routes...)
	cfg := config(fake.NewClientset(objs...))
	cfg.Dynamic = dyn
	return newRouter(t, "gateway-api", cfg), dyn
}

func rulesOf(t *testing.T, dyn *dynamicfake.FakeDynamicClient) []any {
	t.Helper()
	u, err := dyn.Resource(traffic.HTTPRoutes).Namespace(ns).Get(context.Background(), "fx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	return rules
}

func TestGatewayRouterRoute(t *testing.T) {
	ready := func(c string) colour { return colour{name: c, replicas: 3, ready: 3} }
	both := []colour{ready("blue"), ready("green")}
	start := httpRoute(rule(ref("fx-blue", 100), ref("fx-green", 0)))
	tests := []struct {
		name     string
		route    *unstructured.Unstructured
		colours  []colour
		weight   int
		want     []any // the rules afterwards; nil: unchanged
		wantErr  string
		notAvail bool
	}{
		{name: "30 % to the canary", route: start, colours: both, weight: 30,
			want: []any{rule(ref("fx-blue", 70), ref("fx-green", 30))}},
		{name: "100 % to the canary", route: start, colours: both, weight: 100,
			want: []any{rule(ref("fx-blue", 0), ref("fx-green", 100))}},
		{name: "0 % back to the stable", route: httpRoute(rule(ref("fx-blue", 50), ref("fx-green", 50))), colours: both,
			want: []any{rule(ref("fx-blue", 100), ref("fx-green", 0))}},
		{name: "a missing weight is set", route: httpRoute(rule(ref("fx-green", -1), ref("fx-blue", -1))), colours: both, weight: 25,
			want: []any{rule(ref("fx-green", 25), ref("fx-blue", 75))}},
		{name: "every rule naming both, and only those", colours: both, weight: 10,
			route: httpRoute(rule(ref("fx-blue", 100), ref("fx-green", 0)), rule(ref("other", 1)),
				rule(ref("fx-green", 0), ref("fx-blue", 100), ref("mirror", 0))),
			want: []any{rule(ref("fx-blue", 90), ref("fx-green", 10)), rule(ref("other", 1)),
				rule(ref("fx-green", 10), ref("fx-blue", 90), ref("mirror", 0))}},
		{name: "never to an unavailable canary", route: start, colours: []colour{ready("blue"), {name: "green", replicas: 3, ready: 1}},
			weight: 10, notAvail: true, wantErr: "deployment prod/fx-green has 1/3 available replicas"},
		{name: "0 % needs an available stable", route: httpRoute(rule(ref("fx-blue", 50), ref("fx-green", 50))),
			colours: []colour{{name: "blue"}, ready("green")}, notAvail: true, wantErr: "deployment prod/fx-blue has 0/0"},
		{name: "0 % does not need the canary", route: httpRoute(rule(ref("fx-blue", 50), ref("fx-green", 50))),
			colours: []colour{ready("blue"), {name: "green"}}, want: []any{rule(ref("fx-blue", 100), ref("fx-green", 0))}},
		{name: "a rule naming only one colour changes nothing", colours: both, weight: 50,
			route:   httpRoute(rule(ref("fx-blue", 100), ref("fx-green", 0)), rule(ref("fx-blue", 1))),
			wantErr: `httproute "fx" rule 2 names only one of the Services "fx-blue" and "fx-green"`},
		{name: "no rule naming the colours", route: httpRoute(rule(ref("other", 1))), colours: both, weight: 50,
			wantErr: `httproute "fx" has no rule with backendRefs "fx-blue" and "fx-green"`},
		{name: "no rules at all", route: httpRoute(), colours: both, weight: 50, wantErr: "has no rule with backendRefs"},
		{name: "a missing route", colours: both, weight: 50, wantErr: `reading httproute "fx"`},
		{name: "a weight below 0", route: start, colours: both, weight: -1, wantErr: "weight -1 is not between 0 and 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, dyn := gatewayRouter(t, tc.route, tc.colours...)
			var before []any
			if tc.route != nil {
				before = rulesOf(t, dyn)
			}
			err := r.Route(context.Background(), "blue", "green", tc.weight)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.notAvail != errors.Is(err, traffic.ErrNotAvailable) {
				t.Errorf("errors.Is(%v, ErrNotAvailable) = %v, want %v", err, !tc.notAvail, tc.notAvail)
			}
			if tc.route == nil {
				return
			}
			want := tc.want
			if want == nil {
				want = before
			}
			if got := rulesOf(t, dyn); !reflect.DeepEqual(got, want) {
				t.Errorf("rules\n got %v\nwant %v", got, want)
			}
			if err != nil {
				return
			}
			if got, err := r.Weight(context.Background(), "blue", "green"); err != nil || got != tc.weight {
				t.Errorf("Weight = %d, %v; want %d", got, err, tc.weight)
			}
		})
	}
}

// Every weight Route sets sums to 100 with its complement and reads back
// exactly.
func TestGatewayRouterWeightsSumTo100(t *testing.T) {
	r, dyn := gatewayRouter(t, httpRoute(rule(ref("fx-blue", 100), ref("fx-green", 0))),
		colour{name: "blue", replicas: 2, ready: 2}, colour{name: "green", replicas: 2, ready: 2})
	ctx := context.Background()
	for w := range 101 {
		if err := r.Route(ctx, "blue", "green", w); err != nil {
			t.Fatal(err)
		}
		refs := rulesOf(t, dyn)[0].(map[string]any)["backendRefs"].([]any)
		sum := refs[0].(map[string]any)["weight"].(int64) + refs[1].(map[string]any)["weight"].(int64)
		if sum != 100 {
			t.Errorf("at %d: weights sum to %d", w, sum)
		}
		if got, err := r.Weight(ctx, "blue", "green"); err != nil || got != w {
			t.Errorf("at %d: Weight = %d, %v", w, got, err)
		}
	}
}

func TestGatewayRouterWeight(t *testing.T) {
	tests := []struct {
		name    string
		route   *unstructured.Unstructured
		want    int
		wantErr string
	}{
		{name: "the canary's share", route: httpRoute(rule(ref("fx-blue", 75), ref("fx-green", 25))), want: 25},
		{name: "weights need not sum to 100", route: httpRoute(rule(ref("fx-blue", 3), ref("fx-green", 1))), want: 25},
		{name: "a missing weight is 1, the Gateway API default", route: httpRoute(rule(ref("fx-blue", -1), ref("fx-green", -1))), want: 50},
		{name: "the first rule naming both decides", want: 10,
			route: httpRoute(rule(ref("other", 1)), rule(ref("fx-blue", 90), ref("fx-green", 10)), rule(ref("fx-blue", 0), ref("fx-green", 1)))},
		{name: "both weights 0", route: httpRoute(rule(ref("fx-blue", 0), ref("fx-green", 0))), wantErr: "both weights are 0"},
		{name: "only one colour named", route: httpRoute(rule(ref("fx-blue", 100))), wantErr: "has no rule with backendRefs"},
		{name: "a missing route", wantErr: `reading httproute "fx"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := gatewayRouter(t, tc.route)
			got, err := r.Weight(context.Background(), "blue", "green")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %d, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestGatewayRouterFollow: after a rollback switched the Service, Follow
// puts all of the route's traffic on that colour, whichever it is.
func TestGatewayRouterFollow(t *testing.T) {
	ready := func(c string) colour { return colour{name: c, replicas: 3, ready: 3} }
	for _, to := range []string{"blue", "green"} {
		t.Run(to, func(t *testing.T) {
			r, dyn := gatewayRouter(t, httpRoute(rule(ref("fx-blue", 40), ref("fx-green", 60))), ready("blue"), ready("green"))
			if err := r.(traffic.Follower).Follow(context.Background(), to); err != nil {
				t.Fatal(err)
			}
			want := map[string][]any{"blue": {rule(ref("fx-blue", 100), ref("fx-green", 0))}, "green": {rule(ref("fx-blue", 0), ref("fx-green", 100))}}[to]
			if got := rulesOf(t, dyn); !reflect.DeepEqual(got, want) {
				t.Errorf("rules after Follow(%s) = %v, want %v", to, got, want)
			}
		})
	}
}
