package traffic

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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

func (r *nginxRouter) Name() string         { return "nginx" }
func (r *nginxRouter) Weighted() bool       { return true }
func (r *nginxRouter) ScalesReplicas() bool { return false }

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
	if ing.Annotations == nil {
		ing.Annotations = map[string]string{}
	}
	ing.Annotations[AnnotationCanary] = "true"
	ing.Annotations[AnnotationCanaryWeight] = strconv.Itoa(weight)
	svc := r.cfg.ColourService(canary)
	if ing.Spec.DefaultBackend != nil && ing.Spec.DefaultBackend.Service != nil {
		ing.Spec.DefaultBackend.Service.Name = svc
	}
	for i := range ing.Spec.Rules {
		if ing.Spec.Rules[i].HTTP == nil {
			continue
		}
		for j := range ing.Spec.Rules[i].HTTP.Paths {
			if b := ing.Spec.Rules[i].HTTP.Paths[j].Backend.Service; b != nil {
				b.Name = svc
			}
		}
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
	return w, nil
}
