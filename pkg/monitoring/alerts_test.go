package monitoring

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// The input of one promtool unit test, and what it expects (promtool's
// test file format).
type (
	ruleTests struct {
		RuleFiles          []string   `json:"rule_files"`
		EvaluationInterval string     `json:"evaluation_interval"`
		Tests              []ruleTest `json:"tests"`
	}
	ruleTest struct {
		Interval    string      `json:"interval"`
		InputSeries []series    `json:"input_series"`
		AlertTests  []alertTest `json:"alert_rule_test"`
	}
	series struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	alertTest struct {
		EvalTime  string     `json:"eval_time"`
		Alertname string     `json:"alertname"`
		ExpAlerts []expAlert `json:"exp_alerts"`
	}
	expAlert struct {
		ExpLabels      map[string]string `json:"exp_labels"`
		ExpAnnotations map[string]string `json:"exp_annotations"`
	}
)

// The pods of the tests: one of each colour, one of another Deployment of
// the namespace whose name starts the same, and a Job's named after a
// colour.
const (
	bluePod  = "fx-platform-blue-5d4f8b9c7-x2k9p"
	greenPod = "fx-platform-green-6c9d7f8b5-vwxzq"
	otherPod = "fx-platform-worker-7f6d5c4b3-qwrt5"
	jobPod   = "fx-platform-blue-migrate-7xk2p"
)

// at is the labels of a series of pod in namespace production.
func at(pod string, more ...string) string {
	return strings.Join(append([]string{`namespace="production"`, `pod="` + pod + `"`}, more...), ",")
}

// in is at in namespace staging, where the same Deployment runs too.
func in(pod string, more ...string) string {
	return strings.Join(append([]string{`namespace="staging"`, `pod="` + pod + `"`}, more...), ",")
}

// input is a series: name{labels} from start, gaining step every 15 s (a
// counter) or, with step 0, staying at start (a gauge).
func input(name, labels string, start, step float64) series {
	if step == 0 {
		return series{name + "{" + labels + "}", fmt.Sprintf("%vx20", start)}
	}
	return series{name + "{" + labels + "}", fmt.Sprintf("%v+%vx20", start, step)}
}

// The series of the resource alerts: cAdvisor's, per container, with the
// labels it gives them.
func cpu(labels string, cores, limit float64) []series {
	out := []series{input("container_cpu_usage_seconds_total", labels, 0, cores*15)}
	if limit > 0 {
		out = append(out, input("container_spec_cpu_quota", labels, limit*100000, 0), input("container_spec_cpu_period", labels, 100000, 0))
	}
	return out
}

func memory(labels string, bytes, limit float64) []series {
	return []series{input("container_memory_working_set_bytes", labels, bytes, 0), input("container_spec_memory_limit_bytes", labels, limit, 0)}
}

// latency is a histogram of requests per 15 s, cumulative by bucket.
func latency(labels string, buckets map[string]float64) []series {
	var out []series
	for le, n := range buckets {
		out = append(out, input("http_request_duration_seconds_bucket", labels+`,le="`+le+`"`, 0, n))
	}
	return out
}

func concat(groups ...[]series) []series {
	var out []series
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// firing is an alert the test expects: its severity, its labels beyond
// alertname, severity, service and namespace, and the text people read.
type firing struct {
	severity             string
	labels               map[string]string
	summary, description string
}

// TestAlertsInPromtool runs each alert in Prometheus's own rule engine:
// just above each threshold it fires, once its for has passed (and not
// before); just below it stays quiet, whatever other pods, Deployments and
// namespaces do.
func TestAlertsInPromtool(t *testing.T) {
	svc := fxPlatform()
	svc.ScrapeInterval = model.Duration(15 * time.Second)
	svc.RateWindow = model.Duration(time.Minute)
	m := model.Duration(time.Minute)
	svc.For = For{DeploymentFailure: m, ErrorRate: m, Latency: m, CPU: m, Memory: m}
	rule, err := PrometheusRule(svc)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := RuleFile(rule)
	if err != nil {
		t.Fatal(err)
	}
	const app = "production/fx-platform-service"
	errorRate := func(severity, ratio, threshold string) firing {
		return firing{severity, map[string]string{"color": "blue"}, "High error rate on fx-platform-service (blue)",
			ratio + " of the requests to the blue colour of " + app + " were answered 5xx over the last 1m (" + severity + " above " + threshold + ")."}
	}
	highLatency := func(severity, color, p95, threshold string) firing {
		return firing{severity, map[string]string{"color": color}, "High latency on fx-platform-service (" + color + ")",
			"The p95 response time of the " + color + " colour of " + app + " over the last 1m is " + p95 + " (" + severity + " above " + threshold + ")."}
	}
	resource := func(what string) func(severity, pod, share, threshold string) firing {
		return func(severity, pod, share, threshold string) firing {
			color := strings.Split(pod, "-")[2]
			return firing{severity, map[string]string{"pod": pod, "color": color}, "High " + what + " on pod " + pod,
				"A container of pod production/" + pod + " (" + app + ") uses " + share + " of its " + what + " limit (" + severity + " above " + threshold + ")."}
		}
	}
	highCPU, highMemory := resource("CPU"), resource("memory")
	unavailable := func(deployment string, replicas string) firing {
		return firing{"critical", map[string]string{"deployment": deployment, "color": strings.TrimPrefix(deployment, "fx-platform-")}, "Deployment " + deployment + " has unavailable replicas",
			replicas + " replicas of Deployment production/" + deployment + ", a colour of " + app + ", are unavailable."}
	}
	// Requests per 15 s: 10,000 to blue, and 5,000 to green, which
	// answers them all: each colour's error rate is its own.
	requests := func(blue5xx float64, noise ...series) []series {
		return append([]series{
			input("http_requests_total", at(bluePod, `code="200"`), 0, 10000-blue5xx),
			input("http_requests_total", at(bluePod, `code="500"`), 0, blue5xx),
			input("http_requests_total", at(greenPod, `code="200"`), 0, 5000),
		}, noise...)
	}
	// Errors that are not the service's: another Deployment's pod, a Job
	// named after a colour, and the same pod name in staging, all failing.
	otherErrors := []series{
		input("http_requests_total", at(otherPod, `code="500"`), 0, 10000),
		input("http_requests_total", at(jobPod, `code="500"`), 0, 10000),
		input("http_requests_total", in(bluePod, `code="500"`), 0, 10000),
	}
	app1 := `container="app"`
	tests := []struct {
		name   string
		alert  string
		series []series
		want   []firing
	}{
		{"DeploymentFailure: one replica of green unavailable", AlertDeploymentFailure, []series{
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-blue",job="kube-state-metrics"`, 0, 0),
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-green",job="kube-state-metrics"`, 1, 0),
		}, []firing{unavailable("fx-platform-green", "1")}},
		{"DeploymentFailure: all available, other Deployments not", AlertDeploymentFailure, []series{
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-blue",job="kube-state-metrics"`, 0, 0),
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-green",job="kube-state-metrics"`, 0, 0),
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-worker",job="kube-state-metrics"`, 3, 0),
			input("kube_deployment_status_replicas_unavailable", `namespace="production",deployment="fx-platform-blue-old",job="kube-state-metrics"`, 3, 0),
			input("kube_deployment_status_replicas_unavailable", `namespace="staging",deployment="fx-platform-blue",job="kube-state-metrics"`, 3, 0),
		}, nil},

		{"HighErrorRate: 1.01 % warns", AlertHighErrorRate, requests(101), []firing{errorRate("warning", "1.01%", "1%")}},
		{"HighErrorRate: 0.99 % is quiet, other pods' errors left out", AlertHighErrorRate, requests(99, otherErrors...), nil},
		{"HighErrorRate: 5.01 % is critical", AlertHighErrorRate, requests(501),
			[]firing{errorRate("warning", "5.01%", "1%"), errorRate("critical", "5.01%", "5%")}},
		{"HighErrorRate: 4.99 % warns only", AlertHighErrorRate, requests(499, otherErrors...), []firing{errorRate("warning", "4.99%", "1%")}},
		{"HighErrorRate: no requests is quiet", AlertHighErrorRate, otherErrors, nil},

		// p95 interpolated in the bucket that holds the 95th percentile.
		{"HighLatency: p95 1.02 s warns, on the slow colour alone", AlertHighLatency, concat(
			latency(at(bluePod), map[string]float64{"0.9": 175, "1.1": 200, "+Inf": 200}),
			latency(at(greenPod), map[string]float64{"0.1": 200, "0.9": 200, "1.1": 200, "+Inf": 200}),
		), []firing{highLatency("warning", "blue", "1.02s", "1s")}},
		{"HighLatency: p95 0.98 s is quiet, other pods' latency left out", AlertHighLatency, concat(
			latency(at(bluePod), map[string]float64{"0.9": 275, "1.1": 300, "+Inf": 300}),
			latency(at(otherPod), map[string]float64{"0.9": 0, "1.1": 0, "+Inf": 300}),
			latency(at(jobPod), map[string]float64{"0.9": 0, "1.1": 0, "+Inf": 300}),
			latency(in(bluePod), map[string]float64{"0.9": 0, "1.1": 0, "+Inf": 300}),
		), nil},
		{"HighLatency: p95 2.04 s is critical", AlertHighLatency,
			latency(at(bluePod), map[string]float64{"1.8": 175, "2.2": 200, "+Inf": 200}),
			[]firing{highLatency("warning", "blue", "2.04s", "1s"), highLatency("critical", "blue", "2.04s", "2s")}},
		{"HighLatency: p95 1.96 s warns only", AlertHighLatency,
			latency(at(greenPod), map[string]float64{"1.8": 275, "2.2": 300, "+Inf": 300}),
			[]firing{highLatency("warning", "green", "1.96s", "1s")}},

		{"HighCPU: 81 % of the limit warns", AlertHighCPU, cpu(at(bluePod, app1), 0.81, 1), []firing{highCPU("warning", bluePod, "81%", "80%")}},
		{"HighCPU: 79 % is quiet, other containers left out", AlertHighCPU, concat(
			cpu(at(bluePod, app1), 0.79, 1),
			cpu(at(bluePod, `container="istio-proxy"`), 4, 0), // no limit
			cpu(at(bluePod, `container=""`), 4, 1),            // the pod's cgroup
			cpu(at(otherPod, app1), 1, 1),
			cpu(at(jobPod, app1), 1, 1),
			cpu(in(bluePod, app1), 1, 1),
		), nil},
		{"HighCPU: 91 % of half a core is critical", AlertHighCPU, concat(
			cpu(at(greenPod, app1), 0.455, 0.5),
			cpu(at(greenPod, `container="sidecar"`), 0.01, 1), // idle: the busiest container counts
		), []firing{highCPU("warning", greenPod, "91%", "80%"), highCPU("critical", greenPod, "91%", "90%")}},
		{"HighCPU: 89 % warns only", AlertHighCPU, cpu(at(greenPod, app1), 0.89, 1), []firing{highCPU("warning", greenPod, "89%", "80%")}},

		{"HighMemory: 81 % of the limit warns", AlertHighMemory, memory(at(bluePod, app1), 810e6, 1e9), []firing{highMemory("warning", bluePod, "81%", "80%")}},
		{"HighMemory: 79 % is quiet, other containers left out", AlertHighMemory, concat(
			memory(at(bluePod, app1), 790e6, 1e9),
			memory(at(bluePod, `container="istio-proxy"`), 5e9, 0), // cAdvisor's 0: no limit
			memory(at(bluePod, `container=""`), 2e9, 1e9),
			memory(at(otherPod, app1), 1e9, 1e9),
			memory(at(jobPod, app1), 1e9, 1e9),
			memory(in(bluePod, app1), 1e9, 1e9),
		), nil},
		{"HighMemory: 91 % is critical", AlertHighMemory, memory(at(greenPod, app1), 910e6, 1e9),
			[]firing{highMemory("warning", greenPod, "91%", "80%"), highMemory("critical", greenPod, "91%", "90%")}},
		{"HighMemory: 89 % warns only", AlertHighMemory, memory(at(greenPod, app1), 890e6, 1e9), []firing{highMemory("warning", greenPod, "89%", "80%")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := []expAlert{}
			for _, f := range tc.want {
				labels := map[string]string{"severity": f.severity, "service": "fx-platform-service", "namespace": "production"}
				for k, v := range f.labels {
					labels[k] = v
				}
				exp = append(exp, expAlert{ExpLabels: labels, ExpAnnotations: map[string]string{
					"summary":     f.summary,
					"description": f.description,
					"runbook_url": DefaultRunbookURL + "#" + strings.ToLower(tc.alert),
				}})
			}
			test, err := yaml.Marshal(ruleTests{
				RuleFiles:          []string{"rules.yml"},
				EvaluationInterval: "15s",
				Tests: []ruleTest{{
					Interval:    "15s",
					InputSeries: tc.series,
					AlertTests: []alertTest{
						// Pending, not firing, while for (1m) has not passed.
						{EvalTime: "45s", Alertname: tc.alert, ExpAlerts: []expAlert{}},
						{EvalTime: "4m", Alertname: tc.alert, ExpAlerts: exp},
					},
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			runPromtool(t, map[string][]byte{"rules.yml": rules, "test.yml": test}, "test", "rules", "test.yml")
		})
	}
}
