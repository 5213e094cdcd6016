package traffic_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// replicasCluster is blue and green at the given replicas, all ready, the
// live Service selecting live ("" for both), and a controller that settles
// every scale at once. It records the fewest ready endpoints the live
// Service had after any change.
func replicasCluster(t *testing.T, live string, blue, green int32, broken map[string]bool) (*fake.Clientset, *int) {
	t.Helper()
	objs := []runtime.Object{liveService(live)}
	objs = append(objs, colour{name: "blue", replicas: blue, ready: blue}.objects()...)
	objs = append(objs, colour{name: "green", replicas: green, ready: green}.objects()...)
	client := fake.NewClientset(objs...)
	fewest := int(blue + green)
	controller(client, broken, func(tr k8stesting.ObjectTracker) {
		n, err := endpoints(tr)
		if err != nil {
			t.Error(err)
		}
		fewest = min(fewest, n)
	})
	return client, &fewest
}

func TestReplicasRouterRoute(t *testing.T) {
	tests := []struct {
		name        string
		live        string
		blue, green int32 // blue is the stable colour, green the canary
		broken      map[string]bool
		weight      int
		wantBlue    int32
		wantGreen   int32
		wantLive    string // the selector's colour afterwards, "" for both
		wantWeight  int    // what Weight reads back
		wantErr     string
		notAvail    bool
	}{
		{name: "25 % of 4", live: "blue", blue: 4, weight: 25, wantBlue: 3, wantGreen: 1, wantWeight: 25},
		{name: "10 % of 4 still gets one canary, and Weight says 25", live: "blue", blue: 4, weight: 10,
			wantBlue: 3, wantGreen: 1, wantWeight: 25},
		{name: "50 % of 3 rounds to the canary", live: "blue", blue: 3, weight: 50, wantBlue: 1, wantGreen: 2, wantWeight: 67},
		{name: "100 % leaves the stable at zero", blue: 1, green: 3, weight: 100, wantBlue: 0, wantGreen: 4, wantWeight: 100},
		{name: "0 % returns everything to the stable and pins it", blue: 2, green: 2, weight: 0,
			wantBlue: 4, wantGreen: 0, wantLive: "blue", wantWeight: 0},
		{name: "0 % when the canary has none only pins the stable", blue: 4, weight: 0, wantBlue: 4, wantLive: "blue"},
		{name: "a smaller weight shrinks the canary after growing the stable", blue: 1, green: 3, weight: 25,
			wantBlue: 3, wantGreen: 1, wantWeight: 25},
		{name: "neither colour has replicas", live: "blue", weight: 50, wantLive: "blue", notAvail: true,
			wantErr: `neither "fx-blue" nor "fx-green" has replicas`},
		{name: "a weight above 100 changes nothing", live: "blue", blue: 4, weight: 101, wantBlue: 4, wantLive: "blue",
			wantErr: "weight 101 is not between 0 and 100"},
		{name: "a canary that never gets ready takes no traffic", live: "blue", blue: 4, broken: map[string]bool{"green": true},
			weight: 50, wantBlue: 4, wantGreen: 2, wantLive: "blue", notAvail: true, wantErr: "deployment not available: prod/fx-green"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, fewest := replicasCluster(t, tc.live, tc.blue, tc.green, tc.broken)
			cfg := config(client)
			cfg.Timeout = 300 * time.Millisecond
			r := newRouter(t, "replicas", cfg)
			ctx := context.Background()
			err := r.Route(ctx, "blue", "green", tc.weight)
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
			if b, g := replicasOf(t, client, "blue"), replicasOf(t, client, "green"); b != tc.wantBlue || g != tc.wantGreen {
				t.Errorf("blue %d, green %d replicas; want %d, %d", b, g, tc.wantBlue, tc.wantGreen)
			}
			want := map[string]string{"app": "fx"}
			if tc.wantLive != "" {
				want["version"] = tc.wantLive
			}
			if got := selector(t, client); !maps.Equal(got, want) {
				t.Errorf("selector %v, want %v", got, want)
			}
			if *fewest < int(tc.blue+tc.green) {
				t.Errorf("the live Service fell to %d ready endpoints, below the %d it started with", *fewest, tc.blue+tc.green)
			}
			if err != nil {
				return
			}
			if got, err := r.Weight(ctx, "blue", "green"); err != nil || got != tc.wantWeight {
				t.Errorf("Weight = %d, %v; want %d", got, err, tc.wantWeight)
			}
		})
	}
}

// A whole promotion's steps and its return: the replicas follow Split, the
// endpoints never drop, and Weight reads back the ready share.
func TestReplicasRouterSteps(t *testing.T) {
	const total = 20
	client, fewest := replicasCluster(t, "blue", total, 0, nil)
	r := newRouter(t, "replicas", config(client))
	ctx := context.Background()
	for _, w := range []int{10, 25, 50, 100, 50, 0} {
		if err := r.Route(ctx, "blue", "green", w); err != nil {
			t.Fatalf("Route %d: %v", w, err)
		}
		c, s := traffic.Split(total, w)
		if b, g := replicasOf(t, client, "blue"), replicasOf(t, client, "green"); b != s || g != c {
			t.Errorf("at %d %%: blue %d, green %d; want %d, %d", w, b, g, s, c)
		}
		if got, err := r.Weight(ctx, "blue", "green"); err != nil || got != w {
			t.Errorf("at %d %%: Weight = %d, %v", w, got, err)
		}
	}
	if *fewest < total {
		t.Errorf("the live Service fell to %d ready endpoints of %d", *fewest, total)
	}
	if got := selector(t, client)["version"]; got != "blue" {
		t.Errorf("after returning to 0 the Service selects %q, want blue", got)
	}
}

func TestReplicasRouterWeight(t *testing.T) {
	tests := []struct {
		name     string
		objs     []runtime.Object
		want     int
		wantErr  string
		notAvail bool
	}{
		{name: "the share of ready replicas", objs: append(colour{name: "blue", replicas: 3, ready: 3}.objects(),
			colour{name: "green", replicas: 1, ready: 1}.objects()...), want: 25},
		{name: "unready canary pods do not count", objs: append(colour{name: "blue", replicas: 3, ready: 3}.objects(),
			colour{name: "green", replicas: 3, ready: 1}.objects()...), want: 25},
		{name: "no ready replicas at all", objs: append(colour{name: "blue", replicas: 3}.objects(),
			colour{name: "green"}.objects()...), notAvail: true, wantErr: "no ready replicas in either colour"},
		{name: "a missing deployment", objs: colour{name: "blue", replicas: 3, ready: 3}.objects(),
			wantErr: `reading deployment "fx-green"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t, "replicas", config(fake.NewClientset(tc.objs...)))
			got, err := r.Weight(context.Background(), "blue", "green")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.notAvail != errors.Is(err, traffic.ErrNotAvailable) {
					t.Fatalf("got %d, %v; want an error containing %q (ErrNotAvailable: %v)", got, err, tc.wantErr, tc.notAvail)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		total            int32
		steps            []int
		bad, reachableTo []int
	}{
		{3, []int{10, 25, 50, 100}, []int{10, 25, 50}, []int{33, 67}},
		{3, []int{34, 67, 100}, nil, []int{33, 67}},
		{4, []int{25, 50, 100}, nil, []int{25, 50, 75}},
		{10, []int{10, 25, 50, 100}, []int{25}, nil},
		{20, []int{10, 25, 50, 100}, nil, nil},
		{40, []int{1, 99, 100}, nil, nil},   // 2.5 and 97.5: within the tolerance
		{1, []int{50, 100}, []int{50}, nil}, // one replica: only 0 or 100
	} {
		bad, reachable := traffic.Unreachable(tc.total, tc.steps)
		if !slices.Equal(bad, tc.bad) {
			t.Errorf("Unreachable(%d, %v) = %v, want %v", tc.total, tc.steps, bad, tc.bad)
		}
		if tc.reachableTo != nil && !slices.Equal(reachable, tc.reachableTo) {
			t.Errorf("Unreachable(%d, …) reaches %v, want %v", tc.total, reachable, tc.reachableTo)
		}
	}
}
