package monitoring

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The gauges go to the service's group, in the text format, and a finished
// rollout carries its result.
func TestPushProgress(t *testing.T) {
	var mu sync.Mutex
	var got []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The push is in the protobuf format: decode it, and keep the text.
		var text strings.Builder
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if err != io.EOF {
					t.Errorf("decoding the push: %v", err)
				}
				break
			}
			_, _ = expfmt.MetricFamilyToText(&text, &mf)
		}
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+"\n"+text.String())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	var warnings []string
	p := NewProgressPusher(gw.URL, func(s string) { warnings = append(warnings, s) })
	p.Update(Progress{Namespace: "production", Service: "fx-platform-service", Phase: "progressing", Weight: 25, LiveColor: "blue", Duration: 90 * time.Second})
	p.Update(Progress{Namespace: "production", Service: "fx-platform-service", Phase: "promoted", Result: "promoted", Weight: 100, LiveColor: "green", Duration: 30 * time.Minute})
	p.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || len(warnings) > 0 {
		t.Fatalf("pushes %q, warnings %q", got, warnings)
	}
	last := got[len(got)-1]
	// The grouping labels come in either order (client_golang ranges over
	// a map); the Pushgateway reads them as a set.
	if path, _, _ := strings.Cut(last, "\n"); path != "PUT /metrics/job/deploy-actions/namespace/production/service/fx-platform-service" &&
		path != "PUT /metrics/job/deploy-actions/service/fx-platform-service/namespace/production" {
		t.Errorf("the last push went to %q, want the group of job deploy-actions, namespace production, service fx-platform-service", path)
	}
	for _, want := range []string{
		MetricRolloutWeight + " 100", MetricRolloutLiveColor + `{color="green"} 1`, MetricRolloutLiveColor + `{color="blue"} 0`,
		MetricRolloutPhase + `{phase="promoted"} 1`, MetricRolloutResult + `{result="promoted"} 1`, MetricRolloutDuration + " 1800",
	} {
		if !strings.Contains(last, want) {
			t.Errorf("the last push lacks %q:\n%s", want, last)
		}
	}
}

// A Pushgateway that fails is one warning, however many updates come, and
// Close still returns.
func TestPushProgressFailing(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer gw.Close()
	var warnings []string
	p := NewProgressPusher(gw.URL, func(s string) { warnings = append(warnings, s) })
	for i := range 5 {
		p.Update(Progress{Namespace: "ns", Service: "svc", Phase: "progressing", Weight: i})
		time.Sleep(10 * time.Millisecond)
	}
	p.Close(context.Background())
	if len(warnings) != 1 {
		t.Errorf("warnings %q, want one", warnings)
	}
	var none *ProgressPusher
	none.Update(Progress{})
	none.Close(context.Background())
}

// A running rollout's progress is pushed again each heartbeat, its
// duration grown, so that push_time_seconds tells a wait from a death; a
// finished one's is not.
func TestProgressHeartbeat(t *testing.T) {
	var mu sync.Mutex
	var durations []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var mf dto.MetricFamily
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for dec.Decode(&mf) == nil {
			if mf.GetName() == MetricRolloutDuration {
				mu.Lock()
				durations = append(durations, mf.GetMetric()[0].GetGauge().String())
				mu.Unlock()
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	pushes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(durations)
	}
	p := newProgressPusher(gw.URL, func(s string) { t.Errorf("warning: %s", s) }, 20*time.Millisecond)
	p.Update(Progress{Namespace: "ns", Service: "svc", Phase: "holding", Weight: 25, Duration: time.Minute})
	for deadline := time.Now().Add(10 * time.Second); pushes() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes in 10 s of a 20 ms heartbeat", pushes())
		}
	}
	mu.Lock()
	if durations[0] == durations[2] {
		t.Errorf("the heartbeat pushed the same duration %s: want it grown", durations[0])
	}
	mu.Unlock()
	p.Update(Progress{Namespace: "ns", Service: "svc", Phase: "promoted", Result: "promoted", Weight: 100})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		last := durations[len(durations)-1]
		mu.Unlock()
		if last == "value:0" || time.Now().After(deadline) {
			break
		}
	}
	after := pushes()
	time.Sleep(200 * time.Millisecond) // ten heartbeats
	if n := pushes(); n != after {
		t.Errorf("%d pushes after the result, want none", n-after)
	}
	p.Close(context.Background())
}

// A Pushgateway behind basic auth, its credentials in the URL: they go in
// the Authorization header, and a failed push's warning never quotes them.
func TestPushProgressHidesCredentials(t *testing.T) {
	var auth string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer gw.Close()
	url := strings.Replace(gw.URL, "http://", "http://pusher:s3cret@", 1)
	err := PushProgress(context.Background(), url, nil, Progress{Namespace: "ns", Service: "svc", Phase: "progressing"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("PushProgress() = %v, want an error without the password", err)
	}
	if auth != "Basic cHVzaGVyOnMzY3JldA==" {
		t.Errorf("the push's Authorization is %q, want the URL's user and password", auth)
	}
}
