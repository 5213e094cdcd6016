package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Reason names one way a Deployment falls short of its spec. Where Helm's
// kstatus has a word for the same fault, the Reason uses it.
type Reason string

// The reasons [DeploymentReadiness] finds.
const (
	// GenerationNotObserved: the controller has not seen the current spec,
	// so the rest of the status describes an older one.
	GenerationNotObserved Reason = "GenerationNotObserved"
	// ProgressDeadlineExceeded: the Progressing condition says the rollout
	// made no progress within progressDeadlineSeconds.
	ProgressDeadlineExceeded Reason = "ProgressDeadlineExceeded"
	// DeploymentNotAvailable: the Available condition is not True.
	DeploymentNotAvailable Reason = "DeploymentNotAvailable"
	// UnavailableReplicas: some of the Deployment's pods are not available.
	UnavailableReplicas Reason = "UnavailableReplicas"
	// ReplicaCounts: the updated or available replicas are not the desired
	// count, or old pods are still there (kstatus's LessUpdated,
	// LessAvailable, LessReplicas and ExtraPods in one).
	ReplicaCounts Reason = "ReplicaCounts"
)

// Problem is one reason a Deployment is not ready, with the message a
// person reads.
type Problem struct {
	Reason  Reason
	Message string
}

// Readiness is a Deployment's status read against its spec: the counts and
// every problem found. Its views decide: [Readiness.Ready] for "the
// rollout finished", [Readiness.Available] for "traffic may go there",
// [Readiness.Settled] for "the scale is done".
type Readiness struct {
	// Desired is spec.replicas (see [DesiredReplicas]).
	Desired int32
	// The status counts; Replicas counts every pod, old ones included.
	Replicas, UpdatedReplicas, ReadyReplicas, AvailableReplicas, UnavailableReplicas int32
	Generation, ObservedGeneration                                                   int64
	// Problems in a fixed order: generation, conditions, counts.
	Problems []Problem
}

// DesiredReplicas is a Deployment's spec.replicas; nil is 1, as the API
// server defaults it.
func DesiredReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// DeploymentReadiness reads a Deployment's readiness from its status.
func DeploymentReadiness(d *appsv1.Deployment) Readiness {
	s := d.Status
	r := Readiness{Desired: DesiredReplicas(d), Replicas: s.Replicas, UpdatedReplicas: s.UpdatedReplicas,
		ReadyReplicas: s.ReadyReplicas, AvailableReplicas: s.AvailableReplicas, UnavailableReplicas: s.UnavailableReplicas,
		Generation: d.Generation, ObservedGeneration: s.ObservedGeneration}
	add := func(reason Reason, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if r.ObservedGeneration < r.Generation {
		add(GenerationNotObserved, "observedGeneration %d is behind generation %d", r.ObservedGeneration, r.Generation)
	}
	available := false
	for _, c := range s.Conditions {
		switch {
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue:
			available = true
		case c.Type == appsv1.DeploymentProgressing && c.Reason == string(ProgressDeadlineExceeded):
			add(ProgressDeadlineExceeded, "progress deadline exceeded: %s", c.Message)
		}
	}
	if !available {
		add(DeploymentNotAvailable, "condition Available is not True")
	}
	if r.UnavailableReplicas > 0 {
		add(UnavailableReplicas, "%d unavailable replicas", r.UnavailableReplicas)
	}
	// The controller keeps updated and available at most replicas, so for
	// its statuses this is "too few updated, too few available, or old pods".
	if r.UpdatedReplicas != r.Desired || r.AvailableReplicas != r.Desired || r.Replicas != r.Desired {
		add(ReplicaCounts, "%d/%d updated, %d/%d available, %d pods in total",
			r.UpdatedReplicas, r.Desired, r.AvailableReplicas, r.Desired, r.Replicas)
	}
	return r
}

// Ready reports whether the rollout has finished: no problems. A
// Deployment scaled to zero on purpose is ready.
func (r Readiness) Ready() bool { return len(r.Problems) == 0 }

// Available reports whether the Deployment may receive traffic: it wants
// at least one replica and has no problem but, perhaps, a progress deadline
// exceeded earlier. That condition outlives the fault when the Deployment
// is paused; the counts and the Available condition tell the present.
func (r Readiness) Available() bool {
	if r.Desired == 0 {
		return false // nothing to route to
	}
	for _, p := range r.Problems {
		if p.Reason != ProgressDeadlineExceeded {
			return false
		}
	}
	return true
}

// Settled reports whether the controller has finished scaling: the spec
// observed and exactly the desired pods, all ready (none, for zero). It
// says nothing of the rollout's conditions.
func (r Readiness) Settled() bool {
	return r.ObservedGeneration >= r.Generation && r.Replicas == r.Desired && r.ReadyReplicas == r.Desired
}

// Has reports whether one of the problems has the reason.
func (r Readiness) Has(reason Reason) bool {
	for _, p := range r.Problems {
		if p.Reason == reason {
			return true
		}
	}
	return false
}

// Messages lists the problems' messages, or nil.
func (r Readiness) Messages() []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Message)
	}
	return out
}

// Available reports whether a Deployment may receive traffic (see
// [Readiness.Available]): its controller has seen the current spec, the
// Available condition is true, and every desired replica is updated and
// available, with no old pods left. A Deployment scaled to zero is never
// available: it has nothing to route to.
func Available(d *appsv1.Deployment) bool { return DeploymentReadiness(d).Available() }
