package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// ScrapeInterval is how often the sandbox's Prometheus scrapes its targets.
const ScrapeInterval = "1s"

// promConfig is where the sandbox's Prometheus sends alerts and what it
// scrapes besides the targets tests add.
type promConfig struct {
	alertmanager, pushgateway string // host:port
	// kubelet is the real node's kubelet (host:port, "" without one), whose
	// cAdvisor metrics give the pods' CPU and memory; token authenticates
	// to it.
	kubelet, token string
}

// writePrometheusConfig writes prometheus.yml: the file_sd scrape targets
// tests add, the Pushgateway (its series keep the labels pushed), the real
// node's cAdvisor metrics, the rule files in dir/rules, and the
// Alertmanager alerts go to.
func writePrometheusConfig(dir string, c promConfig) (string, error) {
	for _, sub := range []string{"targets", "rules"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	config := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
rule_files: [%[3]q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%[4]q]
scrape_configs:
  - job_name: sandbox
    file_sd_configs:
      - files: [%[2]q]
        refresh_interval: 1s
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: [%[5]q]
`, ScrapeInterval, filepath.Join(dir, "targets", "*.json"), filepath.Join(dir, "rules", "*.yml"), c.alertmanager, c.pushgateway)
	if c.kubelet != "" {
		tokenFile := filepath.Join(dir, "kubelet-token")
		if err := os.WriteFile(tokenFile, []byte(c.token), 0o600); err != nil {
			return "", err
		}
		// The kubelet's serving certificate is self-signed: the node is
		// this machine's own.
		config += fmt.Sprintf(`  - job_name: kubelet-cadvisor
    scheme: https
    metrics_path: /metrics/cadvisor
    tls_config: {insecure_skip_verify: true}
    authorization: {credentials_file: %q}
    static_configs:
      - targets: [%q]
`, tokenFile, c.kubelet)
	}
	path := filepath.Join(dir, "prometheus.yml")
	return path, os.WriteFile(path, []byte(config), 0o644)
}

func prometheusArgs(dir, config string, port int) []string {
	return []string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address=" + hostPort(port),
		"--web.enable-lifecycle",
		// A reload restarts the Alertmanager discovery: an alert that fires
		// at once after one can be sent while no Alertmanager is known, and
		// is only sent again after the resend delay (1 m by default).
		"--rules.alert.resend-delay=2s",
	}
}

var targetName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// AddScrapeTarget makes Prometheus scrape /metrics of each address
// ("127.0.0.1:8080") under the group name, with the given labels on every
// series (a "job" label replaces the default job "sandbox"). Prometheus
// picks the file up within a second or two. Adding a name again replaces
// its targets.
func (s *Sandbox) AddScrapeTarget(name string, addrs []string, labels map[string]string) error {
	return s.AddScrapeGroups(name, []TargetGroup{{Targets: addrs, Labels: labels}})
}

// TargetGroup is addresses Prometheus scrapes with the same labels.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// AddScrapeGroups is AddScrapeTarget with labels of each group's own.
func (s *Sandbox) AddScrapeGroups(name string, groups []TargetGroup) error {
	if !targetName.MatchString(name) {
		return fmt.Errorf("scrape target name %q: use letters, digits, '.', '_' and '-'", name)
	}
	if groups == nil {
		groups = []TargetGroup{}
	}
	data, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(s.Dir, "prometheus", "targets")
	// Write then rename, so Prometheus never reads a half-written file.
	tmp := filepath.Join(dir, "."+name+".json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing scrape target %q: %w", name, err)
	}
	return os.Rename(tmp, filepath.Join(dir, name+".json"))
}

// RemoveScrapeTarget stops scraping the group added under name.
func (s *Sandbox) RemoveScrapeTarget(name string) error {
	err := os.Remove(filepath.Join(s.Dir, "prometheus", "targets", name+".json"))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
