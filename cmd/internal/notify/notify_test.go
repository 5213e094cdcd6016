package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
)

var spec = &action.Spec{Name: "notify-test", Inputs: Inputs}

// run parses the group and, when it is good, notifies a start: a bad
// input must send nothing.
func run(ctx context.Context, a *action.Action) error {
	in := a.Inputs()
	g := Parse(a, in)
	if err := in.Err(); err != nil {
		return err
	}
	n := g.Notifier(a, "https://github.com/acme/fx/deployments/production")
	n.Notify(pkgnotify.Event{Kind: pkgnotify.Start, Action: "promote", Service: "fx-prod/fx", Environment: "production", Weight: -1})
	n.Close(ctx)
	return nil
}

const secret = "hunter2-webhook-secret"

func TestBadInputs(t *testing.T) {
	srv := actiontest.NewServer(t, nil)
	good := srv.URL + "/services/T0/B0/s3cr3t"
	actiontest.BadInputs{
		Spec: spec, Run: run, Servers: []*actiontest.Server{srv},
		Good: map[string]string{"slack-webhook-url": good, "teams-webhook-url": good, "webhook-url": good, "webhook-secret": secret},
		// Exactly one input is wrong in each case, so exactly one is named;
		// and the error never quotes a URL.
		Check: func(t *testing.T, r *actiontest.Runner) {
			errs := r.Annotations("error")
			if len(errs) == 1 && strings.Count(errs[0], `input "`) != 1 {
				t.Errorf("error %q names more than one input", errs[0])
			}
			for _, e := range errs {
				if strings.Contains(e, "s3cr3t") || strings.Contains(e, "evil.example") || strings.Contains(e, secret) {
					t.Errorf("error %q shows a URL or the secret", e)
				}
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "slack over http", Set: map[string]string{"slack-webhook-url": "http://hooks.evil.example/services/s3cr3t"}, Input: "slack-webhook-url"},
		{Name: "teams over http", Set: map[string]string{"teams-webhook-url": "http://evil.example/workflows/s3cr3t"}, Input: "teams-webhook-url"},
		{Name: "webhook over http", Set: map[string]string{"webhook-url": "http://10.0.0.1/s3cr3t"}, Input: "webhook-url"},
		{Name: "http to a name that ends in localhost", Set: map[string]string{"webhook-url": "http://localhost.evil.example/s3cr3t"}, Input: "webhook-url"},
		{Name: "no scheme", Set: map[string]string{"slack-webhook-url": "hooks.evil.example/services/s3cr3t"}, Input: "slack-webhook-url"},
		{Name: "ftp", Set: map[string]string{"teams-webhook-url": "ftp://evil.example/s3cr3t"}, Input: "teams-webhook-url"},
		{Name: "no host", Set: map[string]string{"webhook-url": "https:///s3cr3t"}, Input: "webhook-url"},
		{Name: "opaque", Set: map[string]string{"webhook-url": "https:evil.example/s3cr3t"}, Input: "webhook-url"},
		{Name: "not a URL", Set: map[string]string{"slack-webhook-url": "https://evil.example/%zz/s3cr3t"}, Input: "slack-webhook-url"},
		{Name: "webhook without its secret", Set: map[string]string{"webhook-secret": ""}, Input: "webhook-secret"},
		{Name: "secret without its webhook", Set: map[string]string{"webhook-url": ""}, Input: "webhook-url"},
	})
}

// TestEachReceiver: each input alone makes its receiver, with the run's
// link; loopback http is allowed for each. The four values are masked
// before anything is printed (action.New masks Sensitive inputs).
func TestEachReceiver(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // path -> body
	srv := actiontest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = string(b)
		mu.Unlock()
		if r.URL.Path == "/webhook" && !pkgnotify.Verify(secret, b, r.Header.Get(pkgnotify.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	inputs := map[string]string{
		"slack-webhook-url": srv.URL + "/slack",
		"teams-webhook-url": localhost + "/teams",
		"webhook-url":       srv.URL + "/webhook",
		"webhook-secret":    secret,
	}
	r := actiontest.New(t, inputs)
	r.Env["GITHUB_SERVER_URL"], r.Env["GITHUB_REPOSITORY"], r.Env["GITHUB_RUN_ID"] = "https://github.com", "acme/fx", "7"
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit code %d: %q", code, r.Annotations("error"))
	}
	if w := r.Annotations("warning"); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	masks := r.Annotations("add-mask")
	for name, v := range inputs {
		if !slices.Contains(masks, v) {
			t.Errorf("%s is not masked (masks: %d)", name, len(masks))
		}
	}
	for _, path := range []string{"/slack", "/teams", "/webhook"} {
		if !strings.Contains(got[path], "https://github.com/acme/fx/actions/runs/7") || !strings.Contains(got[path], "https://github.com/acme/fx/deployments/production") {
			t.Errorf("%s got %s, want the run's and the deployment's links", path, got[path])
		}
	}
	var e pkgnotify.Event
	if err := json.Unmarshal([]byte(got["/webhook"]), &e); err != nil || e.Title != "promote fx-prod/fx to production: started" {
		t.Errorf("the webhook got %+v (%v)", e, err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		inputs    map[string]string
		receivers []string
	}{
		{name: "none", inputs: map[string]string{}},
		{name: "slack", inputs: map[string]string{"slack-webhook-url": "https://hooks.slack.com/services/T0/B0/x"}, receivers: []string{"Slack"}},
		{name: "teams over IPv6 loopback", inputs: map[string]string{"teams-webhook-url": "http://[::1]:8080/hook"}, receivers: []string{"Teams"}},
		{name: "all", inputs: map[string]string{"slack-webhook-url": "https://a.example/x", "teams-webhook-url": "https://b.example/y", "webhook-url": "http://127.0.0.1/z", "webhook-secret": "s"},
			receivers: []string{"Slack", "Teams", "webhook"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, tc.inputs)
			r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
				in := a.Inputs()
				g := Parse(a, in)
				if err := in.Err(); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, rc := range g.Receivers() {
					names = append(names, rc.Name())
				}
				if !slices.Equal(names, tc.receivers) || g.Enabled() != (len(tc.receivers) > 0) {
					t.Errorf("receivers %q (enabled %v), want %q", names, g.Enabled(), tc.receivers)
				}
				if n := g.Notifier(a, ""); (n == nil) != (len(tc.receivers) == 0) {
					t.Errorf("Notifier %v with %d receivers", n, len(tc.receivers))
				} else {
					n.Close(ctx)
				}
				if g.RunURL != "" {
					t.Errorf("RunURL %q outside a runner's context", g.RunURL)
				}
				return nil
			})
		})
	}
}
