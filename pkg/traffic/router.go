// Package traffic moves a Service's traffic between the two colours of an
// app. One Router interface, several implementations picked by name:
//
//   - service: the live Service's selector holds one colour (blue-green);
//   - replicas: the live Service selects both colours and the weight is
//     the share of ready replicas (no mesh or gateway needed);
//   - gateway-api: weights on an HTTPRoute's backendRefs, one Service per
//     colour (<service>-blue, <service>-green);
//   - nginx: a canary Ingress with the ingress-nginx canary annotations,
//     its backend the canary colour's Service (<service>-<colour>).
//
// A router never sends traffic to a colour whose Deployment is not
// Available with its observedGeneration current.
package traffic

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/kube"
)

// ErrNotAvailable is returned when traffic would move to a colour whose
// Deployment is not fully available. Nothing is changed.
var ErrNotAvailable = errors.New("colour not available for traffic")

// Router moves traffic between a stable and a canary colour. What else a
// router can do, callers learn from the optional interfaces it implements:
// [Splitter], [Scaler], [Follower].
type Router interface {
	// Name is the router's name in the factory.
	Name() string
	// Route sends weight percent (0 to 100) of the traffic to canary and
	// the rest to stable. It returns when the cluster objects say so.
	Route(ctx context.Context, stable, canary string, weight int) error
	// Weight reads the share of traffic on canary from the cluster objects.
	Weight(ctx context.Context, stable, canary string) (int, error)
}

// A Splitter routes any weight from 0 to 100. A router that is not one
// (the service router) switches all traffic at once: strategy canary needs
// a Splitter.
type Splitter interface {
	Router
	// SplitsTraffic marks the capability; it does nothing.
	SplitsTraffic()
}

// A Scaler makes the weight by scaling the colours' Deployments (the
// replicas router): the candidate starts with no replicas, and until the
// first step it has no traffic to measure.
type Scaler interface {
	Router
	// ScalesReplicas marks the capability; it does nothing.
	ScalesReplicas()
}

// A Follower keeps its weights outside the live Service (an HTTPRoute, a
// canary Ingress). After the Service's selector is switched without the
// router (a rollback), Follow puts all of that traffic on colour too.
type Follower interface {
	Router
	Follow(ctx context.Context, colour string) error
}

// Config is what a router manages: the app's objects, and its own.
type Config struct {
	App
	Client  kubernetes.Interface
	Dynamic dynamic.Interface // gateway-api only
	// HTTPRoute is the gateway-api route's name; Ingress the nginx canary
	// Ingress's name.
	HTTPRoute string
	Ingress   string
	// Timeout bounds each wait for availability (replicas router).
	Timeout time.Duration
}

var factories = map[string]func(Config) (Router, error){
	"service":     newServiceRouter,
	"replicas":    newReplicasRouter,
	"gateway-api": newGatewayRouter,
	"nginx":       newNginxRouter,
}

// Names lists the routers NewRouter knows, sorted.
func Names() []string {
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewRouter returns the named router. An unknown name is an error, never a
// silent fallback.
func NewRouter(name string, cfg Config) (Router, error) {
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("unknown traffic router %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if cfg.Client == nil {
		return nil, fmt.Errorf("traffic router %q: a client is required", name)
	}
	if err := cfg.App.Check(); err != nil {
		return nil, fmt.Errorf("traffic router %q: %w", name, err)
	}
	cfg.App = cfg.App.WithDefaults()
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	return f(cfg)
}

// requireAvailable refuses to route to a colour that is not fully available.
func (c Config) requireAvailable(ctx context.Context, colour string) error {
	d, err := c.Client.AppsV1().Deployments(c.Namespace).Get(ctx, c.DeploymentName(colour), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading deployment %q: %w", c.DeploymentName(colour), err)
	}
	if !kube.Available(d) {
		return fmt.Errorf("%w: deployment %s/%s has %d/%d available replicas (generation %d, observed %d)",
			ErrNotAvailable, c.Namespace, d.Name, d.Status.AvailableReplicas, kube.DesiredReplicas(d), d.Generation, d.Status.ObservedGeneration)
	}
	// The status can lag behind pods that are going away; count them.
	n, err := kube.ReadyPods(ctx, c.Client, d)
	if err != nil {
		return err
	}
	if n < kube.DesiredReplicas(d) {
		return fmt.Errorf("%w: deployment %s/%s has %d ready pods of %d", ErrNotAvailable, c.Namespace, d.Name, n, kube.DesiredReplicas(d))
	}
	return nil
}

func checkWeight(w int) error {
	if w < 0 || w > 100 {
		return fmt.Errorf("weight %d is not between 0 and 100", w)
	}
	return nil
}
