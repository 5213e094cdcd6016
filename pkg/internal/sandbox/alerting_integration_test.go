//go:build integration

package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sandbox's alerting chain: a rule file loaded into Prometheus fires,
// Alertmanager routes the alert of the test's namespace to the test's
// webhook; a bad rule file is refused and leaves the others loaded; a
// series pushed to the Pushgateway is scraped with its labels.
func TestAlertsReachAReceiver(t *testing.T) {
	s := Get(t)
	start := time.Now()
	ns := fmt.Sprintf("alerts-%d", time.Now().UnixNano())
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("webhook: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range body.Alerts {
			got = append(got, a.Status+" "+a.Labels["alertname"]+" "+a.Labels["namespace"]+" "+a.Labels["severity"])
		}
	}))
	defer hook.Close()
	if err := s.AddAlertReceiver(ns, ns, hook.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveAlertReceiver(ns) })
	rules := fmt.Sprintf(`groups:
  - name: %[1]s
    rules:
      - alert: SandboxAlwaysFiring
        expr: vector(1) > 0
        labels: {namespace: %[1]q, severity: critical}
        annotations: {summary: "fires at once"}
`, ns)
	if err := s.AddRules(ns, []byte(rules)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveRules(ns) })
	if err := s.AddRules(ns+"-bad", []byte("groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: sum(\n")); err == nil || !strings.Contains(err.Error(), "loading rule file") {
		t.Errorf("a bad rule file: %v, want it refused", err)
	}
	eventually(t, "the alert to reach the webhook", func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if g == "firing SandboxAlwaysFiring "+ns+" critical" {
				return true, nil
			}
		}
		return false, nil
	})
	t.Logf("the alert reached the webhook %s after the rule was loaded", time.Since(start).Round(time.Millisecond))
	eventually(t, "ALERTS to show it firing", func(ctx context.Context) (bool, error) {
		v, err := promQuery(ctx, s.PrometheusURL, fmt.Sprintf(`ALERTS{alertstate="firing",namespace=%q}`, ns))
		return v == "1", err
	})

	t.Logf("ALERTS after %s", time.Since(start).Round(time.Millisecond))
	job := "sandbox-test-" + ns
	req, _ := http.NewRequest(http.MethodPut, s.PushgatewayURL+"/metrics/job/"+job+"/namespace/"+ns, strings.NewReader("# TYPE sandbox_pushed gauge\nsandbox_pushed 7\n"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %v %v", resp, err)
	}
	resp.Body.Close()
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, s.PushgatewayURL+"/metrics/job/"+job+"/namespace/"+ns, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	eventually(t, "the pushed series in Prometheus, with its labels", func(ctx context.Context) (bool, error) {
		v, err := promQuery(ctx, s.PrometheusURL, fmt.Sprintf(`sandbox_pushed{job=%q,namespace=%q}`, job, ns))
		return v == "7", err
	})
}
