// Package monitoring renders the strategy's monitoring as code, from one
// description of a service (Service): the alerts as a PrometheusRule and as
// the rule file Prometheus and promtool load, a ServiceMonitor for the app,
// and a Grafana dashboard of the rollout, the service's performance, its
// resources and its business metrics.
//
// Every query selects the two colours of the service the same way: by
// namespace and by the pod names of <deployment>-blue and
// <deployment>-green (<colour Deployment>-<pod-template-hash>-<suffix>),
// the labels Prometheus's Kubernetes discovery, relabelled as usual, and
// the Prometheus Operator give pod targets. So the alerts and panels see
// both colours whatever the traffic router does, and whichever way the app
// is scraped. Each alert and panel is per colour, with a color label taken
// from the pod's name, so that a gate can tell the candidate's alerts from
// the stable colour's. Resource usage comes from cAdvisor's
// series alone, and the replica count from kube-state-metrics'.
//
// The rollout panels read the gauges promote pushes to a Pushgateway
// (MetricRolloutWeight and the others); Prometheus must scrape the
// Pushgateway with honor_labels, so that their namespace label is kept.
package monitoring
