//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// receiver is a local webhook that checks each request's signature and
// keeps the events in order.
type receiver struct {
	mu     sync.Mutex
	events []notify.Event
	bad    []string
	held   chan struct{} // closed at the first hold event
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !notify.Verify("s3cret", body, r.Header.Get(notify.SignatureHeader)) {
		rc.bad = append(rc.bad, "bad signature: "+r.Header.Get(notify.SignatureHeader))
	}
	var e notify.Event
	if err := json.Unmarshal(body, &e); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	if string(e.Kind) != r.Header.Get(notify.EventHeader) {
		rc.bad = append(rc.bad, "event header "+r.Header.Get(notify.EventHeader)+" for "+string(e.Kind))
	}
	rc.events = append(rc.events, e)
	if e.Kind == notify.Hold && len(rc.events) > 0 {
		select {
		case <-rc.held:
		default:
			close(rc.held)
		}
	}
}

// TestNotifiedManualJudgement, on the real node: a canary with pause-at 34
// holds there, its webhook hears the hold, a person resumes it (the control
// verb, from another run), and it promotes. The signed webhook gets start,
// each measured step, the hold, the resume and the success in order; a
// Teams receiver that never answers and a Slack receiver that answers 500
// are warnings and fail nothing. The probe through the live Service sees no
// failed request.
func TestNotifiedManualJudgement(t *testing.T) {
	app := rollouttest.RealBlueApp(t, 3, rollouttest.Image(t, "v1"), "v1")
	v2 := rollouttest.Image(t, "v2")
	rc := &receiver{held: make(chan struct{})}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(hang)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer failing.Close()

	probe := app.Probe(t)
	r := actiontest.New(t, map[string]string{"namespace": app.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": v2, "strategy": "canary", "steps": "34,67,100", "step-pause": "2s", "traffic-router": "replicas", "pause-at": "34",
		"scale-down-delay": "1s", "timeout": "5m", "kubeconfig": app.Kubeconfig,
		"availability-url": app.URL, "availability-rate": "50",
		"webhook-url": hook.URL, "webhook-secret": "s3cret", "teams-webhook-url": hanging.URL, "slack-webhook-url": failing.URL,
		"pushgateway-url": app.PushgatewayURL})
	r.Env["GITHUB_SERVER_URL"], r.Env["GITHUB_REPOSITORY"], r.Env["GITHUB_RUN_ID"] = "https://github.example", "acme/fx", "42"
	done := make(chan int, 1)
	go func() { done <- r.Run(context.Background(), spec, run) }()
	select {
	case <-rc.held:
	case code := <-done:
		t.Fatalf("promote exited %d before it held: %s", code, r.Log.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("no hold was notified")
	}
	resume, err := rollout.Control(context.Background(), rollout.ControlConfig{Verb: rollout.VerbResume, Reason: "looks good",
		Target: rollout.Target{App: traffic.App{Namespace: app.Namespace, Service: rollouttest.Service, Deployment: rollouttest.Deployment},
			Client: app.Client, Owner: "acme/fx/runs/43/control (alice)"}})
	if err != nil || resume.Ack.Result != "resumed" {
		t.Fatalf("resume: %+v, %v", resume, err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, r.Log.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the promote did not finish after resume")
	}
	rollouttest.Settle(t, probe, "v2")
	rollouttest.CheckProbe(t, "a canary held for a person, then resumed", probe, "v1", "v2")

	// The rollout gauges reached Prometheus through the Pushgateway.
	prom, err := analysis.NewPrometheus(app.PrometheusURL)
	if err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`namespace=%q,service=%q`, app.Namespace, rollouttest.Service)
	for _, q := range []string{
		`deploy_actions_rollout_result{` + sel + `,result="promoted"}`,
		`deploy_actions_rollout_live_color{` + sel + `,color="green"}`,
		`deploy_actions_rollout_weight{` + sel + `} / 100`,
	} {
		err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			v, err := prom.Query(ctx, q)
			return err == nil && v == 1, nil
		})
		if err != nil {
			t.Errorf("%s: not 1 in Prometheus: %v", q, err)
		}
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	var kinds []string
	for _, e := range rc.events {
		kinds = append(kinds, string(e.Kind))
		if e.RunURL != "https://github.example/acme/fx/actions/runs/42" || e.Service != app.Namespace+"/"+rollouttest.Service || e.Image != v2 {
			t.Errorf("%s event: run %q, service %q, image %q", e.Kind, e.RunURL, e.Service, e.Image)
		}
	}
	if got, want := strings.Join(kinds, ","), "start,step,hold,resume,step,step,success"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	if len(rc.bad) > 0 {
		t.Errorf("the webhook's requests: %q", rc.bad)
	}
	if len(rc.events) == 7 {
		if e := rc.events[2]; e.Weight != 34 || !strings.Contains(e.Message, "pause-at 34") {
			t.Errorf("hold event: %+v", e)
		}
		if e := rc.events[3]; !strings.Contains(e.Message, "resume by acme/fx/runs/43/control (alice): looks good") {
			t.Errorf("resume event: %+v", e)
		}
		if e := rc.events[6]; e.Weight != 100 || !strings.Contains(e.Title, "promoted, live on green") {
			t.Errorf("success event: %+v", e)
		}
	}
	warnings := strings.Join(r.Annotations("warning"), "\n")
	for _, want := range []string{"500", "Teams"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
	// Past the masks the runner is given, no line shows a webhook or the secret.
	for _, line := range strings.Split(r.Log.String(), "\n") {
		for _, secret := range []string{hanging.URL, failing.URL, hook.URL, "s3cret"} {
			if strings.Contains(line, secret) && !strings.HasPrefix(line, "::add-mask::") {
				t.Errorf("the log shows %q: %s", secret, line)
			}
		}
	}
	if sum := r.Summary(); !strings.Contains(sum, "hold at 34 %") || !strings.Contains(sum, "resume by acme/fx/runs/43/control (alice)") {
		t.Errorf("the summary lacks the hold:\n%s", sum)
	}
}
