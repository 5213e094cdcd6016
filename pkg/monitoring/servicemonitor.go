package monitoring

import (
	"maps"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceMonitor has the Prometheus Operator scrape the app's pods, named
// after the live Service. It selects the Services that carry the
// Selector labels in the namespace, and keeps the targets of the colours'
// Services, <service>-blue and <service>-green (the chart contract's): each
// pod once, whichever colour is live. The live Service selects the same
// pods, and scraping through it too would count every request twice. Where
// there are no colour Services, scrape the pods with a PodMonitor instead.
func ServiceMonitor(s Service) (*monitoringv1.ServiceMonitor, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &monitoringv1.ServiceMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.ServiceMonitorsKind},
		ObjectMeta: metav1.ObjectMeta{Name: s.Service, Namespace: s.Namespace, Labels: maps.Clone(s.ObjectLabels)},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: maps.Clone(s.Selector)},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{s.Namespace}},
			Endpoints: []monitoringv1.Endpoint{{
				Port:     s.MetricsPort,
				Path:     s.MetricsPath,
				Interval: monitoringv1.Duration(s.ScrapeInterval.String()),
				RelabelConfigs: []monitoringv1.RelabelConfig{{
					Action:       "keep",
					SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_service_name"},
					Regex:        colourServices(s.Service),
				}},
			}},
		},
	}, nil
}

// colourServices is the regular expression of the colours' Service names
// (a Service name has no dots to escape).
func colourServices(service string) string { return service + "-(blue|green)" }
