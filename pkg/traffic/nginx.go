package traffic

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ingress-nginx canary annotations.
const (
	AnnotationCanary       = "nginx.ingress.kubernetes.io/canary"
	AnnotationCanaryWeight = "nginx.ingress.kubernetes.io/canary-weight"
)

// nginxRouter drives a canary Ingress: its backend is the canary colour's
// Service (<service>-<colour>) and its canary-weight the share of traffic.
// The main Ingress keeps pointing at the live Service, whose selector is
// switched when the promotion ends.
type nginxRouter struct{ cfg Config }

func newNginxRouter(cfg Config) (Router, error) {
	if cfg.Ingress == "" {
		return nil, errors.New("traffic router \"nginx\" needs the canary Ingress's name (input ingress)")
	}
	return &nginxRouter{cfg}, nil
}

func (r *nginxRouter) Name() string   { return "nginx" }
func (r *nginxRouter) SplitsTraffic() {}

// Follow puts all of the router's traffic on colour.
func (r *nginxRouter) Follow(ctx context.Context, colour string) error {
	return r.Route(ctx, colour, Other(colour), 0)
}

func (r *nginxRouter) Route(ctx context.Context, stable, canary string, weight int) error {
	if err := checkWeight(weight); err != nil {
		return err
	}
	if weight > 0 {
		if err := r.cfg.requireAvailable(ctx, canary); err != nil {
			return err
		}
	}
	ingresses := r.cfg.Client.NetworkingV1().Ingresses(r.cfg.Namespace)
	ing, err := ingresses.Get(ctx, r.cfg.Ingress, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading ingress %q: %w", r.cfg.Ingress, err)
	}
	backends := serviceBackends(ing)
	if len(backends) == 0 {
		return fmt.Errorf("ingress %q has no Service backend to point at %q", r.cfg.Ingress, r.cfg.ColourService(canary))
	}
	if ing.Annotations == nil {
		ing.Annotations = map[string]string{}
	}
	ing.Annotations[AnnotationCanary] = "true"
	ing.Annotations[AnnotationCanaryWeight] = strconv.Itoa(weight)
	for _, b := range backends {
		b.Name = r.cfg.ColourService(canary)
	}
	if _, err := ingresses.Update(ctx, ing, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("setting canary-weight %d on ingress %q: %w", weight, r.cfg.Ingress, err)
	}
	return nil
}

func (r *nginxRouter) Weight(ctx context.Context, stable, canary string) (int, error) {
	ing, err := r.cfg.Client.NetworkingV1().Ingresses(r.cfg.Namespace).Get(ctx, r.cfg.Ingress, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("reading ingress %q: %w", r.cfg.Ingress, err)
	}
	if ing.Annotations[AnnotationCanary] != "true" {
		return 0, nil
	}
	w, err := strconv.Atoi(ing.Annotations[AnnotationCanaryWeight])
	if err != nil {
		return 0, fmt.Errorf("ingress %q: canary-weight %q is not a number", r.cfg.Ingress, ing.Annotations[AnnotationCanaryWeight])
	}
	if w == 0 {
		return 0, nil
	}
	// The weight goes to the Ingress's backend, which is the canary's
	// Service only while a promotion runs: the last Route of a finished
	// one leaves it on the old colour.
	backends := serviceBackends(ing)
	if len(backends) == 0 {
		return 0, fmt.Errorf("ingress %q has no Service backend", r.cfg.Ingress)
	}
	onCanary, onStable := false, false
	for _, b := range backends {
		switch b.Name {
		case r.cfg.ColourService(canary):
			onCanary = true
		case r.cfg.ColourService(stable):
			onStable = true
		default:
			return 0, fmt.Errorf("ingress %q sends its canary-weight to Service %q, neither %q nor %q",
				r.cfg.Ingress, b.Name, r.cfg.ColourService(stable), r.cfg.ColourService(canary))
		}
	}
	if onCanary && onStable {
		return 0, fmt.Errorf("ingress %q sends its canary-weight to both %q and %q", r.cfg.Ingress, r.cfg.ColourService(stable), r.cfg.ColourService(canary))
	}
	if onStable {
		return 0, nil
	}
	return w, nil
}

// serviceBackends lists the Ingress's Service backends, the default one
// first, for reading or editing in place.
func serviceBackends(ing *networkingv1.Ingress) []*networkingv1.IngressServiceBackend {
	var out []*networkingv1.IngressServiceBackend
	if ing.Spec.DefaultBackend != nil && ing.Spec.DefaultBackend.Service != nil {
		out = append(out, ing.Spec.DefaultBackend.Service)
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, p.Backend.Service)
			}
		}
	}
	return out
}
