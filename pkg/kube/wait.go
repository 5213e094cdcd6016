package kube

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// ErrNotAvailable is returned when a Deployment did not become fully
// available in time.
var ErrNotAvailable = errors.New("deployment not available")

// WaitAvailable polls the Deployment every interval until it is Available
// (see [Available]) and as many of its pods as it wants are Ready and not
// terminating, or timeout passes; it returns the last observation. The pod
// count matters: right after a scale-down and up, the status can still
// count pods that are going away.
func WaitAvailable(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout, interval time.Duration) (*appsv1.Deployment, error) {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	var last *appsv1.Deployment
	var apiErr error
	err := wait.PollUntilContextTimeout(ctx, interval, max(timeout, time.Nanosecond), true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			apiErr = err
			return false, nil
		}
		last = d
		if !Available(d) {
			return false, nil
		}
		n, err := ReadyPods(ctx, client, d)
		if err != nil {
			apiErr = err
			return false, nil
		}
		return n >= DesiredReplicas(d), nil
	})
	if err == nil {
		return last, nil
	}
	if ctx.Err() != nil {
		return last, ctx.Err()
	}
	if last == nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrNotAvailable, namespace, name, errors.Join(apiErr, err))
	}
	s := last.Status
	return last, fmt.Errorf("%w: %s/%s after %s: %d/%d available, %d updated, generation %d observed %d",
		ErrNotAvailable, namespace, name, timeout, s.AvailableReplicas, DesiredReplicas(last), s.UpdatedReplicas, last.Generation, s.ObservedGeneration)
}

// Scale sets a Deployment's replicas with a merge patch (no read-modify-
// write, so the controller's own status updates cannot conflict with it).
func Scale(ctx context.Context, client kubernetes.Interface, namespace, name string, replicas int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	if _, err := client.AppsV1().Deployments(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scaling %s/%s to %d: %w", namespace, name, replicas, err)
	}
	return nil
}

// WaitScaled waits until a Deployment's controller has settled at its
// desired replicas: observedGeneration current and exactly that many pods,
// all ready (none, for zero). It is the wait after a scale-down, whose
// terminating pods still count until they are gone.
func WaitScaled(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, max(timeout, time.Nanosecond), true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return DeploymentReadiness(d).Settled(), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s/%s to settle at its replicas: %w", namespace, name, err)
	}
	return nil
}

// ReadyPods counts the Deployment's pods that are Ready and not
// terminating: the ones a Service selecting them routes to.
func ReadyPods(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (int32, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return 0, fmt.Errorf("deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, fmt.Errorf("listing the pods of %s/%s: %w", d.Namespace, d.Name, err)
	}
	var n int32
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n, nil
}

// RevisionAnnotation is what the deployment controller writes on a
// Deployment and its ReplicaSets: the revision of each template.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// CurrentReplicaSet is the ReplicaSet the Deployment controls for its
// current revision, or nil before the controller made it.
func CurrentReplicaSet(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s selector: %w", d.Namespace, d.Name, err)
	}
	list, err := client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the replica sets of %s/%s: %w", d.Namespace, d.Name, err)
	}
	for i := range list.Items {
		rs := &list.Items[i]
		if metav1.IsControlledBy(rs, d) && rs.Annotations[RevisionAnnotation] != "" && rs.Annotations[RevisionAnnotation] == d.Annotations[RevisionAnnotation] {
			return rs, nil
		}
	}
	return nil, nil
}

// PodNamePattern is a regular expression of the names of the pods the
// Deployment's current template makes, <name>-<pod-template-hash>-<suffix>:
// the pods of its current ReplicaSet, not those of an earlier template that
// may still be in a metric's window. Before the controller has made that
// ReplicaSet it matches any of the Deployment's pods.
func PodNamePattern(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (string, error) {
	rs, err := CurrentReplicaSet(ctx, client, d)
	if err != nil {
		return "", err
	}
	if rs == nil || rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == "" {
		return AnyPodPattern(d.Name), nil
	}
	// The ReplicaSet controller names pods <replica set>-<5 random>, the
	// prefix cut to 58 characters (the API server's generateName rule).
	prefix := rs.Name + "-"
	if len(prefix) > maxGeneratedPrefix {
		return quoteName(prefix[:maxGeneratedPrefix]) + "[a-z0-9]{5}", nil
	}
	return quoteName(prefix) + "[a-z0-9]+", nil
}

// maxGeneratedPrefix is the longest generateName prefix the API server
// keeps (63 less the 5 random characters).
const maxGeneratedPrefix = 58

// AnyPodPattern matches the names of any pod of the Deployment name.
func AnyPodPattern(name string) string {
	return quoteName(name) + "-[a-z0-9]+-[a-z0-9]+"
}

// quoteName quotes an object name (lower-case letters, digits, '-' and
// '.') for a regular expression without a backslash, so that the pattern
// can stand in a PromQL string, whose escapes are Go's ("\." is not one).
func quoteName(name string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(name), `\.`, "[.]")
}

// WaitPodsGone waits until no pod of the Deployment is left, terminating
// ones included: a colour scaled to zero whose pods still serve their
// preStop drain is not yet empty.
func WaitPodsGone(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment, timeout time.Duration) error {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	left := 0
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, max(timeout, time.Nanosecond), true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return false, nil
		}
		left = len(pods.Items)
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the %d pod(s) of %s/%s to be gone: %w", left, d.Namespace, d.Name, err)
	}
	return nil
}
