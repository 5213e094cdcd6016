package migrate

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func configSpec() Spec {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app",
		Env: []corev1.EnvVar{{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Key: "url"}}}},
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-env"}}}},
	}}}}
	return Spec{Namespace: "ns", App: "app", Name: "app-migrate-0123456789", Image: "img", Command: []string{"up"}, Template: tmpl, Timeout: time.Minute}
}

func configObjects() []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "app-config", "labels": map[string]any{"app": "app"}},
			"type": "Opaque", "data": map[string]any{"url": "cG9zdGdyZXM6Ly94"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app-env"}, "data": map[string]any{"LEVEL": "info"}}},
		// Not referred to by the pod: not made.
		{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "other"}, "data": map[string]any{"k": "dg=="}}},
	}
}

func TestEnsureConfig(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	made, err := EnsureConfig(ctx, client, configSpec(), "app", "helm", configObjects())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Secret/app-config", "ConfigMap/app-env"}; !slices.Equal(made, want) {
		t.Errorf("made %q, want %q", made, want)
	}
	sec, err := client.CoreV1().Secrets("ns").Get(ctx, "app-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["url"]) != "postgres://x" || sec.Labels["app"] != "app" || sec.Labels[LabelManagedBy] != "Helm" ||
		sec.Annotations[helmReleaseName] != "app" || sec.Annotations[helmReleaseNamespace] != "ns" {
		t.Errorf("Secret %+v: want the render's data and labels with Helm's adoption metadata", sec)
	}
	if _, err := client.CoreV1().Secrets("ns").Get(ctx, "other", metav1.GetOptions{}); err == nil {
		t.Error("a Secret the pod does not refer to was made")
	}
	// What exists is left as it is.
	again, err := EnsureConfig(ctx, client, configSpec(), "app", "helm", configObjects())
	if err != nil || len(again) != 0 {
		t.Errorf("second run made %q (%v), want nothing", again, err)
	}
}

// Helm applies the release (server-side, not forcing conflicts) as its
// field manager: it adopts what EnsureConfig made, and a later release
// changes it, without a conflict with whoever made it.
func TestEnsureConfigLaterReleaseChangesIt(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	if _, err := EnsureConfig(ctx, client, configSpec(), "app", "helm", configObjects()); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"postgres://x", "postgres://y"} {
		ac := corev1ac.Secret("app-config", "ns").WithLabels(map[string]string{"app": "app", LabelManagedBy: "Helm"}).
			WithAnnotations(map[string]string{helmReleaseName: "app", helmReleaseNamespace: "ns"}).
			WithType(corev1.SecretTypeOpaque).WithData(map[string][]byte{"url": []byte(url)})
		if _, err := client.CoreV1().Secrets("ns").Apply(ctx, ac, metav1.ApplyOptions{FieldManager: "helm"}); err != nil {
			t.Fatalf("Helm's apply of %s: %v", url, err)
		}
	}
}
