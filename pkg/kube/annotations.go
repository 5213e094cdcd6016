package kube

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// AnnotateService merges annotations into a Service's metadata with one
// merge patch; an empty value removes the key.
func AnnotateService(ctx context.Context, client kubernetes.Interface, namespace, name string, annotations map[string]string) error {
	values := make(map[string]any, len(annotations))
	for k, v := range annotations {
		if v == "" {
			values[k] = nil
		} else {
			values[k] = v
		}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": values}})
	if err != nil {
		return err
	}
	if _, err := client.CoreV1().Services(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotating service %s/%s: %w", namespace, name, err)
	}
	return nil
}

// SetSelectorLabel sets one key of a Service's selector with a merge patch
// (the other keys are kept); an empty value removes the key.
func SetSelectorLabel(ctx context.Context, client kubernetes.Interface, namespace, name, key, value string) error {
	var v any = value
	if value == "" {
		v = nil
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"selector": map[string]any{key: v}}})
	if err != nil {
		return err
	}
	if _, err := client.CoreV1().Services(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("setting the selector %s=%s on service %s/%s: %w", key, value, namespace, name, err)
	}
	return nil
}
