package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// warnings collects a Notifier's warnings and hands each over as it comes.
type warnings struct {
	mu   sync.Mutex
	all  []string
	each chan string
}

func newWarnings() *warnings { return &warnings{each: make(chan string, 100)} }

func (w *warnings) warn(s string) {
	w.mu.Lock()
	w.all = append(w.all, s)
	w.mu.Unlock()
	w.each <- s
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.all...)
}

// waitFor blocks until a warning containing s arrives (go test's timeout
// fails a test that waits for ever).
func (w *warnings) waitFor(t *testing.T, s string) {
	t.Helper()
	for got := range w.each {
		if strings.Contains(got, s) {
			return
		}
	}
}

// kindsOf decodes the generic webhook's bodies into their kinds, in the
// order they came, until n have.
func kindsOf(t *testing.T, got <-chan request, n int) []Kind {
	t.Helper()
	var kinds []Kind
	for range n {
		var e Event
		if err := json.Unmarshal((<-got).body, &e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// countingServer answers status, once gate is closed, and counts requests.
func countingServer(t *testing.T, status int, gate <-chan struct{}) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-gate
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestCloseWithinBudget: a receiver that never answers and one that
// answers 500 delay no one. The healthy receiver of the same Notifier gets
// every event, in order; the failing one is given up after two failures;
// Close gives up on the hanging one when its budget is spent (were it not
// honoured, Close would wait until the test ends, and go test's timeout
// would fail it). Nothing shown names a URL or the secret.
func TestCloseWithinBudget(t *testing.T) {
	healthy, got := recorder(t, http.StatusOK)
	// The failing receiver answers once every event is queued, so that
	// the number it drops is known.
	gate := make(chan struct{})
	failing, failed := countingServer(t, http.StatusInternalServerError, gate)
	hang := hangingServer(t)
	w := newWarnings()
	n := New(Options{Warn: w.warn, Budget: 300 * time.Millisecond, RequestTimeout: time.Hour},
		NewWebhook(healthy.URL+secretPath, secret, nil),
		NewSlack(failing.URL+secretPath, nil),
		NewTeams(hang.URL+secretPath, nil),
	)
	for _, k := range Kinds() {
		n.Notify(sample(k))
	}
	close(gate)
	if kinds := kindsOf(t, got, len(Kinds())); !reflect.DeepEqual(kinds, Kinds()) {
		t.Errorf("the healthy receiver got %q, want %q", kinds, Kinds())
	}
	w.waitFor(t, "Slack gets no more notifications")
	n.Close(context.Background())

	if n := failed.Load(); n != 2 {
		t.Errorf("the failing receiver got %d requests, want 2 (then it is given up)", n)
	}
	want := []string{
		"Slack: the start notification was not sent: answered 500 Internal Server Error",
		"Slack: the step notification was not sent: answered 500 Internal Server Error (6 more dropped); 2 failures in a row: Slack gets no more notifications in this run",
		"Teams: 8 notification(s) not sent within the 300ms budget: start, step, hold, resume, abort, success, rollback, failure",
	}
	if ws := w.list(); !reflect.DeepEqual(ws, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(ws, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range w.list() {
		for _, u := range []string{healthy.URL, failing.URL, hang.URL, secretPath, secret} {
			if strings.Contains(s, u) {
				t.Errorf("warning %q shows %q", s, u)
			}
		}
	}
	n.Notify(sample(Start))
	n.Close(context.Background()) // idempotent
	if len(got) != 0 {
		t.Errorf("an event after Close was sent")
	}
}

// TestDisabledAfterTimeouts: a receiver that times out twice in a row is
// given up with one warning saying so, gets no third request, and Close
// has nothing left to wait for.
func TestDisabledAfterTimeouts(t *testing.T) {
	var requests atomic.Int64
	done := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		requests.Add(1)
		<-done
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(done) })
	w := newWarnings()
	n := New(Options{Warn: w.warn, Budget: time.Hour, RequestTimeout: 50 * time.Millisecond}, NewWebhook(hang.URL, secret, nil))
	for _, k := range Kinds() {
		n.Notify(sample(k))
	}
	n.Close(context.Background())
	if r := requests.Load(); r != 2 {
		t.Errorf("%d requests, want 2", r)
	}
	ws := w.list()
	if len(ws) != 2 ||
		ws[0] != "webhook: the start notification was not sent: no answer in time: context deadline exceeded" ||
		!strings.HasPrefix(ws[1], "webhook: the step notification was not sent: no answer in time: context deadline exceeded") ||
		!strings.HasSuffix(ws[1], "; 2 failures in a row: webhook gets no more notifications in this run") {
		t.Errorf("warnings:\n%s\nwant two time outs, the second saying the webhook is given up", strings.Join(ws, "\n"))
	}
}

// TestFailuresInARow: only failures in a row disable a receiver.
func TestFailuresInARow(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		wantRequests int
		wantWarnings int
	}{
		{"alternating", []int{500, 200, 500, 200, 500}, 5, 3},
		{"two in a row", []int{200, 500, 502, 200, 200}, 3, 2},
		{"all well", []int{200, 200, 200}, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var i atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.statuses[i.Add(1)-1])
			}))
			defer srv.Close()
			w := newWarnings()
			n := New(Options{Warn: w.warn, Budget: time.Hour}, NewTeams(srv.URL, nil))
			for range tc.statuses {
				n.Notify(sample(Step))
			}
			n.Close(context.Background())
			if got := int(i.Load()); got != tc.wantRequests {
				t.Errorf("%d requests, want %d", got, tc.wantRequests)
			}
			if got := len(w.list()); got != tc.wantWarnings {
				t.Errorf("%d warnings, want %d: %q", got, tc.wantWarnings, w.list())
			}
		})
	}
}

// TestCloseWhenContextDone: a run already interrupted does not wait on a
// hanging receiver at all, whatever the budget.
func TestCloseWhenContextDone(t *testing.T) {
	hang := hangingServer(t)
	w := newWarnings()
	n := New(Options{Warn: w.warn, Budget: time.Hour, RequestTimeout: time.Hour}, NewSlack(hang.URL, nil))
	n.Notify(sample(Abort))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Close(ctx)
	want := []string{"Slack: 1 notification(s) not sent in the time the run had left: abort"}
	if ws := w.list(); !reflect.DeepEqual(ws, want) {
		t.Errorf("warnings %q, want %q", ws, want)
	}
}

// TestNotifyFills: Notify stamps the events and gives them a title and the
// run's links; an event's own are kept. A caller changing its event after
// Notify changes nothing sent.
func TestNotifyFills(t *testing.T) {
	srv, got := recorder(t, http.StatusOK)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	n := New(Options{RunURL: "https://github.com/acme/fx/actions/runs/1", DeploymentURL: "https://github.com/acme/fx/deployments", Now: func() time.Time { return now }},
		NewWebhook(srv.URL, secret, nil))
	bare := Event{Kind: Start, Action: "deploy", Service: "fx", Environment: "staging", Weight: -1, Values: []Value{{Name: "a", Value: "1"}}}
	n.Notify(bare)
	bare.Values[0].Value = "changed"
	own := sample(Success)
	n.Notify(own)
	n.Close(context.Background())

	var first, second Event
	if err := json.Unmarshal((<-got).body, &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal((<-got).body, &second); err != nil {
		t.Fatal(err)
	}
	want := Event{Kind: Start, Action: "deploy", Service: "fx", Environment: "staging", Weight: -1, Values: []Value{{Name: "a", Value: "1"}},
		Title: "deploy fx to staging: started", Time: now,
		RunURL: "https://github.com/acme/fx/actions/runs/1", DeploymentURL: "https://github.com/acme/fx/deployments"}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("got %+v\nwant %+v", first, want)
	}
	if !reflect.DeepEqual(second, own) {
		t.Errorf("got %+v\nwant the event's own fields %+v", second, own)
	}
}

// TestNoReceivers: callers need not check whether notifications are on.
func TestNoReceivers(t *testing.T) {
	var nilNotifier *Notifier
	nilNotifier.Notify(sample(Start))
	nilNotifier.Close(context.Background())
	n := New(Options{Warn: func(s string) { t.Errorf("warning %q", s) }}, nil)
	n.Notify(sample(Start))
	n.Close(context.Background())
}
