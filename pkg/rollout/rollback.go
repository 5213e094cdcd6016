package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// RollbackConfig is a rollback: To is "previous", a colour, or an image
// pinned by digest (put into the idle colour and switched to without
// analysis).
type RollbackConfig struct {
	Target
	To        string
	Container string
	Reason    string
	// Replicas, when above 0, is the least the restored colour runs
	// before the switch (the strategy's emergency "scale the previous
	// version to 5"); it never lowers a colour that has more.
	Replicas int32
	// Preempt asks a promotion that holds the Lease to stop (it returns
	// all traffic to its stable colour and releases the Lease within
	// seconds) instead of waiting for it to finish.
	Preempt bool
}

// RollbackResult is what a rollback did.
type RollbackResult struct {
	ActiveColor string
	Image       string
	From        string // the colour that was live
	// FromImage is the image that was live (of a half-done promotion: its
	// candidate's), what the rollback undid.
	FromImage string
	// Warm is true when the target colour still had its replicas.
	Warm bool
	// Switched is when the live Service's selector was switched.
	Switched  time.Time
	Started   time.Time
	Duration  time.Duration
	Unchanged bool
	// Preempted names the promotion this rollback asked to stop, and
	// Stopped says what became of it: its traffic back on the stable
	// colour, which this rollback then kept.
	Preempted string
	Stopped   string
}

// Rollback makes an earlier colour or image live again. Its Lease wait
// takes over a promote whose holder stopped renewing; the live Service
// switches only once the target colour is fully available.
func Rollback(ctx context.Context, cfg RollbackConfig) (*RollbackResult, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	res := &RollbackResult{Started: time.Now()}
	ctx, stop := cfg.withHardStop(ctx)
	defer stop()
	if cfg.Preempt {
		holder, err := kube.RequestRelease(ctx, cfg.Client, cfg.Namespace, cfg.leaseName(), cfg.Owner, cfg.Reason)
		if err != nil {
			return nil, err
		}
		if holder != "" {
			res.Preempted = holder
			cfg.emit("preempt", -1, "asked %q, which holds lease %s, to stop", holder, cfg.leaseName())
		}
	}
	h, err := cfg.lockAndWatch(ctx)
	if err != nil {
		return nil, err
	}
	defer h.release()
	err = rollback(h.ctx, &cfg, res)
	res.Duration = time.Since(res.Started)
	return res, err
}

func rollback(ctx context.Context, cfg *RollbackConfig, res *RollbackResult) error {
	c := &cfg.Target
	svc, err := c.Client.CoreV1().Services(c.Namespace).Get(ctx, c.Service, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading service %q: %w", c.Service, err)
	}
	st := ReadState(svc)
	if err := st.checkApp(c.App); err != nil {
		return err
	}
	active, err := c.activeColour(ctx, svc, st)
	if err != nil {
		return err
	}
	res.From = active
	target, image := "", ""
	switch to := cfg.To; {
	case (to == "" || to == "previous") && res.Preempted != "" && st.Phase == PhaseAborted && st.Owner == res.Preempted:
		// The promotion this rollback stopped has put its traffic back on
		// its stable colour: that is what "previous" means now, not the
		// colour before it.
		target = active
		res.From = st.CandidateColor
		res.Stopped = fmt.Sprintf("the promotion of %s to %s stopped; traffic is back on %s", st.CandidateImage, st.CandidateColor, active)
	case (to == "" || to == "previous") && st.Phase == PhaseProgressing:
		// A promotion was cut short: undo it, back to its stable colour.
		target = active
		res.From = st.CandidateColor
	case to == "" || to == "previous":
		target = st.PreviousColor
		if target == "" {
			target = Other(active)
		}
	case to == "blue" || to == "green":
		target = to
	case strings.Contains(to, "@sha256:"):
		target, image = Other(active), to
	default:
		return fmt.Errorf("rollback to %q: want previous, blue, green or an image repo@sha256:...", to)
	}
	deps := c.Client.AppsV1().Deployments(c.Namespace)
	activeDep, err := deps.Get(ctx, c.DeploymentName(active), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the live colour's deployment: %w", err)
	}
	activeImage, err := imageOf(activeDep, cfg.Container)
	if err != nil {
		return err
	}
	if target == active && image == "" && st.Phase != PhaseProgressing && res.Stopped == "" {
		res.ActiveColor, res.Image, res.Unchanged = active, activeImage, true
		return nil
	}
	dep, err := deps.Get(ctx, c.DeploymentName(target), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading deployment %q to roll back to: %w", c.DeploymentName(target), err)
	}
	replicas := max(st.Replicas, kube.DesiredReplicas(activeDep), cfg.Replicas, 1)
	res.Warm = image == "" && kube.Available(dep) && kube.DesiredReplicas(dep) >= replicas
	if res.Warm {
		n, err := kube.ReadyPods(ctx, c.Client, dep)
		res.Warm = err == nil && n >= replicas
	}
	if !res.Warm {
		if image != "" {
			c.emit("scale", 0, "bringing %s up (%d replicas, image %s)", dep.Name, replicas, image)
		} else {
			c.emit("scale", 0, "bringing %s up (%d replicas)", dep.Name, replicas)
		}
		if err := prepareTarget(ctx, c, dep.Name, cfg.Container, image, replicas); err != nil {
			return err
		}
	}
	if err := c.switchWhenAvailable(ctx, target); err != nil {
		return err
	}
	if dep, err = deps.Get(ctx, dep.Name, metav1.GetOptions{}); err != nil {
		return err
	}
	targetImage, _ := imageOf(dep, cfg.Container)
	res.Switched = time.Now()
	if err := follow(ctx, c, st, target); err != nil {
		return err
	}
	if st.Phase == PhaseProgressing && st.CandidateColor != "" && st.CandidateColor != target {
		// The half-done candidate gets no traffic now; free its replicas.
		if err := kube.Scale(ctx, c.Client, c.Namespace, c.DeploymentName(st.CandidateColor), 0); err != nil {
			return err
		}
	}
	res.ActiveColor, res.Image = target, targetImage
	res.FromImage = activeImage
	if target == active {
		res.FromImage = st.CandidateImage
	}
	c.emit("rolled-back", 100, "%s is live on %s", targetImage, target)
	now := time.Now()
	prevColour, prevImage := active, activeImage
	if target == active { // undoing a half-done promotion
		prevColour, prevImage = st.PreviousColor, st.PreviousImage
	}
	next := State{Phase: PhaseRolledBack, ActiveColor: target, ActiveImage: targetImage, PreviousColor: prevColour,
		PreviousImage: prevImage, Replicas: replicas, Owner: c.Owner, Reason: cfg.Reason, StartedAt: res.Started, UpdatedAt: now,
		Deployment: c.Deployment, ColorLabel: c.ColorLabel,
		Router: st.Router, HTTPRoute: st.HTTPRoute, Ingress: st.Ingress, Step: st.Step, Weight: 0}
	wctx, done := detach(ctx)
	defer done()
	return kube.AnnotateService(wctx, c.Client, c.Namespace, c.Service, next.Annotations())
}

// prepareTarget sets the image (if any) and at least replicas on a
// Deployment, retrying when the controller updated it meanwhile.
func prepareTarget(ctx context.Context, c *Target, name, container, image string, replicas int32) error {
	deps := c.Client.AppsV1().Deployments(c.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		dep, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if image != "" {
			i, err := containerIndex(dep, container)
			if err != nil {
				return err
			}
			dep.Spec.Template.Spec.Containers[i].Image = image
		}
		if kube.DesiredReplicas(dep) < replicas {
			dep.Spec.Replicas = &replicas
		}
		if _, err := deps.Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating deployment %q: %w", name, err)
		}
		return nil
	})
}

// follow moves the traffic of the router the last promotion recorded to
// target, when that router keeps weights outside the live Service (a
// traffic.Follower: gateway-api, nginx); the selector switch covers the
// others.
func follow(ctx context.Context, c *Target, st State, target string) error {
	if st.Router == "" {
		return nil // nothing recorded: a Service that was never promoted
	}
	rc := c.routerConfig()
	rc.HTTPRoute, rc.Ingress = st.HTTPRoute, st.Ingress
	r, err := traffic.NewRouter(st.Router, rc)
	if err != nil {
		return fmt.Errorf("the router recorded on service %q: %w", c.Service, err)
	}
	f, ok := r.(traffic.Follower)
	if !ok {
		return nil
	}
	if err := f.Follow(ctx, target); err != nil {
		return fmt.Errorf("moving the %s router's traffic to %s: %w", st.Router, target, err)
	}
	return nil
}
