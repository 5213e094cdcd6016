// Package monitoring renders the strategy's monitoring as code, from one
// description of a service (Service): the alerts as a PrometheusRule and as
// the rule file Prometheus and promtool load, and a ServiceMonitor for the
// app.
//
// Every query selects the two colours of the service the same way: by
// namespace and by the pod names of <deployment>-blue and
// <deployment>-green, the labels Prometheus's Kubernetes discovery,
// relabelled as usual, and the Prometheus Operator give pod targets. So the
// alerts and panels see both colours whatever the traffic router does, and
// whichever way the app is scraped. Resource usage comes from cAdvisor's
// series alone, and the replica count from kube-state-metrics'.
package monitoring
