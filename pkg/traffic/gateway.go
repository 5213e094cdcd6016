package traffic

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// HTTPRoutes is the Gateway API resource the gateway-api router edits.
var HTTPRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// gatewayRouter sets the weights of an HTTPRoute's two backendRefs, one
// Service per colour (<service>-blue, <service>-green), in every rule that
// names them.
type gatewayRouter struct{ cfg Config }

func newGatewayRouter(cfg Config) (Router, error) {
	if cfg.HTTPRoute == "" {
		return nil, errors.New("traffic router \"gateway-api\" needs an HTTPRoute name (input httproute)")
	}
	if cfg.Dynamic == nil {
		return nil, errors.New("traffic router \"gateway-api\" needs a dynamic client")
	}
	return &gatewayRouter{cfg}, nil
}

func (r *gatewayRouter) Name() string   { return "gateway-api" }
func (r *gatewayRouter) SplitsTraffic() {}

// Follow puts all of the router's traffic on colour.
func (r *gatewayRouter) Follow(ctx context.Context, colour string) error {
	return r.Route(ctx, colour, Other(colour), 0)
}

func (r *gatewayRouter) Route(ctx context.Context, stable, canary string, weight int) error {
	if err := checkWeight(weight); err != nil {
		return err
	}
	to := stable
	if weight > 0 {
		to = canary
	}
	if err := r.cfg.requireAvailable(ctx, to); err != nil {
		return err
	}
	routes := r.cfg.Dynamic.Resource(HTTPRoutes).Namespace(r.cfg.Namespace)
	route, err := routes.Get(ctx, r.cfg.HTTPRoute, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading httproute %q: %w", r.cfg.HTTPRoute, err)
	}
	want := map[string]int64{r.cfg.ColourService(canary): int64(weight), r.cfg.ColourService(stable): int64(100 - weight)}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	found := 0
	for i, rule := range rules {
		m, ok := rule.(map[string]any)
		if !ok {
			continue
		}
		refs, _, _ := unstructured.NestedSlice(m, "backendRefs")
		seen := map[string]bool{}
		for j, ref := range refs {
			rm, ok := ref.(map[string]any)
			if !ok {
				continue
			}
			name, _ := rm["name"].(string)
			if w, ok := want[name]; ok {
				rm["weight"] = w
				refs[j] = rm
				seen[name] = true
			}
		}
		if len(seen) == 0 {
			continue
		}
		if len(seen) != 2 {
			return fmt.Errorf("httproute %q rule %d names only one of the Services %q and %q; give it both as backendRefs",
				r.cfg.HTTPRoute, i+1, r.cfg.ColourService(stable), r.cfg.ColourService(canary))
		}
		m["backendRefs"] = refs
		rules[i] = m
		found++
	}
	if found == 0 {
		return fmt.Errorf("httproute %q has no rule with backendRefs %q and %q", r.cfg.HTTPRoute, r.cfg.ColourService(stable), r.cfg.ColourService(canary))
	}
	if err := unstructured.SetNestedSlice(route.Object, rules, "spec", "rules"); err != nil {
		return err
	}
	if _, err := routes.Update(ctx, route, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("setting weights on httproute %q: %w", r.cfg.HTTPRoute, err)
	}
	return nil
}

// Weight reads the canary's share in the first rule that names both Services.
func (r *gatewayRouter) Weight(ctx context.Context, stable, canary string) (int, error) {
	route, err := r.cfg.Dynamic.Resource(HTTPRoutes).Namespace(r.cfg.Namespace).Get(ctx, r.cfg.HTTPRoute, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("reading httproute %q: %w", r.cfg.HTTPRoute, err)
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, rule := range rules {
		m, _ := rule.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(m, "backendRefs")
		var c, s int64 = -1, -1
		for _, ref := range refs {
			rm, _ := ref.(map[string]any)
			w, ok, _ := unstructured.NestedInt64(rm, "weight")
			if !ok {
				w = 1 // the Gateway API default
			}
			switch rm["name"] {
			case r.cfg.ColourService(canary):
				c = w
			case r.cfg.ColourService(stable):
				s = w
			}
		}
		if c >= 0 && s >= 0 {
			if c+s == 0 {
				return 0, fmt.Errorf("httproute %q: both weights are 0", r.cfg.HTTPRoute)
			}
			return int(100 * c / (c + s)), nil
		}
	}
	return 0, fmt.Errorf("httproute %q has no rule with backendRefs %q and %q", r.cfg.HTTPRoute, r.cfg.ColourService(stable), r.cfg.ColourService(canary))
}
