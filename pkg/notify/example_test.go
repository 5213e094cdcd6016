package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/notify"
)

// A rollout tells a signed webhook of its steps without waiting on it; the
// receiver checks the signature before it trusts the body.
func Example() {
	const secret = "shared with the receiver"
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify(secret, body, r.Header.Get(notify.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e notify.Event
		_ = json.Unmarshal(body, &e)
		got <- fmt.Sprintf("%s %s: %s", r.Header.Get(notify.EventHeader), e.Title, e.RunURL)
	}))
	defer receiver.Close()

	n := notify.New(notify.Options{
		Warn:   func(s string) { fmt.Println("warning:", s) },
		Budget: 2 * time.Second,
		RunURL: "https://github.com/acme/fx/actions/runs/7",
	}, notify.NewWebhook(receiver.URL, secret, nil))
	n.Notify(notify.Event{Kind: notify.Start, Action: "promote", Service: "fx-prod/fx", Environment: "production", Weight: 0})
	n.Notify(notify.Event{Kind: notify.Step, Action: "promote", Service: "fx-prod/fx", Environment: "production", Weight: 25,
		Values: []notify.Value{{Name: "error rate", Value: "0.02 %", Target: "< 0.1 %", Status: notify.Pass}}})
	n.Close(context.Background())
	close(got)
	for s := range got {
		fmt.Println(s)
	}
	// Output:
	// start promote fx-prod/fx to production: started: https://github.com/acme/fx/actions/runs/7
	// step promote fx-prod/fx to production: traffic at 25 %: https://github.com/acme/fx/actions/runs/7
}
