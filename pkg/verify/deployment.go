package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/kube"
)

// ErrDeploymentNotReady is returned when a Deployment did not become
// available, or its new pods restarted.
var ErrDeploymentNotReady = errors.New("deployment not ready")

// DeploymentStatus is one observation of a Deployment.
type DeploymentStatus struct {
	Namespace          string    `json:"namespace"`
	Name               string    `json:"name"`
	Replicas           int32     `json:"replicas"` // desired
	Updated            int32     `json:"updated"`
	Available          int32     `json:"available"`
	Unavailable        int32     `json:"unavailable"`
	Generation         int64     `json:"generation"`
	ObservedGeneration int64     `json:"observed_generation"`
	Revision           string    `json:"revision,omitempty"`
	RolloutStarted     time.Time `json:"rollout_started,omitzero"`
	Restarts           []Restart `json:"restarts,omitempty"`
	// Images are what the current rollout's pods run, each container's
	// image ID (repo@sha256:…, as the runtime resolved it) or, before the
	// runtime reports one, its image as the pod asks for it.
	Images []string `json:"images,omitempty"`
	// pods are the current rollout's pods' images, as Images.
	pods []podImages
	// Problems lists every reason the Deployment is not ready; empty means
	// ready.
	Problems []string `json:"problems,omitempty"`
}

// Restart is a container of the current rollout's pods that restarted.
type Restart struct {
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Count     int32  `json:"count"`
}

// Ready reports whether the Deployment had no problems.
func (s DeploymentStatus) Ready() bool { return len(s.Problems) == 0 }

// CheckDeployment observes a Deployment once: it must be Available with no
// unavailable replicas, all replicas updated, its observedGeneration
// current, and no container of the current rollout's pods (those of the
// ReplicaSet of its revision, created when the rollout began) may have
// restarted. An error is returned only when the API cannot be read.
func CheckDeployment(ctx context.Context, client kubernetes.Interface, namespace, name string) (DeploymentStatus, error) {
	s := DeploymentStatus{Namespace: namespace, Name: name}
	d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return s, fmt.Errorf("reading deployment %s/%s: %w", namespace, name, err)
	}
	r := kube.DeploymentReadiness(d)
	s.Replicas, s.Updated, s.Available, s.Unavailable = r.Desired, r.UpdatedReplicas, r.AvailableReplicas, r.UnavailableReplicas
	s.Generation, s.ObservedGeneration = r.Generation, r.ObservedGeneration
	s.Revision = d.Annotations[kube.RevisionAnnotation]
	s.Problems = r.Messages()
	if s.ObservedGeneration < s.Generation || s.Revision == "" {
		return s, nil // the controller has not caught up: the pods say nothing yet
	}
	rs, err := kube.CurrentReplicaSet(ctx, client, d)
	if err != nil {
		return s, err
	}
	if rs == nil {
		s.Problems = append(s.Problems, fmt.Sprintf("no ReplicaSet for revision %s yet", s.Revision))
		return s, nil
	}
	s.RolloutStarted = rs.CreationTimestamp.Time
	if s.Restarts, s.Images, s.pods, err = podsOf(ctx, client, d, rs.UID); err != nil {
		return s, err
	}
	for _, r := range s.Restarts {
		s.Problems = append(s.Problems, fmt.Sprintf("container %s of pod %s restarted %d times since the rollout began", r.Container, r.Pod, r.Count))
	}
	return s, nil
}

// podsOf reads the current rollout's pods (those of the ReplicaSet rsUID):
// the containers that restarted, the images they run, and each pod's image
// IDs.
func podsOf(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment, rsUID types.UID) ([]Restart, []string, []podImages, error) {
	sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing pods of %s/%s: %w", d.Namespace, d.Name, err)
	}
	var out []Restart
	var images []string
	var perPod []podImages
	for _, p := range pods.Items {
		if !ownedBy(p.OwnerReferences, rsUID) {
			continue
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if cs.RestartCount > 0 {
				out = append(out, Restart{Pod: p.Name, Container: cs.Name, Count: cs.RestartCount})
			}
		}
		var pod podImages
		for _, c := range p.Spec.Containers {
			image := c.Image
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == c.Name && cs.ImageID != "" {
					image, pod.resolved = cs.ImageID, true
				}
			}
			pod.images = append(pod.images, image)
			if !slices.Contains(images, image) {
				images = append(images, image)
			}
		}
		perPod = append(perPod, pod)
	}
	return out, images, perPod, nil
}

// podImages are one pod's containers' images: the image ID of each that
// reported one, else the image as the pod asks for it. resolved: the
// runtime reported at least one image ID.
type podImages struct {
	images   []string
	resolved bool
}

// RunsDigest reports whether the current rollout runs digest (sha256:…):
// each of its pods has a container on it (an image ID, or an image the pod
// asks for by digest, that ends in @digest), and there is one such pod at
// the least. A tag that moved between two pods' pulls leaves the rollout
// on two images, checked together: neither is what it runs. A pod that
// asks for a tag and has not resolved it yet is not counted.
func (s *DeploymentStatus) RunsDigest(digest string) bool {
	runs := false
	for _, p := range s.pods {
		switch {
		case slices.ContainsFunc(p.images, func(img string) bool { return strings.HasSuffix(img, "@"+digest) }):
			runs = true
		case p.resolved:
			return false
		}
	}
	return runs
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// WaitDeployment observes the Deployment every interval until it is ready
// or timeout passes. Restarts end the wait at once: they do not heal. The
// error wraps ErrDeploymentNotReady and lists the last problems.
func WaitDeployment(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout, interval time.Duration) (DeploymentStatus, error) {
	var last DeploymentStatus
	var seen bool // a read cut short by the timeout says less than the last observation
	var apiErr error
	poll := func(ctx context.Context) (bool, error) {
		s, err := CheckDeployment(ctx, client, namespace, name)
		if err != nil {
			apiErr = err // the API may be briefly unavailable; keep trying
			return false, nil
		}
		last, seen = s, true
		return s.Ready() || len(s.Restarts) > 0, nil
	}
	if interval <= 0 {
		interval = time.Second
	}
	err := wait.PollUntilContextTimeout(ctx, interval, max(timeout, time.Nanosecond), true, poll)
	if ctx.Err() != nil {
		return last, ctx.Err()
	}
	switch {
	case !seen:
		if apiErr == nil {
			apiErr = err
		}
		return last, fmt.Errorf("%w: %w", ErrDeploymentNotReady, apiErr)
	case !last.Ready():
		return last, fmt.Errorf("%w: %s/%s: %s", ErrDeploymentNotReady, namespace, name, strings.Join(last.Problems, "; "))
	case err != nil:
		return last, err
	}
	return last, nil
}
