package monitoring

import (
	"fmt"
	"strconv"
	"strings"
)

// colours is the regular expression of both colours' Deployment names.
func (s Service) colours() string {
	// [.] rather than \. : no backslashes to escape inside PromQL strings.
	return strings.ReplaceAll(s.Deployment, ".", "[.]") + "-(blue|green)"
}

// pods selects the series of both colours' pods.
func (s Service) pods() string {
	return fmt.Sprintf(`namespace=%s,pod=~"%s-.*"`, strconv.Quote(s.Namespace), s.colours())
}

// containers selects cAdvisor's series of the colours' containers (the
// pod's own cgroup has container="").
func (s Service) containers() string { return s.pods() + `,container!=""` }

// byColour adds a color label, taken from the pod's name, to the series of
// expr.
func (s Service) byColour(expr string) string {
	return fmt.Sprintf(`label_replace(%s, "color", "$1", "pod", "%s-.*")`, expr, s.colours())
}

// errorRatio is the share of requests answered 5xx over window, summed
// over by (which keeps namespace at least).
func (s Service) errorRatio(window, by string) string {
	return fmt.Sprintf(`sum by (%[5]s) (rate(%[1]s{%[2]s,%[3]s=~"5.."}[%[4]s])) / sum by (%[5]s) (rate(%[1]s{%[2]s}[%[4]s]))`,
		s.RequestsMetric, s.pods(), s.CodeLabel, window, by)
}

// latency is a quantile of the response time over window.
func (s Service) latency(q float64, window, by string) string {
	return fmt.Sprintf(`histogram_quantile(%v, sum by (%s) (rate(%s_bucket{%s}[%s])))`, q, by+", le", s.LatencyMetric, s.pods(), window)
}

// cpu is each container's CPU usage as a share of its limit. Each
// container is throttled at its own limit, so a pod is as busy as its
// busiest limited container: a sum over the pod would hide a main
// container at its limit behind an idle sidecar. Containers without a
// limit have no quota series and drop out of the division.
func (s Service) cpu(window string) string {
	c := s.containers()
	return fmt.Sprintf(`sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{%[1]s}[%[2]s])) / on (namespace, pod, container) max by (namespace, pod, container) ((container_spec_cpu_quota{%[1]s} > 0) / container_spec_cpu_period{%[1]s})`, c, window)
}

// memory is each container's working set as a share of its limit;
// cAdvisor reports 0 for a container without one, which the > 0 drops.
func (s Service) memory() string {
	c := s.containers()
	return fmt.Sprintf(`max by (namespace, pod, container) (container_memory_working_set_bytes{%[1]s}) / on (namespace, pod, container) max by (namespace, pod, container) (container_spec_memory_limit_bytes{%[1]s} > 0)`, c)
}

// rollout selects the series promote pushes for this service.
func (s Service) rollout(metric string) string {
	return fmt.Sprintf(`%s{%s=%s,%s=%s}`, metric, LabelNamespace, strconv.Quote(s.Namespace), LabelService, strconv.Quote(s.Service))
}
