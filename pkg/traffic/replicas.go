package traffic

import (
	"context"
	"fmt"
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/kube"
)

// replicasRouter has the live Service select both colours and sets the
// weight as the share of replicas: of N replicas in all, round(N*w/100) are
// the canary's. It scales up before it scales down, and waits for the
// colour it grew to be available, so the ready endpoints never drop.
type replicasRouter struct{ cfg Config }

func newReplicasRouter(cfg Config) (Router, error) { return &replicasRouter{cfg}, nil }

func (r *replicasRouter) Name() string    { return "replicas" }
func (r *replicasRouter) SplitsTraffic()  {}
func (r *replicasRouter) ScalesReplicas() {}

// Split returns the canary and stable replica counts for weight w of total.
// A weight above 0 gets at least one canary replica, one below 100 keeps
// at least one stable replica.
func Split(total int32, w int) (canary, stable int32) {
	canary = int32(math.Round(float64(total) * float64(w) / 100))
	if w > 0 && canary == 0 {
		canary = 1
	}
	if w < 100 && canary == total && total > 1 {
		canary = total - 1
	}
	return canary, total - canary
}

// WeightTolerance is how far, in points, a weight the replicas router
// reaches may be from the one asked for.
const WeightTolerance = 2.5

// Unreachable returns the steps the replicas router cannot meet within
// WeightTolerance with total replicas in all (its weights are multiples of
// 100/total), and the weights it can reach.
func Unreachable(total int32, steps []int) (bad []int, reachable []int) {
	for k := int32(1); k < total; k++ {
		reachable = append(reachable, int(math.Round(float64(k)*100/float64(total))))
	}
	for _, w := range steps {
		if w >= 100 || total <= 0 {
			continue
		}
		c, _ := Split(total, w)
		if math.Abs(float64(c)*100/float64(total)-float64(w)) > WeightTolerance {
			bad = append(bad, w)
		}
	}
	return bad, reachable
}

func (r *replicasRouter) Route(ctx context.Context, stable, canary string, weight int) error {
	if err := checkWeight(weight); err != nil {
		return err
	}
	cs, ss, err := r.counts(ctx, stable, canary)
	if err != nil {
		return err
	}
	total := cs + ss
	if total == 0 {
		return fmt.Errorf("%w: neither %q nor %q has replicas", ErrNotAvailable, r.cfg.DeploymentName(stable), r.cfg.DeploymentName(canary))
	}
	wantC, wantS := Split(total, weight)
	grow, growTo, shrink, shrinkTo := canary, wantC, stable, wantS
	if wantC < cs {
		grow, growTo, shrink, shrinkTo = stable, wantS, canary, wantC
	}
	if growTo > 0 {
		if err := kube.Scale(ctx, r.cfg.Client, r.cfg.Namespace, r.cfg.DeploymentName(grow), growTo); err != nil {
			return err
		}
		if _, err := kube.WaitAvailable(ctx, r.cfg.Client, r.cfg.Namespace, r.cfg.DeploymentName(grow), r.cfg.Timeout, 0); err != nil {
			return fmt.Errorf("%w: %w", ErrNotAvailable, err)
		}
	}
	if weight > 0 {
		// From now on both colours serve: the selector must not pin one.
		if err := kube.SetSelectorLabel(ctx, r.cfg.Client, r.cfg.Namespace, r.cfg.Service, r.cfg.ColorLabel, ""); err != nil {
			return err
		}
	} else if err := SwitchSelector(ctx, r.cfg, stable); err != nil {
		return err
	}
	if err := kube.Scale(ctx, r.cfg.Client, r.cfg.Namespace, r.cfg.DeploymentName(shrink), shrinkTo); err != nil {
		return err
	}
	if weight == 0 {
		// The selector names the stable colour alone: the canary's pods,
		// terminating, serve nothing new, and need not be waited for.
		return nil
	}
	// Return when the ready replicas show the weight.
	return kube.WaitScaled(ctx, r.cfg.Client, r.cfg.Namespace, r.cfg.DeploymentName(shrink), r.cfg.Timeout)
}

// counts returns the desired replicas of both colours.
func (r *replicasRouter) counts(ctx context.Context, stable, canary string) (c, s int32, err error) {
	for _, x := range []struct {
		colour string
		n      *int32
	}{{canary, &c}, {stable, &s}} {
		d, err := r.cfg.Client.AppsV1().Deployments(r.cfg.Namespace).Get(ctx, r.cfg.DeploymentName(x.colour), metav1.GetOptions{})
		if err != nil {
			return 0, 0, fmt.Errorf("reading deployment %q: %w", r.cfg.DeploymentName(x.colour), err)
		}
		*x.n = kube.DesiredReplicas(d)
	}
	return c, s, nil
}

// Weight is the canary's share of the ready replicas of both colours.
func (r *replicasRouter) Weight(ctx context.Context, stable, canary string) (int, error) {
	var ready [2]int32
	for i, colour := range []string{canary, stable} {
		d, err := r.cfg.Client.AppsV1().Deployments(r.cfg.Namespace).Get(ctx, r.cfg.DeploymentName(colour), metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("reading deployment %q: %w", r.cfg.DeploymentName(colour), err)
		}
		ready[i] = d.Status.ReadyReplicas
	}
	if ready[0]+ready[1] == 0 {
		return 0, fmt.Errorf("%w: no ready replicas in either colour", ErrNotAvailable)
	}
	return int(math.Round(100 * float64(ready[0]) / float64(ready[0]+ready[1]))), nil
}
