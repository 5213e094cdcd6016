package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The sandbox's alerting: Debian's Alertmanager, which Prometheus sends its
// alerts to, and Debian's Pushgateway, which Prometheus scrapes (promote and
// rollback push their progress to it).
var (
	toolAlertmanager = debianTool{binary: "prometheus-alertmanager", pkg: "prometheus-alertmanager"}
	toolPushgateway  = debianTool{binary: "prometheus-pushgateway", pkg: "prometheus-pushgateway"}
)

// AlertReceiver is a webhook Alertmanager sends the alerts of one
// namespace to (its label namespace), resolved ones included.
type AlertReceiver struct {
	Namespace string `json:"namespace"`
	URL       string `json:"url"`
}

// writeAlertmanagerConfig writes alertmanager.yml from the receivers
// registered in dir/receivers: one route per namespace, grouped by alert
// name and sent within a second, everything else to no one.
func writeAlertmanagerConfig(dir string) (string, error) {
	recvDir := filepath.Join(dir, "receivers")
	if err := os.MkdirAll(recvDir, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(recvDir)
	if err != nil {
		return "", err
	}
	var names []string
	receivers := map[string]AlertReceiver{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(recvDir, e.Name()))
		if err != nil {
			return "", err
		}
		var r AlertReceiver
		if err := json.Unmarshal(data, &r); err != nil {
			return "", fmt.Errorf("alert receiver %s: %w", name, err)
		}
		names = append(names, name)
		receivers[name] = r
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(`route:
  receiver: none
  group_by: [alertname, namespace, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
`)
	for _, n := range names {
		fmt.Fprintf(&b, "    - receiver: %q\n      matchers: [%q]\n", "r-"+n, fmt.Sprintf("namespace=%q", receivers[n].Namespace))
	}
	if len(names) == 0 {
		b.WriteString("    []\n")
	}
	b.WriteString("receivers:\n  - name: none\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %q\n    webhook_configs:\n      - url: %q\n        send_resolved: true\n", "r-"+n, receivers[n].URL)
	}
	path := filepath.Join(dir, "alertmanager.yml")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

func alertmanagerArgs(dir, config string, port int) []string {
	return []string{
		"--config.file=" + config,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + hostPort(port),
		"--cluster.listen-address=", // one instance: no gossip port
	}
}

// pushgatewayArgs keeps the pushed series in dir (the sandbox also tells
// its own processes by the state directory in their command lines).
func pushgatewayArgs(dir string, port int) []string {
	return []string{"--web.listen-address=" + hostPort(port), "--persistence.file=" + filepath.Join(dir, "pushgateway.data")}
}

// AddAlertReceiver routes the alerts whose namespace label is namespace to
// url, under name (adding a name again replaces it), and reloads
// Alertmanager. Tests in other processes share the sandbox: the receivers
// are files, rewritten into the config under a lock.
func (s *Sandbox) AddAlertReceiver(name, namespace, url string) error {
	if !targetName.MatchString(name) {
		return fmt.Errorf("alert receiver name %q: use letters, digits, '.', '_' and '-'", name)
	}
	data, err := json.Marshal(AlertReceiver{Namespace: namespace, URL: url})
	if err != nil {
		return err
	}
	var path string
	err = s.changeAlertReceivers(func(dir string) error {
		tmp := filepath.Join(dir, "."+name+".json.tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		path = filepath.Join(dir, name+".json")
		return os.Rename(tmp, path)
	})
	if err != nil && path != "" {
		// A receiver Alertmanager refuses must not stay, or every later
		// change would be refused with it.
		return errors.Join(err, s.RemoveAlertReceiver(name))
	}
	return err
}

// RemoveAlertReceiver stops sending alerts to the receiver added as name.
func (s *Sandbox) RemoveAlertReceiver(name string) error {
	return s.changeAlertReceivers(func(dir string) error {
		err := os.Remove(filepath.Join(dir, name+".json"))
		if os.IsNotExist(err) {
			return nil
		}
		return err
	})
}

func (s *Sandbox) changeAlertReceivers(change func(dir string) error) error {
	if s.AlertmanagerURL == "" {
		return fmt.Errorf("this sandbox runs no Alertmanager (started before it had one: restart it)")
	}
	dir := filepath.Join(s.Dir, "alertmanager")
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	if err := change(filepath.Join(dir, "receivers")); err != nil {
		return err
	}
	if _, err := writeAlertmanagerConfig(dir); err != nil {
		return err
	}
	return reload(s.AlertmanagerURL)
}

// AddRules loads a Prometheus rule file (the groups: YAML) into the
// sandbox's Prometheus as name, replacing one of that name, and returns once
// Prometheus has reloaded it: a file it refuses is an error, and is removed.
// Tests in other processes share the sandbox: a reload reads every file, so
// each change and its reload happen under a lock, or one test's bad file
// would fail (and remove) another's good one reloaded meanwhile.
func (s *Sandbox) AddRules(name string, rules []byte) error {
	if !targetName.MatchString(name) {
		return fmt.Errorf("rule file name %q: use letters, digits, '.', '_' and '-'", name)
	}
	dir := filepath.Join(s.Dir, "prometheus", "rules")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := s.lockRules()
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(dir, name+".yml")
	tmp := filepath.Join(dir, "."+name+".yml.tmp")
	if err := os.WriteFile(tmp, rules, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := reload(s.PrometheusURL); err != nil {
		_ = os.Remove(path)
		return errors.Join(fmt.Errorf("loading rule file %s: %w", name, err), reload(s.PrometheusURL))
	}
	return nil
}

// RemoveRules unloads the rule file added as name.
func (s *Sandbox) RemoveRules(name string) error {
	unlock, err := s.lockRules()
	if err != nil {
		return err
	}
	defer unlock()
	err = os.Remove(filepath.Join(s.Dir, "prometheus", "rules", name+".yml"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return reload(s.PrometheusURL)
}

// lockRules takes the lock of the rule files (beside their directory,
// out of rule_files' glob), waiting at most a minute for another process.
func (s *Sandbox) lockRules() (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return lockFile(ctx, filepath.Join(s.Dir, "prometheus", "rules.lock"))
}

// reload asks a Prometheus or an Alertmanager to read its configuration
// again; it answers once done, with an error for a configuration it
// refuses (and keeps the old one).
func reload(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reloading %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reloading %s: %s: %s", base, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}
