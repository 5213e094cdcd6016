package rollout

import (
	"context"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// containerIndex finds the named container, or the only one when name is "".
func containerIndex(d *appsv1.Deployment, name string) (int, error) {
	cs := d.Spec.Template.Spec.Containers
	if name == "" {
		if len(cs) == 1 {
			return 0, nil
		}
		return -1, fmt.Errorf("deployment %q has %d containers; name one (input container)", d.Name, len(cs))
	}
	for i, c := range cs {
		if c.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("deployment %q has no container %q", d.Name, name)
}

// imageOf returns the image of the named container.
func imageOf(d *appsv1.Deployment, container string) (string, error) {
	i, err := containerIndex(d, container)
	if err != nil {
		return "", err
	}
	return d.Spec.Template.Spec.Containers[i].Image, nil
}

// switchColour returns a copy of labels with the colour label set.
func switchColour(labels map[string]string, key, colour string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[key] = colour
	return out
}

// candidateFrom makes the idle colour's Deployment from the live one: the
// same spec, the colour label switched everywhere, the container's image
// set.
func candidateFrom(live *appsv1.Deployment, name, key, colour, container, image string, replicas int32) (*appsv1.Deployment, error) {
	if live.Spec.Selector == nil || live.Spec.Selector.MatchLabels[key] == "" {
		return nil, fmt.Errorf("deployment %q: its selector has no %q label; the colours could not be told apart", live.Name, key)
	}
	spec := *live.Spec.DeepCopy()
	spec.Replicas = &replicas
	spec.Selector = &metav1.LabelSelector{MatchLabels: switchColour(live.Spec.Selector.MatchLabels, key, colour), MatchExpressions: spec.Selector.MatchExpressions}
	spec.Template.Labels = switchColour(spec.Template.Labels, key, colour)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: live.Namespace, Labels: switchColour(live.Labels, key, colour)},
		Spec:       spec,
	}
	i, err := containerIndex(d, container)
	if err != nil {
		return nil, err
	}
	d.Spec.Template.Spec.Containers[i].Image = image
	return d, nil
}

// applyDeployment creates d or updates the existing one's template, labels
// and replicas (its selector is immutable and already the colour's).
func applyDeployment(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) error {
	deps := client.AppsV1().Deployments(d.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := deps.Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if _, err := deps.Create(ctx, d, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating deployment %q: %w", d.Name, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading deployment %q: %w", d.Name, err)
		}
		cur.Labels = d.Labels
		cur.Spec.Template = d.Spec.Template
		cur.Spec.Replicas = d.Spec.Replicas
		if _, err := deps.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating deployment %q: %w", d.Name, err)
		}
		return nil
	})
}
