package monitoring

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

// The files WriteFiles writes.
const (
	FilePrometheusRule = "prometheusrule.yaml"
	FileServiceMonitor = "servicemonitor.yaml"
	FileDashboard      = "dashboard.json"
	FileRules          = "rules.yml"
)

// Files renders everything of s, by file name: the PrometheusRule and the
// ServiceMonitor as Kubernetes YAML, the dashboard's JSON, and the alerts'
// rule file for a Prometheus without the Operator.
func Files(s Service) (map[string][]byte, error) {
	rule, err := PrometheusRule(s)
	if err != nil {
		return nil, err
	}
	monitor, err := ServiceMonitor(s)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if files[FilePrometheusRule], err = yaml.Marshal(rule); err != nil {
		return nil, fmt.Errorf("writing the PrometheusRule: %w", err)
	}
	if files[FileServiceMonitor], err = yaml.Marshal(monitor); err != nil {
		return nil, fmt.Errorf("writing the ServiceMonitor: %w", err)
	}
	if files[FileRules], err = RuleFile(rule); err != nil {
		return nil, err
	}
	if files[FileDashboard], err = DashboardJSON(s); err != nil {
		return nil, err
	}
	return files, nil
}

// WriteFiles renders s into dir, which it makes if it is missing, and
// returns the paths written. Nothing is written unless everything renders.
func WriteFiles(dir string, s Service) ([]string, error) {
	files, err := Files(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making %q: %w", dir, err)
	}
	var paths []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return paths, fmt.Errorf("writing %q: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
