package monitoring

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// ProgressJob is the Pushgateway job the rollout gauges are pushed under,
// grouped by namespace and service.
const ProgressJob = "deploy-actions"

// Phases and results the gauges carry, beside the rollout's own phases
// (progressing, promoted, aborted, rolled-back).
const PhaseHolding = "holding"

// Progress is a rollout as the dashboard's deployment-status panels show
// it.
type Progress struct {
	Namespace, Service string
	// Phase is the rollout's phase now; Result the outcome of the
	// finished one ("" while running).
	Phase, Result string
	// Weight is the candidate's share of traffic, 0 to 100.
	Weight    int
	LiveColor string
	Duration  time.Duration
}

// collectors are the gauges of p, as one push.
func (p Progress) collectors() []prometheus.Collector {
	weight := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricRolloutWeight, Help: "Share of traffic on the candidate, in %."})
	weight.Set(float64(p.Weight))
	live := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRolloutLiveColor, Help: "1 for the colour the live Service selects."}, []string{LabelColor})
	for _, c := range []string{"blue", "green"} {
		v := 0.0
		if c == p.LiveColor {
			v = 1
		}
		live.WithLabelValues(c).Set(v)
	}
	phase := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRolloutPhase, Help: "1 for the rollout's phase."}, []string{LabelPhase})
	phase.WithLabelValues(p.Phase).Set(1)
	duration := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricRolloutDuration, Help: "How long the rollout has taken, in seconds."})
	duration.Set(p.Duration.Seconds())
	out := []prometheus.Collector{weight, live, phase, duration}
	if p.Result != "" {
		result := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRolloutResult, Help: "1 for the outcome of the last rollout."}, []string{LabelResult})
		result.WithLabelValues(p.Result).Set(1)
		out = append(out, result)
	}
	return out
}

// PushProgress replaces the service's rollout gauges on the Pushgateway at
// url (a PUT of the group job/deploy-actions/namespace/<ns>/service/<svc>):
// the previous phase's and result's series go with it. Credentials in url
// (https://user:password@host) are sent as basic auth, and left out of the
// URL errors quote.
func PushProgress(ctx context.Context, gateway string, client *http.Client, p Progress) error {
	var user *url.Userinfo
	if u, err := url.Parse(gateway); err == nil && u.User != nil {
		user, u.User = u.User, nil
		gateway = u.String()
	}
	pusher := push.New(gateway, ProgressJob).Grouping(LabelNamespace, p.Namespace).Grouping(LabelService, p.Service)
	if user != nil {
		password, _ := user.Password()
		pusher = pusher.BasicAuth(user.Username(), password)
	}
	if client != nil {
		pusher = pusher.Client(client)
	}
	for _, c := range p.collectors() {
		pusher = pusher.Collector(c)
	}
	if err := pusher.PushContext(ctx); err != nil {
		return fmt.Errorf("pushing the rollout's progress: %w", err)
	}
	return nil
}

// ProgressHeartbeat is how often a running rollout's progress is pushed
// again when nothing changes, so that the Pushgateway's push_time_seconds
// tells a rollout that waits from one that died (MaxProgressSilence).
const ProgressHeartbeat = 30 * time.Second

// MaxProgressSilence is how long a running rollout may go without a push
// before the dashboard shows it as silent: three heartbeats.
const MaxProgressSilence = 3 * ProgressHeartbeat

// ProgressPusher pushes a rollout's progress in the background: Update
// never waits on the network, only the newest progress is pushed when
// several come quickly, a running rollout's progress is pushed again every
// ProgressHeartbeat, and Close sends the last one within its budget. A
// failing Pushgateway is reported once through warn and never stops the
// rollout.
type ProgressPusher struct {
	url       string
	client    *http.Client
	warn      func(string)
	heartbeat time.Duration
	mu        sync.Mutex
	next      *Progress
	wake      chan struct{}
	done      chan struct{}
	warned    bool
	closing   bool
}

// NewProgressPusher starts a pusher to url; nil when url is "" (its
// methods then do nothing). Each push is bounded by 5 s.
func NewProgressPusher(url string, warn func(string)) *ProgressPusher {
	return newProgressPusher(url, warn, ProgressHeartbeat)
}

func newProgressPusher(url string, warn func(string), heartbeat time.Duration) *ProgressPusher {
	if url == "" {
		return nil
	}
	p := &ProgressPusher{url: url, client: &http.Client{Timeout: 5 * time.Second}, warn: warn, heartbeat: heartbeat,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.loop()
	return p
}

// Update queues p, replacing what was queued and not yet sent.
func (pp *ProgressPusher) Update(p Progress) {
	if pp == nil {
		return
	}
	pp.mu.Lock()
	if pp.closing {
		pp.mu.Unlock()
		return
	}
	pp.next = &p
	pp.mu.Unlock()
	select {
	case pp.wake <- struct{}{}:
	default:
	}
}

func (pp *ProgressPusher) loop() {
	defer close(pp.done)
	tick := time.NewTicker(pp.heartbeat)
	defer tick.Stop()
	var last *Progress // the newest pushed, for the heartbeat
	var lastAt time.Time
	for {
		select {
		case <-pp.wake:
			pp.mu.Lock()
			p, closing := pp.next, pp.closing
			pp.next = nil
			pp.mu.Unlock()
			if p != nil {
				pp.push(*p)
				last, lastAt = p, time.Now()
				tick.Reset(pp.heartbeat)
			}
			if closing {
				return
			}
		case <-tick.C:
			// A finished rollout's result stays as it was pushed.
			if last != nil && last.Result == "" {
				again := *last
				again.Duration += time.Since(lastAt)
				pp.push(again)
			}
		}
	}
}

func (pp *ProgressPusher) push(p Progress) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := PushProgress(ctx, pp.url, pp.client, p); err != nil && !pp.warned {
		pp.warned = true
		if pp.warn != nil {
			pp.warn(err.Error())
		}
	}
}

// Close pushes the last progress queued and returns once it is sent, or
// when ctx ends.
func (pp *ProgressPusher) Close(ctx context.Context) {
	if pp == nil {
		return
	}
	pp.mu.Lock()
	pp.closing = true
	pp.mu.Unlock()
	select {
	case pp.wake <- struct{}{}:
	default:
	}
	select {
	case <-pp.done:
	case <-ctx.Done():
	}
}
