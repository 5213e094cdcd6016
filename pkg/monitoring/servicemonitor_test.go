package monitoring

import (
	"reflect"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

func TestServiceMonitorRoundTrip(t *testing.T) {
	s := fxPlatform()
	s.Selector["app.kubernetes.io/instance"] = "fx-platform"
	s.ObjectLabels = map[string]string{"release": "kube-prometheus-stack"}
	monitor, err := ServiceMonitor(s)
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(monitor)
	if err != nil {
		t.Fatal(err)
	}
	var back monitoringv1.ServiceMonitor
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("reading the ServiceMonitor back: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(&back, monitor) {
		t.Errorf("round trip changed the ServiceMonitor:\n%s", data)
	}
	if back.APIVersion != "monitoring.coreos.com/v1" || back.Kind != "ServiceMonitor" || back.Name != "fx-platform-service" ||
		back.Namespace != "production" || back.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("object %s %s %s/%s labels %v", back.APIVersion, back.Kind, back.Namespace, back.Name, back.Labels)
	}
	if want := map[string]string{"app": "fx-platform", "app.kubernetes.io/instance": "fx-platform"}; !reflect.DeepEqual(back.Spec.Selector.MatchLabels, want) {
		t.Errorf("selector %v, want %v", back.Spec.Selector.MatchLabels, want)
	}
	if got := back.Spec.NamespaceSelector.MatchNames; !reflect.DeepEqual(got, []string{"production"}) {
		t.Errorf("namespaces %v", got)
	}
	if len(back.Spec.Endpoints) != 1 {
		t.Fatalf("endpoints %v", back.Spec.Endpoints)
	}
	e := back.Spec.Endpoints[0]
	if e.Port != "http" || e.Path != "/metrics" || e.Interval != "30s" {
		t.Errorf("endpoint port %q path %q interval %q", e.Port, e.Path, e.Interval)
	}
	// Each pod once, through its colour's Service, never also through the
	// live one.
	want := []monitoringv1.RelabelConfig{{Action: "keep", SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_service_name"}, Regex: "fx-platform-service-(blue|green)"}}
	if !reflect.DeepEqual(e.RelabelConfigs, want) {
		t.Errorf("relabelings %+v, want %+v", e.RelabelConfigs, want)
	}
}
