package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json instead of comparing them")

// A Slack-like URL (the path is the secret) and a webhook secret that no
// error or warning may show.
const (
	secretPath = "/services/T0000/B0000/s3cr3tT0ken"
	secret     = "hunter2-webhook-secret"
)

func sample(k Kind) Event {
	return Event{
		Kind: k, Action: "promote", Service: "fx-prod/fx-platform", Environment: "production",
		Image:       "ghcr.io/acme/fx@sha256:" + strings.Repeat("ab", 32),
		StableImage: "ghcr.io/acme/fx@sha256:" + strings.Repeat("cd", 32),
		Weight:      25, Title: "fx-platform to production: " + string(k),
		Message: "Step 2 of 4 <measured> & judged",
		Reason:  "error rate 0.8 % is above 0.1 %",
		Values: []Value{
			{Name: "error rate", Value: "0.8 %", Target: "< 0.1 %", Status: Fail},
			{Name: "p95 latency", Value: "212 ms", Target: "< 500 ms", Status: Pass},
			{Name: "throughput", Value: "no data", Target: "> 1000/min", Status: Inconclusive},
		},
		Duration:      42*time.Second + 500*time.Millisecond,
		RunURL:        "https://github.com/acme/fx/actions/runs/7",
		DeploymentURL: "https://github.com/acme/fx/deployments/production",
		Changes: []Change{
			{SHA: "0123456789abcdef0123456789abcdef01234567", Title: "fix the <rate> & limits", Author: "ada", URL: "https://github.com/acme/fx/commit/0123456", PR: 42},
			{SHA: "89abcdef", Title: "docs"},
		},
		Time: time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC),
	}
}

type request struct {
	header http.Header
	body   []byte
}

// recorder is a webhook that answers status and hands each request over.
func recorder(t *testing.T, status int) (*httptest.Server, <-chan request) {
	t.Helper()
	ch := make(chan request, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- request{header: r.Header.Clone(), body: b}
		w.WriteHeader(status)
		if status == http.StatusOK {
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// at walks a decoded JSON value: keys for objects, ints for arrays.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object: %v", p, v)
			}
			v = m[p]
		case int:
			a, ok := v.([]any)
			if !ok || p >= len(a) {
				t.Fatalf("at %v: not an array that long: %v", p, v)
			}
			v = a[p]
		}
	}
	return v
}

func TestSlackPayload(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			srv, got := recorder(t, http.StatusOK)
			e := sample(k)
			if err := NewSlack(srv.URL+secretPath, nil).Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			r := <-got
			m := decode(t, r.body)
			if m["text"] != e.Title {
				t.Errorf("text = %v, want the title %q", m["text"], e.Title)
			}
			blocks := at(t, m, "blocks").([]any)
			if typ, text := at(t, blocks, 0, "type"), at(t, blocks, 0, "text", "text"); typ != "header" || text != e.Title {
				t.Errorf("first block %v %q, want a header with the title", typ, text)
			}
			var fields []string
			for _, b := range blocks {
				if f, ok := b.(map[string]any)["fields"].([]any); ok {
					for i := range f {
						fields = append(fields, at(t, f, i, "text").(string))
					}
				}
			}
			for _, want := range []string{
				"*error rate*\n:x: 0.8 % (target &lt; 0.1 %): fail",
				"*p95 latency*\n:white_check_mark: 212 ms (target &lt; 500 ms): pass",
				"*throughput*\n:grey_question: no data (target &gt; 1000/min): inconclusive",
				"*Image*\n" + e.Image,
				"*Traffic on the candidate*\n25 %",
			} {
				if !contains(fields, want) {
					t.Errorf("no field %q in %q", want, fields)
				}
			}
			last := blocks[len(blocks)-1]
			links, _ := at(t, last, "elements", 0, "text").(string)
			if at(t, last, "type") != "context" || !strings.Contains(links, "<"+e.RunURL+"|Workflow run>") || !strings.Contains(links, "<"+e.DeploymentURL+"|Deployment>") {
				t.Errorf("last block %v, want a context line linking the run and the deployment", last)
			}
			changes, _ := at(t, blocks, len(blocks)-2, "text", "text").(string)
			if !strings.Contains(changes, "<"+e.Changes[0].URL+"|0123456> fix the &lt;rate&gt; &amp; limits (ada) #42") {
				t.Errorf("changes %q, want the commits listed, linked and escaped", changes)
			}
		})
	}
}

func TestTeamsPayload(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			srv, got := recorder(t, http.StatusAccepted)
			e := sample(k)
			if err := NewTeams(srv.URL+secretPath, nil).Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			m := decode(t, (<-got).body)
			if m["type"] != "message" || at(t, m, "attachments", 0, "contentType") != "application/vnd.microsoft.card.adaptive" {
				t.Fatalf("not a message with an adaptive card: %v", m)
			}
			card := at(t, m, "attachments", 0, "content")
			if at(t, card, "type") != "AdaptiveCard" || at(t, card, "version") != "1.4" {
				t.Errorf("content %v, want an AdaptiveCard 1.4", card)
			}
			if at(t, card, "body", 0, "type") != "TextBlock" || at(t, card, "body", 0, "text") != e.Title {
				t.Errorf("first element %v, want a TextBlock with the title", at(t, card, "body", 0))
			}
			facts := map[string]any{}
			for _, el := range at(t, card, "body").([]any) {
				if at(t, el, "type") == "FactSet" {
					for _, f := range at(t, el, "facts").([]any) {
						facts[at(t, f, "title").(string)] = at(t, f, "value")
					}
				}
			}
			for name, want := range map[string]string{
				"error rate": "0.8 % (target < 0.1 %): fail", "p95 latency": "212 ms (target < 500 ms): pass",
				"Image": e.Image, "Stable image": e.StableImage, "Reason": e.Reason,
			} {
				if facts[name] != want {
					t.Errorf("fact %q = %v, want %q", name, facts[name], want)
				}
			}
			var actions []string
			for _, a := range at(t, card, "actions").([]any) {
				actions = append(actions, at(t, a, "type").(string)+" "+at(t, a, "url").(string))
			}
			want := []string{"Action.OpenUrl " + e.RunURL, "Action.OpenUrl " + e.DeploymentURL}
			if !reflect.DeepEqual(actions, want) {
				t.Errorf("actions %q, want %q", actions, want)
			}
		})
	}
}

func TestWebhookPayload(t *testing.T) {
	srv, got := recorder(t, http.StatusNoContent)
	w := NewWebhook(srv.URL+secretPath, secret, nil)
	deliveries := map[string]bool{}
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			e := sample(k)
			if err := w.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			r := <-got
			var back Event
			if err := json.Unmarshal(r.body, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Errorf("the body does not round-trip:\n got %+v\nwant %+v", back, e)
			}
			if h := r.header.Get(EventHeader); h != string(k) {
				t.Errorf("%s = %q, want %q", EventHeader, h, k)
			}
			id := r.header.Get(DeliveryHeader)
			if len(id) != 36 || deliveries[id] {
				t.Errorf("%s = %q: not a new UUID", DeliveryHeader, id)
			}
			deliveries[id] = true
			sig := r.header.Get(SignatureHeader)
			if !Verify(secret, r.body, sig) {
				t.Errorf("%s %q does not verify with the secret", SignatureHeader, sig)
			}
			if Verify("another secret", r.body, sig) {
				t.Errorf("%s %q verifies with another secret", SignatureHeader, sig)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// TestWebhookFieldNames pins the documented snake_case names: receivers
// written against them must not break.
func TestWebhookFieldNames(t *testing.T) {
	b, err := json.Marshal(sample(Abort))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	for _, k := range []string{"kind", "action", "service", "environment", "image", "stable_image", "weight", "title", "message", "reason", "values", "duration_seconds", "run_url", "deployment_url", "changes", "time"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if len(m) != 16 {
		t.Errorf("%d fields, want 16: %s", len(m), b)
	}
	if m["duration_seconds"] != 42.5 {
		t.Errorf("duration_seconds = %v, want 42.5", m["duration_seconds"])
	}
	min := decode(t, must(json.Marshal(Event{Kind: Start, Action: "deploy", Service: "fx", Weight: -1, Title: "t"})))
	if len(min) != 6 || min["weight"] != -1.0 {
		t.Errorf("an event with only the required fields is %v, want kind, action, service, weight -1, title and time", min)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestGoldenPayloads records each receiver's payload of one abort in
// testdata, so a change to what people see shows in review.
func TestGoldenPayloads(t *testing.T) {
	e := sample(Abort)
	for name, v := range map[string]any{"slack": SlackMessage(e), "teams": TeamsMessage(e), "webhook": e} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "abort."+name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (write it with: go test ./pkg/notify -run TestGoldenPayloads -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is out of date (go test ./pkg/notify -run TestGoldenPayloads -update):\n%s", path, got)
			}
		})
	}
}

func TestSendStatus(t *testing.T) {
	receivers := map[string]func(url string) Receiver{
		"slack":   func(u string) Receiver { return NewSlack(u, nil) },
		"teams":   func(u string) Receiver { return NewTeams(u, nil) },
		"webhook": func(u string) Receiver { return NewWebhook(u, secret, nil) },
	}
	tests := []struct {
		receiver string
		status   int
		wantErr  string // "" for success
	}{
		{"slack", 200, ""},
		{"slack", 500, "500"},
		{"slack", 404, "404"},
		{"teams", 200, ""},
		{"teams", 202, ""},
		{"teams", 400, "400"},
		{"teams", 302, "302"},
		{"webhook", 200, ""},
		{"webhook", 204, ""},
		{"webhook", 401, "401"},
		{"webhook", 503, "503"},
	}
	for _, tc := range tests {
		t.Run(tc.receiver+" "+http.StatusText(tc.status), func(t *testing.T) {
			srv, _ := recorder(t, tc.status)
			webhook := srv.URL + secretPath
			err := receivers[tc.receiver](webhook).Send(context.Background(), sample(Step))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one with the status %s", err, tc.wantErr)
			}
			checkNoSecret(t, err, srv.URL)
		})
	}
}

// TestSendErrorsHideTheURL: the HTTP client's own errors quote the URL;
// the receivers' must not.
func TestSendErrorsHideTheURL(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connections are refused
	hang := hangingServer(t)
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		url  string
		ctx  context.Context
	}{
		{"refused", closed.URL, context.Background()},
		{"time out", hang.URL, shortContext(t)},
		{"cancelled", hang.URL, expired},
		{"credentials in the URL", strings.Replace(closed.URL, "http://", "http://user:"+secret+"@", 1), context.Background()},
		{"not a URL", "http://[::1" + secretPath, context.Background()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			webhook := tc.url + secretPath
			for _, r := range []Receiver{NewSlack(webhook, nil), NewTeams(webhook, nil), NewWebhook(webhook, secret, nil)} {
				err := r.Send(tc.ctx, sample(Start))
				if err == nil {
					t.Fatalf("%s: no error", r.Name())
				}
				checkNoSecret(t, err, tc.url)
			}
		})
	}
}

func shortContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// hangingServer accepts every request and answers none until the test
// ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-done }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: Close waits for the handlers
	return srv
}

func checkNoSecret(t *testing.T, err error, serverURL string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{secretPath, "s3cr3tT0ken", secret, serverURL + "/"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestVerify(t *testing.T) {
	body := []byte(`{"kind":"start"}`)
	good := Sign(secret, body)
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   bool
	}{
		{"signed", secret, body, good, true},
		{"another secret", "other", body, good, false},
		{"another body", secret, []byte(`{"kind":"abort"}`), good, false},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), false},
		{"sha1", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"upper-case prefix", secret, body, "SHA256=" + strings.TrimPrefix(good, "sha256="), false},
		{"not hex", secret, body, "sha256=zz", false},
		{"truncated", secret, body, good[:len(good)-2], false},
		{"empty", secret, body, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Verify(tc.secret, tc.body, tc.header); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
	// The value GitHub documents for X-Hub-Signature-256, which uses the
	// same construction.
	const ghSig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if !Verify("It's a Secret to Everybody", []byte("Hello, World!"), ghSig) {
		t.Error("GitHub's documented example does not verify")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("s", []byte("body"), "sha256=00")
	f.Add(secret, []byte(`{}`), Sign(secret, []byte(`{}`)))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		if Verify(secret, body, header) && header != Sign(secret, body) && !strings.EqualFold(header, Sign(secret, body)) {
			t.Errorf("Verify accepted %q, which is not Sign's %q", header, Sign(secret, body))
		}
		if !Verify(secret, body, Sign(secret, body)) {
			t.Error("Sign's header does not verify")
		}
	})
}

func TestHeadline(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Kind: Abort, Action: "promote", Service: "fx-prod/fx", Environment: "production", Weight: 25}, "promote fx-prod/fx to production: aborted at 25 %"},
		{Event{Kind: Start, Action: "deploy", Service: "fx", Weight: -1}, "deploy fx: started"},
		{Event{Kind: Success, Action: "promote", Service: "fx", Weight: 100}, "promote fx: succeeded"},
		{Event{Kind: Hold, Action: "control", Service: "fx", Weight: 50}, "control fx: held for approval at 50 %"},
	}
	for _, tc := range tests {
		if got := tc.e.headline(); got != tc.want {
			t.Errorf("headline = %q, want %q", got, tc.want)
		}
	}
}
