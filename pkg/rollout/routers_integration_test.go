//go:build integration

package rollout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// colourServices makes the per-colour Services the gateway-api and nginx
// routers point at.
func colourServices(t *testing.T, a *app) {
	t.Helper()
	for _, colour := range []string{"blue", "green"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-service-" + colour},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "fx-platform", "version": colour},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(3000)}},
			},
		}
		if _, err := a.client.CoreV1().Services(a.ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func httpRoute(t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "fx-platform"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "gateway"}},
			"rules": []any{map[string]any{"backendRefs": []any{
				map[string]any{"name": "fx-platform-service-blue", "port": int64(80), "weight": int64(100)},
				map[string]any{"name": "fx-platform-service-green", "port": int64(80), "weight": int64(0)},
			}}},
		},
	}}
	if _, err := dyn.Resource(traffic.HTTPRoutes).Namespace(ns).Create(context.Background(), route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func canaryIngress(t *testing.T, a *app) {
	t.Helper()
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-canary", Annotations: map[string]string{traffic.AnnotationCanary: "true", traffic.AnnotationCanaryWeight: "0"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "api.fxplatform.test", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "fx-platform-service-green", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
		}}}},
	}
	if _, err := a.client.NetworkingV1().Ingresses(a.ns).Create(context.Background(), ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestCanaryWeightedRouters promotes 10/25/50/100 through an HTTPRoute's
// backendRef weights and an NGINX canary Ingress: the weight read back from
// the object at each step is the one asked for, and at the end the live
// Service selects green and the router gives the old colour nothing.
func TestCanaryWeightedRouters(t *testing.T) {
	const n = 3
	s := sandbox.Get(t)
	rest, err := s.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rest)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		router string
		setUp  func(t *testing.T, a *app)
		final  func(t *testing.T, a *app) string // what the router object says at the end
		want   string
	}{
		{router: "gateway-api", setUp: func(t *testing.T, a *app) { httpRoute(t, dyn, a.ns) },
			final: func(t *testing.T, a *app) string {
				r, err := dyn.Resource(traffic.HTTPRoutes).Namespace(a.ns).Get(context.Background(), "fx-platform", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
				refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
				var out []string
				for _, ref := range refs {
					m := ref.(map[string]any)
					out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
				}
				return strings.Join(out, ",")
			},
			want: "fx-platform-service-blue=0,fx-platform-service-green=100"},
		{router: "nginx", setUp: canaryIngress,
			final: func(t *testing.T, a *app) string {
				ing, err := a.client.NetworkingV1().Ingresses(a.ns).Get(context.Background(), "fx-platform-canary", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return ing.Annotations[traffic.AnnotationCanaryWeight] + "% to " + ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name
			},
			want: "0% to fx-platform-service-blue"},
	}
	for _, tc := range tests {
		t.Run(tc.router, func(t *testing.T) {
			a := newApp(t, n)
			colourServices(t, a)
			tc.setUp(t, a)
			target := a.target(t, tc.router)
			target.Dynamic, target.HTTPRoute, target.Ingress = dyn, "fx-platform", "fx-platform-canary"
			w := watchEndpoints(t, a, n)
			res, err := rollout.Promote(context.Background(), rollout.Config{Target: target, Image: imageV2, Strategy: rollout.Canary,
				Steps: []int{10, 25, 50, 100}, Pauses: []time.Duration{0}})
			if err != nil {
				t.Fatalf("Promote: %v", err)
			}
			a.waitEndpoints(t, "green", n)
			w.check(t)
			checkWeights(t, res, "10=10,25=25,50=50,100=100")
			if got := tc.final(t, a); got != tc.want {
				t.Errorf("%s at the end: %s, want %s", tc.router, got, tc.want)
			}
			if sel := a.service(t).Spec.Selector["version"]; sel != "green" {
				t.Errorf("live selector version=%s, want green", sel)
			}

			t.Run("rollback moves the router's traffic too", func(t *testing.T) {
				rb := a.target(t, "service")
				rb.Dynamic = dyn
				res, err := rollout.Rollback(context.Background(), rollout.RollbackConfig{Target: rb})
				if err != nil || res.ActiveColor != "blue" {
					t.Fatalf("rollback: %+v, %v", res, err)
				}
				a.waitEndpoints(t, "blue", n)
				router, err := traffic.NewRouter(tc.router, traffic.Config{App: target.App, Client: a.client, Dynamic: dyn,
					HTTPRoute: target.HTTPRoute, Ingress: target.Ingress})
				if err != nil {
					t.Fatal(err)
				}
				w, err := router.Weight(context.Background(), "blue", "green")
				if err != nil || w != 0 {
					t.Errorf("weight on green after the rollback: %d, %v; want 0", w, err)
				}
			})
		})
	}
}
