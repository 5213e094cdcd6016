package traffic

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/kube"
)

// serviceRouter switches the live Service's colour selector: all or
// nothing, as the strategy document's kubectl patch does.
type serviceRouter struct{ cfg Config }

func newServiceRouter(cfg Config) (Router, error) { return &serviceRouter{cfg}, nil }

func (r *serviceRouter) Name() string { return "service" }

func (r *serviceRouter) Route(ctx context.Context, stable, canary string, weight int) error {
	if weight != 0 && weight != 100 {
		return fmt.Errorf("the service router switches all traffic at once: weight %d is neither 0 nor 100 (use strategy blue-green, or a weighted router)", weight)
	}
	target := stable
	if weight == 100 {
		target = canary
	}
	return SwitchSelector(ctx, r.cfg, target)
}

func (r *serviceRouter) Weight(ctx context.Context, stable, canary string) (int, error) {
	svc, err := r.cfg.Client.CoreV1().Services(r.cfg.Namespace).Get(ctx, r.cfg.Service, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("reading service %q: %w", r.cfg.Service, err)
	}
	switch svc.Spec.Selector[r.cfg.ColorLabel] {
	case canary:
		return 100, nil
	case stable:
		return 0, nil
	}
	return 0, fmt.Errorf("service %q selects %s=%q, neither %q nor %q", r.cfg.Service, r.cfg.ColorLabel, svc.Spec.Selector[r.cfg.ColorLabel], stable, canary)
}

// SwitchSelector points the live Service's colour selector at colour, after
// checking that colour's Deployment is fully available. Every router ends a
// promotion, an abort and a rollback with it, so the live Service always
// names the active colour.
func SwitchSelector(ctx context.Context, cfg Config, colour string) error {
	cfg.App = cfg.App.WithDefaults()
	if err := cfg.requireAvailable(ctx, colour); err != nil {
		return err
	}
	return kube.SetSelectorLabel(ctx, cfg.Client, cfg.Namespace, cfg.Service, cfg.ColorLabel, colour)
}
