package traffic_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

func TestServiceRouterRoute(t *testing.T) {
	ready := func(c string) colour { return colour{name: c, replicas: 3, ready: 3} }
	tests := []struct {
		name     string
		live     string // the colour the Service selects
		colours  []colour
		noSvc    bool
		weight   int
		want     string // the selected colour afterwards
		wantErr  string
		notAvail bool // the error wraps ErrNotAvailable
	}{
		{name: "100 switches to the canary", live: "blue", colours: []colour{ready("blue"), ready("green")}, weight: 100, want: "green"},
		{name: "0 switches back to the stable", live: "green", colours: []colour{ready("blue"), ready("green")}, weight: 0, want: "blue"},
		{name: "switching to the colour already live changes nothing", live: "green", colours: []colour{ready("blue"), ready("green")}, weight: 100, want: "green"},
		{name: "a weight between is refused", live: "blue", colours: []colour{ready("blue"), ready("green")}, weight: 50, want: "blue",
			wantErr: "weight 50 is neither 0 nor 100"},
		{name: "never to a colour with unready pods", live: "blue", colours: []colour{ready("blue"), {name: "green", replicas: 3, ready: 2}},
			weight: 100, want: "blue", notAvail: true, wantErr: `deployment prod/fx-green has 2/3 available replicas`},
		{name: "never to a colour scaled to zero", live: "blue", colours: []colour{ready("blue"), {name: "green"}},
			weight: 100, want: "blue", notAvail: true, wantErr: "has 0/0 available replicas"},
		{name: "never to a colour whose ready pods are going away", live: "blue",
			colours: []colour{ready("blue"), {name: "green", replicas: 3, ready: 3, terminating: true}},
			weight:  100, want: "blue", notAvail: true, wantErr: "has 0 ready pods of 3"},
		{name: "a missing deployment is an error", live: "blue", colours: []colour{ready("blue")}, weight: 100, want: "blue",
			wantErr: `reading deployment "fx-green"`},
		{name: "a missing service is an error", noSvc: true, colours: []colour{ready("blue"), ready("green")}, weight: 100,
			wantErr: "setting the selector version=green on service prod/fx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if !tc.noSvc {
				objs = append(objs, liveService(tc.live))
			}
			for _, c := range tc.colours {
				objs = append(objs, c.objects()...)
			}
			client := fake.NewClientset(objs...)
			r := newRouter(t, "service", config(client))
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
			if tc.noSvc {
				return
			}
			want := map[string]string{"app": "fx", "version": tc.want}
			if got := selector(t, client); !maps.Equal(got, want) {
				t.Errorf("selector %v, want %v", got, want)
			}
		})
	}
}

func TestServiceRouterWeight(t *testing.T) {
	tests := []struct {
		name    string
		svc     runtime.Object
		want    int
		wantErr string
	}{
		{name: "selecting the canary is 100", svc: liveService("green"), want: 100},
		{name: "selecting the stable is 0", svc: liveService("blue"), want: 0},
		{name: "selecting another colour is an error", svc: liveService("red"), wantErr: `service "fx" selects version="red", neither "blue" nor "green"`},
		{name: "selecting both colours is an error", svc: liveService(""), wantErr: `selects version=""`},
		{name: "a missing service is an error", wantErr: `reading service "fx"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.svc != nil {
				objs = append(objs, tc.svc)
			}
			r := newRouter(t, "service", config(fake.NewClientset(objs...)))
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

// SwitchSelector keeps the Service's other selector keys and sets the
// colour label the config names, defaulting to "version".
func TestSwitchSelectorKeepsOtherKeys(t *testing.T) {
	svc := liveService("blue")
	svc.Spec.Selector["tier"] = "web"
	objs := append([]runtime.Object{svc}, colour{name: "green", replicas: 2, ready: 2}.objects()...)
	client := fake.NewClientset(objs...)
	cfg := config(client)
	cfg.ColorLabel = ""
	if err := traffic.SwitchSelector(context.Background(), cfg, "green"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app": "fx", "tier": "web", "version": "green"}
	if got := selector(t, client); !maps.Equal(got, want) {
		t.Errorf("selector %v, want %v", got, want)
	}
}
