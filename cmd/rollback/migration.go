package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/cmd/internal/migration"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/migrate"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
)

// When a down migration runs.
const (
	afterSwitch  = "after-switch"
	beforeSwitch = "before-switch"
)

// migrationInputs are rollback's down-migration inputs.
var migrationInputs = []action.Input{
	{Name: "migration-command", Description: "A down migration to run with the rollback, as migrate's command (words, or a JSON array of words): a Job in the pod of the release rolled back from, with its image, which carries the down migrations. Empty: none."},
	{Name: "migration-when", Default: afterSwitch, Kind: action.KindEnum, Allowed: []string{afterSwitch, beforeSwitch}, Description: "after-switch: once the traffic is back on the old release, which an expand migration left working (the safe order). before-switch: first, for a schema the old release cannot read; a failure then stops the rollback with the traffic where it was."},
	{Name: "migration-timeout", Default: "10m", Kind: action.KindDuration, Description: "How long the down migration may run."},
}

// downMigration is a parsed down migration; nil when none is asked.
type downMigration struct {
	Command []string
	When    string
	Timeout time.Duration
}

func parseDownMigration(in *action.Inputs) *downMigration {
	raw := in.String("migration-command")
	when := in.Enum("migration-when")
	timeout := in.Duration("migration-timeout")
	if d, err := action.ParseDuration(in.String("migration-timeout")); err == nil && d <= 0 {
		in.Fail("migration-timeout", "must be above 0")
	}
	if raw == "" {
		return nil
	}
	words, err := migration.ParseCommand(raw)
	if err != nil {
		in.Fail("migration-command", "%v", err)
		return nil
	}
	return &downMigration{Command: words, When: when, Timeout: timeout}
}

// preparedMigration is a down migration ready to run: its Job's Spec and
// where its pod came from.
type preparedMigration struct {
	spec migrate.Spec
	pod  string
	when string
	// deployment is the Deployment rolled back from, whose pods must be
	// off the live Service before an after-switch down migration.
	deployment string
}

// prepare finds, before anything changes, the pod the down migration runs
// in: the Deployment of the release rolled back from (the live colour's,
// or the Helm release's), whose image knows the down migrations.
func (m *downMigration) prepare(ctx context.Context, client kubernetes.Interface, in Inputs) (*preparedMigration, error) {
	base, live := in.Release, ""
	if base == "" {
		base = in.Deployment
		svc, err := client.CoreV1().Services(in.Namespace).Get(ctx, in.Service, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading the live Service %s/%s for the down migration: %w", in.Namespace, in.Service, err)
		}
		st := rollout.ReadState(svc)
		live = st.ActiveColor
		if st.Phase == rollout.PhaseProgressing && st.CandidateColor != "" && (in.To == "" || in.To == "previous") {
			// A promotion cut short: the rollback undoes its candidate,
			// whose image carries the down migration, not the stable
			// colour's that the Service still names.
			live = st.CandidateColor
		}
	}
	tmpl, name, err := migrate.FindTemplate(ctx, client, in.Namespace, base, live)
	if err != nil {
		return nil, fmt.Errorf("finding the pod for the down migration: %w", err)
	}
	if tmpl == nil {
		return nil, fmt.Errorf("no Deployment %s/%s, or of its colours, to run the down migration in", in.Namespace, base)
	}
	i := 0
	if in.Container != "" {
		if i = slices.IndexFunc(tmpl.Spec.Containers, func(c corev1.Container) bool { return c.Name == in.Container }); i < 0 {
			return nil, fmt.Errorf("Deployment %s has no container %q for the down migration", name, in.Container)
		}
	}
	image := tmpl.Spec.Containers[i].Image
	return &preparedMigration{when: m.When, pod: "live (" + name + ")", deployment: name, spec: migrate.Spec{
		Namespace: in.Namespace, App: base, Name: migrate.JobName(base, image, m.Command), Image: image, Command: m.Command,
		Template: tmpl, Container: tmpl.Spec.Containers[i].Name, Timeout: m.Timeout,
	}}, nil
}

// run runs the prepared down migration, logs it and adds its summary.
func (p *preparedMigration) run(ctx context.Context, a *action.Action, client kubernetes.Interface) error {
	a.Infof("Down migration (%s): %v in %s", p.when, p.spec.Command, p.spec.Image)
	res, err := migrate.Run(ctx, client, p.spec, func(m string) { a.Infof("%s", m) })
	if res == nil {
		return err
	}
	migration.Log(a, res)
	result := migration.Result(res, err)
	if serr := a.AddSummary(migration.Summary("rollback down migration ("+p.when+")", p.spec, res, result, p.pod)); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("the down migration: %w", err)
	}
	return nil
}

// drainDelay is how long a down migration waits, once the old release's
// pods have left the live Service's endpoints, for the proxies to apply
// it (kube-proxy, an ingress or a gateway, about a second each) and for
// the requests in flight to end.
const drainDelay = 5 * time.Second

// waitDrained waits, after the switch, until no pod of the release rolled
// back from is an endpoint of the live Service (service is "" for a Helm
// release, whose old pods were replaced) and then drainDelay: a down
// migration that ran at once dropped a column while the old release still
// answered a few requests (31 of them, in 160 ms, on the real node).
func (p *preparedMigration) waitDrained(ctx context.Context, a *action.Action, client kubernetes.Interface, service string) error {
	start := time.Now()
	if service != "" {
		d, err := client.AppsV1().Deployments(p.spec.Namespace).Get(ctx, p.deployment, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading Deployment %s before the down migration: %w", p.deployment, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			return err
		}
		deadline := time.Now().Add(endpointsTimeout)
		for {
			on, err := onService(ctx, client, p.spec.Namespace, service, sel.String())
			if err != nil {
				return err
			}
			if on == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the down migration did not run: %d pods of %s are still endpoints of %s after %s", on, p.deployment, service, endpointsTimeout)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	a.Infof("The old release is off the live Service (%s); waiting %s for the proxies and the requests in flight", time.Since(start).Round(time.Millisecond), drainDelay)
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(drainDelay):
	}
	return nil
}

// endpointsTimeout bounds the wait for the old pods to leave the endpoints.
const endpointsTimeout = time.Minute

// onService counts the pods selector selects that are endpoints of the
// Service.
func onService(ctx context.Context, client kubernetes.Interface, namespace, service, selector string) (int, error) {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		names[p.Name] = true
	}
	eps, err := client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return 0, err
	}
	on := 0
	for _, s := range eps.Items {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil && names[e.TargetRef.Name] {
				on++
			}
		}
	}
	return on, nil
}
