package monitoring

import (
	"fmt"
	"strconv"
	"strings"
)

// colours is the regular expression of both colours' Deployment names,
// the colour its first group.
func (s Service) colours() string {
	// [.] rather than \. : no backslashes to escape inside PromQL strings.
	return strings.ReplaceAll(s.Deployment, ".", "[.]") + "-(blue|green)"
}

// podChars are the characters of the names Kubernetes makes up: a
// ReplicaSet's pod-template-hash and generateName's suffix
// (k8s.io/apimachinery/pkg/util/rand's alphabet, without vowels).
const podChars = "bcdfghjklmnpqrstvwxz2456789"

// maxGeneratedPrefix is how much of generateName the API server keeps: a
// ReplicaSet's pods are named <replicaset>- cut to 58 characters, then 5
// random ones.
const maxGeneratedPrefix = 58

// MaxDeploymentName is the longest Deployment base name whose colours'
// pods keep "<deployment>-green-" whole in their names.
const MaxDeploymentName = maxGeneratedPrefix - len("-green-")

// hashChars are the characters of a pod-template-hash: the decimal digits
// of a 32-bit hash, each written as podChars[digit's code % 27].
const hashChars = "4-9bcdf"

// podNames is the regular expression of both colours' pod names, the
// colour its first group: <deployment>-<colour>-<pod-template-hash>-<5>,
// as the colours' ReplicaSets name them. It is a heuristic, the best a
// pod's name allows: it leaves out the pods of most other workloads whose
// names start the same, such as a Job <deployment>-blue-migrate's, but a
// Job named <deployment>-blue-<1 to 10 of hashChars> would match. Name
// Jobs <deployment>-<job>-<colour> instead, as the migrate action does.
func (s Service) podNames() string {
	if len(s.Deployment)+len("-green-")+10+len("-") <= maxGeneratedPrefix {
		return fmt.Sprintf("%s-[%s]{1,10}-[%s]{5}", s.colours(), hashChars, podChars)
	}
	// A long name's prefix is cut inside the hash or its hyphen.
	return fmt.Sprintf("%s-[%s-]{5,16}", s.colours(), podChars)
}

// pods selects the series of both colours' pods.
func (s Service) pods() string {
	return fmt.Sprintf(`namespace=%s,pod=~"%s"`, strconv.Quote(s.Namespace), s.podNames())
}

// containers selects cAdvisor's series of the colours' containers (the
// pod's own cgroup has container="").
func (s Service) containers() string { return s.pods() + `,container!=""` }

// byColour adds a color label, taken from the pod's name, to the series of
// expr.
func (s Service) byColour(expr string) string {
	return fmt.Sprintf(`label_replace(%s, "color", "$1", "pod", "%s")`, expr, s.podNames())
}

// errorRatio is each colour's share of requests answered 5xx over window,
// by namespace and color: a candidate's errors are its own, not diluted
// by the stable colour's traffic.
func (s Service) errorRatio(window string) string {
	return fmt.Sprintf(`sum by (namespace, color) (%s) / sum by (namespace, color) (%s)`,
		s.byColour(fmt.Sprintf(`rate(%s{%s,%s=~"5.."}[%s])`, s.RequestsMetric, s.pods(), s.CodeLabel, window)),
		s.byColour(fmt.Sprintf(`rate(%s{%s}[%s])`, s.RequestsMetric, s.pods(), window)))
}

// latency is a quantile of each colour's response time over window, by
// namespace and color.
func (s Service) latency(q float64, window string) string {
	return fmt.Sprintf(`histogram_quantile(%v, sum by (namespace, color, le) (%s))`, q,
		s.byColour(fmt.Sprintf(`rate(%s_bucket{%s}[%s])`, s.LatencyMetric, s.pods(), window)))
}

// throughput is each colour's requests per minute.
func (s Service) throughput(window string) string {
	return fmt.Sprintf(`sum by (namespace, color) (%s) * 60`, s.byColour(fmt.Sprintf(`rate(%s{%s}[%s])`, s.RequestsMetric, s.pods(), window)))
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

// rollout selects the series promote pushes for this service, with more
// matchers if any.
func (s Service) rollout(metric string, more ...string) string {
	matchers := append([]string{LabelNamespace + "=" + strconv.Quote(s.Namespace), LabelService + "=" + strconv.Quote(s.Service)}, more...)
	return fmt.Sprintf(`%s{%s}`, metric, strings.Join(matchers, ","))
}
