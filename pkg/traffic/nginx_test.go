package traffic_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// canaryIngress is the canary Ingress fx-canary: a default backend and one
// path per host, all on the Service backend, with the given annotations.
func canaryIngress(backend string, annotations map[string]string) *networkingv1.Ingress {
	b := func() *networkingv1.IngressServiceBackend {
		return &networkingv1.IngressServiceBackend{Name: backend, Port: networkingv1.ServiceBackendPort{Number: 80}}
	}
	prefix := networkingv1.PathTypePrefix
	rule := func(host string) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: b()}}}}}}
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "fx-canary", Namespace: ns, Annotations: annotations},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: b()},
			Rules: []networkingv1.IngressRule{rule("fx.example"), rule("www.fx.example"), {Host: "no-http.example"}}},
	}
}

func canaryAt(backend, weight string) *networkingv1.Ingress {
	return canaryIngress(backend, map[string]string{traffic.AnnotationCanary: "true", traffic.AnnotationCanaryWeight: weight})
}

func readIngress(t *testing.T, client *fake.Clientset) *networkingv1.Ingress {
	t.Helper()
	ing, err := client.NetworkingV1().Ingresses(ns).Get(context.Background(), "fx-canary", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ing
}

func TestNginxRouterRoute(t *testing.T) {
	ready := func(c string) colour { return colour{name: c, replicas: 3, ready: 3} }
	both := []colour{ready("blue"), ready("green")}
	tests := []struct {
		name     string
		ing      *networkingv1.Ingress
		colours  []colour
		weight   int
		want     *networkingv1.Ingress // nil: unchanged
		wantErr  string
		notAvail bool
	}{
		{name: "30 % to the canary", ing: canaryAt("fx-green", "0"), colours: both, weight: 30, want: canaryAt("fx-green", "30")},
		{name: "an Ingress without annotations becomes a canary", ing: canaryIngress("fx-green", nil), colours: both, weight: 10,
			want: canaryAt("fx-green", "10")},
		{name: "every backend moves to the canary colour", ing: canaryAt("fx-blue", "0"), colours: both, weight: 25,
			want: canaryAt("fx-green", "25")},
		{name: "other annotations are kept", colours: both, weight: 50,
			ing:  canaryIngress("fx-green", map[string]string{"team": "fx", traffic.AnnotationCanary: "false"}),
			want: canaryIngress("fx-green", map[string]string{"team": "fx", traffic.AnnotationCanary: "true", traffic.AnnotationCanaryWeight: "50"})},
		{name: "0 % needs no available canary", ing: canaryAt("fx-green", "50"), colours: []colour{ready("blue"), {name: "green"}},
			want: canaryAt("fx-green", "0")},
		{name: "never to an unavailable canary", ing: canaryAt("fx-green", "0"), colours: []colour{ready("blue"), {name: "green", replicas: 3}},
			weight: 10, notAvail: true, wantErr: "deployment prod/fx-green has 0/3 available replicas"},
		{name: "a missing canary deployment", ing: canaryAt("fx-green", "0"), colours: []colour{ready("blue")}, weight: 10,
			wantErr: `reading deployment "fx-green"`},
		{name: "a missing ingress", colours: both, weight: 10, wantErr: `reading ingress "fx-canary"`},
		{name: "no Service backend to point at the canary", colours: both, weight: 10,
			ing: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "fx-canary", Namespace: ns}}, wantErr: `ingress "fx-canary" has no Service backend`},
		{name: "a weight above 100", ing: canaryAt("fx-green", "0"), colours: both, weight: 101, wantErr: "weight 101 is not between 0 and 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.ing != nil {
				objs = append(objs, tc.ing)
			}
			for _, c := range tc.colours {
				objs = append(objs, c.objects()...)
			}
			client := fake.NewClientset(objs...)
			r := newRouter(t, "nginx", config(client))
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
			if tc.ing == nil {
				return
			}
			want := tc.want
			if want == nil {
				want = tc.ing
			}
			got := readIngress(t, client)
			if !reflect.DeepEqual(got.Annotations, want.Annotations) || !reflect.DeepEqual(got.Spec, want.Spec) {
				t.Errorf("ingress\n got %v %+v\nwant %v %+v", got.Annotations, got.Spec, want.Annotations, want.Spec)
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

func TestNginxRouterWeight(t *testing.T) {
	tests := []struct {
		name    string
		ing     *networkingv1.Ingress
		want    int
		wantErr string
	}{
		{name: "the canary-weight", ing: canaryAt("fx-green", "40"), want: 40},
		{name: "not a canary yet is 0", ing: canaryIngress("fx-green", nil), want: 0},
		{name: "canary off is 0", ing: canaryIngress("fx-green", map[string]string{traffic.AnnotationCanary: "false",
			traffic.AnnotationCanaryWeight: "40"}), want: 0},
		// After a promotion the canary Ingress points at the old colour:
		// its weight is the stable's, and the canary has none of it.
		{name: "a weight on the stable colour's Service is not the canary's", ing: canaryAt("fx-blue", "40"), want: 0},
		{name: "a backend of neither colour", ing: canaryAt("other", "40"),
			wantErr: `ingress "fx-canary" sends its canary-weight to Service "other", neither "fx-blue" nor "fx-green"`},
		{name: "a weight split between both colours' Services", ing: func() *networkingv1.Ingress {
			ing := canaryAt("fx-green", "40")
			ing.Spec.Rules[1].HTTP.Paths[0].Backend.Service.Name = "fx-blue"
			return ing
		}(), wantErr: `ingress "fx-canary" sends its canary-weight to both "fx-blue" and "fx-green"`},
		{name: "weight 0 on any backend is 0", ing: canaryAt("other", "0"), want: 0},
		{name: "no Service backend", ing: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "fx-canary", Namespace: ns,
			Annotations: map[string]string{traffic.AnnotationCanary: "true", traffic.AnnotationCanaryWeight: "40"}}},
			wantErr: `ingress "fx-canary" has no Service backend`},
		{name: "a weight that is not a number", ing: canaryAt("fx-green", "ten"), wantErr: `canary-weight "ten" is not a number`},
		{name: "no weight", ing: canaryIngress("fx-green", map[string]string{traffic.AnnotationCanary: "true"}),
			wantErr: `canary-weight "" is not a number`},
		{name: "a missing ingress", wantErr: `reading ingress "fx-canary"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.ing != nil {
				objs = append(objs, tc.ing)
			}
			r := newRouter(t, "nginx", config(fake.NewClientset(objs...)))
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
